"""Drives sequence enrollments on the time-skipping test server — an `Enrollment` handle for tests
(the server, the fake activities and the event factories come from the `nurture_testing` harness and are
re-exported here) — and the trade_intro and quote_followup scenarios whose histories
`histories/<sequence>-<scenario>.json` keep for the replay test.

Re-record the stored histories (after a deliberate, patched change to a sequence):

    .venv/bin/python -m tests.workflows.scenarios
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models import search_attributes
from models.ab_test import AbAssignment
from models.calendar import ContactCalendar
from models.enrollment import (
    EnrollmentInput,
    EnrollmentResult,
    EnrollmentState,
    EnrollmentStatus,
    TriggerRef,
    enrollment_workflow_id,
)
from models.events import BounceClass, EngagementEvent, EventKind
from models.replies import ReplyIntent
from models.wire import (
    AB_DECIDED_SIGNAL,
    EVENT_SIGNAL,
    EVENTS_SIGNAL,
    PAUSE_SIGNAL,
    RESUME_SIGNAL,
    STATE_QUERY,
)
from nurture_testing.activities import FakeSender
from nurture_testing.events import business_event, engagement_event
from nurture_testing.server import IDENTITY, NAMESPACE, register_search_attributes, start_env
from workflows.engine import SequenceWorkflow
from workflows.quote_followup import QuoteFollowupSequence
from workflows.registry import SEQUENCES
from workflows.trade_intro import TradeIntroSequence

HISTORIES_DIR = Path(__file__).resolve().parent / "histories"


# --- events and enrollments ---------------------------------------------------------------------


@dataclass
class Enrollment:
    """One enrollment under test: its workflow handle, the fake sender, and test-side moves."""

    env: WorkflowEnvironment
    handle: WorkflowHandle[Any, EnrollmentResult]
    sender: FakeSender
    contact_id: UUID

    async def state(self) -> EnrollmentState:
        return await self.handle.query(STATE_QUERY, result_type=EnrollmentState)

    async def until(
        self, predicate: Callable[[EnrollmentState], bool], *, seconds: float = 10.0
    ) -> EnrollmentState:
        """Poll the state query until `predicate` holds (skipped time does not move meanwhile)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            state = await self.state()
            if predicate(state):
                return state
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"state never matched; last: {state!r}")
            await asyncio.sleep(0.02)

    async def until_waiting(self, after_step: str) -> EnrollmentState:
        """Until the workflow sent `after_step` and sleeps (its timer is set)."""
        return await self.until(
            lambda s: (
                s.status == EnrollmentStatus.WAITING
                and bool(s.steps_sent)
                and s.steps_sent[-1].step == after_step
            )
        )

    async def sleep(self, **kwargs: float) -> None:
        """Skip time, e.g. ``sleep(days=1)``."""
        await self.env.sleep(timedelta(**kwargs))

    async def signal(self, event: EngagementEvent, *, await_seen: bool = True) -> None:
        """Signal an event; by default wait until the workflow has recorded it."""
        before = len((await self.state()).events_seen)
        await self.handle.signal(EVENT_SIGNAL, event)
        if await_seen:
            await self.until(lambda s: len(s.events_seen) > before or s.outcome is not None)

    async def event(
        self, kind: EventKind, step: str | None = None, **details: Any
    ) -> EngagementEvent:
        """Signal a `kind` event about the message of `step` (as sent by the fake sender)."""
        message_id = self.sender.input_of(step).message_id if step else None
        event = engagement_event(kind, message_id, **details)
        await self.signal(event)
        return event

    async def business(self, name: str, **properties: Any) -> EngagementEvent:
        """Post business event `name` for the contact: its properties go to the fake store, the
        event (ids only) to the workflow in an `engagement_events` batch, as the forwarder sends
        it. Waits until the workflow has recorded it."""
        event = business_event(name, self.sender.store_event(properties))
        before = len((await self.state()).events_seen)
        await self.handle.signal(EVENTS_SIGNAL, [event])
        await self.until(lambda s: len(s.events_seen) > before or s.outcome is not None)
        return event

    async def result(self) -> EnrollmentResult:
        return await self.handle.result()


async def start_enrollment(
    client: Client,
    env: WorkflowEnvironment,
    task_queue: str,
    sender: FakeSender,
    *,
    sequence: type[SequenceWorkflow[Any]] = TradeIntroSequence,
    params: dict[str, Any] | None = None,
    cohort_id: str | None = "cohort-test",
    calendar: ContactCalendar | None = None,
    ab: AbAssignment | None = None,
    trigger: str | None = None,
    trigger_properties: dict[str, Any] | None = None,
    **start_kwargs: Any,
) -> Enrollment:
    """Start an enrollment of a fresh contact id in `sequence` on `task_queue`; with `trigger` (an
    event name), as the trigger runner starts it: `input.trigger` names a business event stored
    with `trigger_properties` in the fake sender's store."""
    contact_id = uuid.uuid4()
    trigger_ref = None
    if trigger is not None:
        trigger_ref = TriggerRef(
            event_id=sender.store_event(trigger_properties),
            name=trigger,
            occurred_at=await env.get_current_time(),
        )
    handle: WorkflowHandle[Any, EnrollmentResult] = await client.start_workflow(
        sequence.name,
        EnrollmentInput(
            contact_id=contact_id,
            sender_id="default",
            cohort_id=cohort_id,
            params=params or {},
            calendar=calendar,
            ab=ab,
            trigger=trigger_ref,
        ),
        id=enrollment_workflow_id(sequence.name, contact_id),
        task_queue=task_queue,
        result_type=EnrollmentResult,
        **start_kwargs,
    )
    return Enrollment(env=env, handle=handle, sender=sender, contact_id=contact_id)


# --- recorded scenarios -------------------------------------------------------------------------


async def no_engagement_completes(e: Enrollment) -> None:
    """intro, bump, case_study, offer: completed."""
    await e.result()


async def human_open_skips_bump(e: Enrollment) -> None:
    await e.until_waiting("intro")
    await e.sleep(hours=12)
    await e.event(EventKind.OPEN, "intro")
    await e.result()


async def click_brings_offer_forward(e: Enrollment) -> None:
    await e.until_waiting("intro")
    await e.sleep(days=1)
    await e.event(EventKind.CLICK, "intro", url="https://example.com/catalogue")
    await e.result()


async def reply_while_sleeping(e: Enrollment) -> None:
    await e.until_waiting("intro")
    await e.sleep(days=5)
    await e.until_waiting("case_study")
    await e.event(EventKind.REPLY, "case_study")
    await e.result()


async def machine_open_and_soft_bounce_ignored(e: Enrollment) -> None:
    await e.until_waiting("intro")
    await e.sleep(hours=1)
    await e.event(EventKind.OPEN, "intro", machine_open=True)
    await e.event(EventKind.BOUNCE, "intro", bounce_class=BounceClass.SOFT)
    await e.result()


#: Scenario name → driver; each recorded history is `histories/trade_intro-{name}.json`.
async def winner_awaited_while_paused(e: Enrollment) -> None:
    """Outside the A/B sample: waits for the winner, is paused meanwhile, sends after resume."""
    await e.until(lambda s: s.status == EnrollmentStatus.WAITING_FOR_WINNER)
    await e.handle.signal(PAUSE_SIGNAL)
    await e.until(lambda s: s.paused_by_ops)
    e.sender.winner = "question"
    await e.handle.signal(AB_DECIDED_SIGNAL)
    await e.until(lambda s: s.status == EnrollmentStatus.PAUSED)
    await e.sleep(hours=2)
    await e.handle.signal(RESUME_SIGNAL)
    await e.result()


async def batched_events_after_attributes_at_start(e: Enrollment) -> None:
    """Started as `EnrollmentService` starts it (sequence, cohort and status set at start); the
    intro's events arrive in one `engagement_events` signal, as the forwarder relays them."""
    await e.until_waiting("intro")
    intro = e.sender.input_of("intro").message_id
    kinds = (EventKind.PROCESSED, EventKind.DELIVERED, EventKind.OPEN, EventKind.CLICK)
    await e.handle.signal(EVENTS_SIGNAL, [engagement_event(kind, intro) for kind in kinds])
    await e.result()


async def paused_and_resumed_with_sparse_status(e: Enrollment) -> None:
    """Started as `EnrollmentService` starts it; ops pause it during the open window and resume
    it after the bump fell due: NurtureStatus upserted `paused`, `running`, then the outcome."""
    await e.until_waiting("intro")
    await e.handle.signal(PAUSE_SIGNAL)
    await e.until(lambda s: s.paused_by_ops)
    await e.sleep(days=3)
    await e.until(lambda s: s.status == EnrollmentStatus.PAUSED)
    await e.handle.signal(RESUME_SIGNAL)
    await e.result()


async def opt_out_reply(e: Enrollment) -> None:
    """A reply asking to be removed: ends `unsubscribed`, the history holding the intent's label."""
    await e.until_waiting("intro")
    await e.sleep(days=1)
    await e.event(EventKind.REPLY, "intro", reply_intent=ReplyIntent.OPT_OUT)
    await e.result()


def attributes_at_start(cohort_id: str | None = "cohort-test") -> TypedSearchAttributes:
    """The search attributes `EnrollmentService` starts a trade_intro enrollment with."""
    pairs = [
        SearchAttributePair(search_attributes.SEQUENCE, TradeIntroSequence.name),
        SearchAttributePair(search_attributes.STATUS, EnrollmentStatus.RUNNING.value),
    ]
    if cohort_id:
        pairs.append(SearchAttributePair(search_attributes.COHORT, cohort_id))
    return TypedSearchAttributes(pairs)


#: Business event property values the recorded scenarios post: each holds this mark, so the replay
#: test can assert that none reaches a stored history — except `valid_until`, which quote_followup
#: reads through `event_property` on purpose (a date, kept in the history by design).
PRIVATE_MARK = "private-7f3a9c"
#: The properties quote_followup reads into its history (see `PRIVATE_MARK`).
READ_BY_SEQUENCES = frozenset({"valid_until"})


def quote_request(valid_until: date | None) -> dict[str, Any]:
    """The properties of a recorded `quote_requested` event: personal-looking values, marked."""
    properties: dict[str, Any] = {
        "product": f"{PRIVATE_MARK} M8 stainless hex bolts",
        "quote_number": f"{PRIVATE_MARK}-Q-0142",
        "buyer_name": f"Anna Schmidt {PRIVATE_MARK}",
        "buyer_phone": f"+49 40 1234 {PRIVATE_MARK}",
    }
    if valid_until is not None:
        properties["valid_until"] = valid_until.isoformat()
    return properties


async def quote_answered_followed_up_and_reminded(e: Enrollment) -> None:
    """quote_followup with nothing happening: quote, follow-up, reminder before valid_until."""
    await e.result()


async def quote_clicked_then_ordered(e: Enrollment) -> None:
    """A click on the quote skips the follow-up; an order while waiting for the reminder converts."""
    await e.until_waiting("quote")
    await e.sleep(hours=5)
    await e.event(EventKind.CLICK, "quote", url="https://example.com/quote")
    await e.until(lambda s: len(s.events_seen) == 1 and s.status == EnrollmentStatus.WAITING)
    await e.sleep(days=5)
    await e.business("order_placed", order_total=f"12,400 EUR {PRIVATE_MARK}")
    await e.result()


BERLIN = ContactCalendar(time_zone="Europe/Berlin", country="DE")


@dataclass(frozen=True)
class Scenario:
    """A recorded scenario: its driver, the sequence and what it starts with beyond a plain
    enrollment (a quote_followup scenario is triggered, its `valid_until` this many days after the
    server's current time)."""

    drive: Callable[[Enrollment], Awaitable[None]]
    sequence: type[SequenceWorkflow[Any]] = TradeIntroSequence
    start: dict[str, Any] = field(default_factory=dict)
    valid_for_days: int | None = None


#: Scenario name → scenario; each recorded history is `histories/{sequence}-{name}.json`.
SCENARIO_TABLE: dict[str, Scenario] = {
    "complete": Scenario(no_engagement_completes),
    "opened": Scenario(human_open_skips_bump),
    "click_forward": Scenario(click_brings_offer_forward),
    "replied": Scenario(reply_while_sleeping),
    "machine_open_soft_bounce": Scenario(machine_open_and_soft_bounce_ignored),
    "ab_winner_paused": Scenario(
        winner_awaited_while_paused, start={"ab": AbAssignment(step="intro", variant=None)}
    ),
    "batched_events_attrs_at_start": Scenario(
        batched_events_after_attributes_at_start,
        start={"search_attributes": attributes_at_start()},
    ),
    "sparse_status_paused": Scenario(
        paused_and_resumed_with_sparse_status,
        start={"search_attributes": attributes_at_start()},
    ),
    "opt_out_reply": Scenario(opt_out_reply, start={"search_attributes": attributes_at_start()}),
    # With a calendar: the quote skips the send window, the follow-up and the reminder keep it.
    "quote_reminded": Scenario(
        quote_answered_followed_up_and_reminded,
        QuoteFollowupSequence,
        start={"calendar": BERLIN},
        valid_for_days=21,
    ),
    "quote_clicked_ordered": Scenario(
        quote_clicked_then_ordered,
        QuoteFollowupSequence,
        start={"calendar": BERLIN},
        valid_for_days=21,
    ),
}
SCENARIOS: dict[str, Callable[[Enrollment], Awaitable[None]]] = {
    name: scenario.drive for name, scenario in SCENARIO_TABLE.items()
}


def history_path(name: str) -> Path:
    return HISTORIES_DIR / f"{SCENARIO_TABLE[name].sequence.name}-{name}.json"


async def record(env: WorkflowEnvironment, name: str) -> WorkflowHistory:
    """Run scenario `name` on its own task queue and return the closed workflow's history."""
    scenario = SCENARIO_TABLE[name]
    task_queue = f"record-{uuid.uuid4()}"
    sender = FakeSender()
    start = dict(scenario.start)
    if scenario.valid_for_days is not None:
        now = await env.get_current_time()
        start["trigger"] = "quote_requested"
        start["trigger_properties"] = quote_request(
            (now + timedelta(days=scenario.valid_for_days)).date()
        )
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=list(SEQUENCES),
        activities=sender.activities,
    ):
        enrollment = await start_enrollment(
            env.client, env, task_queue, sender, sequence=scenario.sequence, **start
        )
        await scenario.drive(enrollment)
        return await enrollment.handle.fetch_history()


async def main(names: list[str]) -> None:
    """Record the named scenarios' histories (default: those not stored yet). Stored histories
    are what older code recorded: re-record one only when its old shape no longer matters."""
    HISTORIES_DIR.mkdir(parents=True, exist_ok=True)
    env = await start_env()
    try:
        for name in names or [n for n in SCENARIOS if not history_path(n).exists()]:
            history = await record(env, name)
            history_path(name).write_text(history.to_json() + "\n")
            print(f"recorded {history_path(name)}")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))


__all__ = [
    "IDENTITY",
    "NAMESPACE",
    "Enrollment",
    "FakeSender",
    "business_event",
    "engagement_event",
    "register_search_attributes",
    "start_enrollment",
    "start_env",
]
