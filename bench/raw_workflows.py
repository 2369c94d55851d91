"""The raw baseline's workflows: Temporal alone, with the shape of what the engine runs and
no-op activities (deterministic code only; the worker is `bench.raw_worker`).

`bench_raw_sequence` has the history of one `trade_intro` enrollment on the bench's path
(intro → open → click → offer): 3 activities (send intro, send offer, finish), the open window's
timer, cut short by the one signal the forwarder sends — one pass's events for a workflow in one
signal, of the kinds it signals: the intro's open and click together (the click is then in when
the wait for it begins: no second timer); the mails' processed and delivered reach no workflow.

`bench_raw_launched` has what a launched `trade_intro` enrollment does before it waits behind its
paused sender (see `RawLaunched`): started with 3 search attributes, 1 search-attribute upsert,
one activity that fails non-retryably (the refused send), then a 30-minute timer.

`bench_raw_longest` has `trade_intro`'s longest path (intro unopened, bump, case study, offer;
see `RawLongest`), and `bench_raw_live` waits and takes engagement events, the raw client's
signal target in the forwarder drain part (`RawLive`).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.search_attributes import STATUS

RAW_SEQUENCE = "bench_raw_sequence"
RAW_LAUNCHED = "bench_raw_launched"
RAW_LONGEST = "bench_raw_longest"
RAW_LIVE = "bench_raw_live"
NOOP_ACTIVITY = "bench_noop"
#: The no-op activity's step that fails as a paused sender's send does (non-retryable).
REFUSED_STEP = "refused"
RAW_EVENTS_SIGNAL = "engagement_events"
#: The events one sequence is signalled, in the order the simulator posts them: the intro's in
#: one signal, the offer's in another (one webhook batch each).
RAW_INTRO_EVENTS = ("processed", "delivered", "open", "click")
RAW_OFFER_EVENTS = ("processed", "delivered")
#: What every mail of the longest path gets: delivered, never opened.
RAW_DELIVERED_EVENTS = ("processed", "delivered")
#: The sends of `trade_intro`'s longest path, in order.
LONGEST_STEPS = ("intro", "bump", "case_study", "offer")

_ACTIVITY_TIMEOUT = timedelta(minutes=1)


@workflow.defn(name=RAW_SEQUENCE)
class RawSequence:
    def __init__(self) -> None:
        self._events: list[str] = []

    @workflow.signal(name=RAW_EVENTS_SIGNAL)
    def on_events(self, kinds: list[str]) -> None:
        self._events.extend(kinds)

    @workflow.run
    async def run(self, window_seconds: float, upserts: bool = False) -> list[str]:
        """With `upserts`, also the search-attribute upserts of a `trade_intro` enrollment on
        this path, at the same point (a detail that prices them; the baseline has none): with
        sparse status (docs/architecture.md, Search attributes) the normal flow upserts nothing
        until the outcome at the end."""
        window = timedelta(seconds=window_seconds)
        sent = [await self._send("intro")]
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: "open" in self._events or "click" in self._events, timeout=window
            )
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: "click" in self._events, timeout=window)
        sent.append(await self._send("offer"))
        if upserts:
            workflow.upsert_search_attributes([STATUS.value_set("completed")])
        await self._send("finish")
        return sent

    async def _send(self, step: str) -> str:
        result: str = await workflow.execute_activity(
            NOOP_ACTIVITY, step, start_to_close_timeout=_ACTIVITY_TIMEOUT
        )
        return result


@workflow.defn(name=RAW_LAUNCHED)
class RawLaunched:
    """A launched `trade_intro` enrollment whose sender is paused, up to its wait, event for event:

    - started with `NurtureSequence`, `NurtureStatus` and `NurtureCohort` (as `EnrollmentService`
      starts an enrollment);
    - first workflow task: `Sequence.enroll` has nothing to upsert (the starter set it all), and
      `send("intro")` none either (sparse status: `sending` shows as the `running` set at
      start); it schedules the send;
    - the send fails non-retryably (`SenderPaused`: one attempt);
    - second workflow task: `_wait_out_deferral` upserts status `sender_paused` (leaving the
      normal flow: 1 upsert) and starts its 30-minute timer (`SENDER_PAUSED_RECHECK`).
    """

    @workflow.run
    async def run(self, cohort: str, wait_seconds: float) -> None:
        with contextlib.suppress(ActivityError):
            await workflow.execute_activity(
                NOOP_ACTIVITY,
                REFUSED_STEP,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=RetryPolicy(non_retryable_error_types=["SenderPaused"]),
            )
        workflow.upsert_search_attributes([STATUS.value_set("sender_paused")])
        await workflow.sleep(timedelta(seconds=wait_seconds))


@workflow.defn(name=RAW_LONGEST)
class RawLongest:
    """`trade_intro`'s longest path with no-op sends and no search attributes, wait for wait as
    `TradeIntroSequence.steps` waits: intro; the open window runs out (a timer); bump; no click
    until the case study is due (a timer); case study; `offer_after` (a timer); offer; finish —
    5 activities, 3 timers. The raw worker plays the ESP and the forwarder: every mail is
    processed and delivered, kinds the forwarder signals to no workflow, so no signal."""

    def __init__(self) -> None:
        self._events: list[str] = []

    @workflow.signal(name=RAW_EVENTS_SIGNAL)
    def on_events(self, kinds: list[str]) -> None:
        self._events.extend(kinds)

    @workflow.run
    async def run(
        self,
        open_window_seconds: float,
        case_study_after_seconds: float,
        offer_after_seconds: float,
    ) -> list[str]:
        sent = [await _send("intro")]
        case_study_due = workflow.now() + timedelta(seconds=case_study_after_seconds)
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: "open" in self._events or "click" in self._events,
                timeout=timedelta(seconds=open_window_seconds),
            )
        if "open" not in self._events and "click" not in self._events:
            sent.append(await _send("bump"))
        if "click" not in self._events and case_study_due > workflow.now():
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: "click" in self._events, timeout=case_study_due - workflow.now()
                )
        if "click" not in self._events:
            sent.append(await _send("case_study"))
            await workflow.sleep(timedelta(seconds=offer_after_seconds))
        sent.append(await _send("offer"))
        await _send("finish")
        return sent


@workflow.defn(name=RAW_LIVE)
class RawLive:
    """Waits, as an enrollment behind a paused sender waits, and takes engagement events (the
    forwarder's payloads, kept as they come): the raw client's target in the drain part."""

    def __init__(self) -> None:
        self._received = 0

    @workflow.signal(name=RAW_EVENTS_SIGNAL)
    def on_events(self, events: list[dict[str, Any]]) -> None:
        self._received += len(events)

    @workflow.run
    async def run(self, wait_seconds: float) -> int:
        await workflow.sleep(timedelta(seconds=wait_seconds))
        return self._received


async def _send(step: str) -> str:
    result: str = await workflow.execute_activity(
        NOOP_ACTIVITY, step, start_to_close_timeout=_ACTIVITY_TIMEOUT
    )
    return result


__all__ = [
    "LONGEST_STEPS",
    "NOOP_ACTIVITY",
    "RAW_DELIVERED_EVENTS",
    "RAW_EVENTS_SIGNAL",
    "RAW_INTRO_EVENTS",
    "RAW_LAUNCHED",
    "RAW_LIVE",
    "RAW_LONGEST",
    "RAW_OFFER_EVENTS",
    "RAW_SEQUENCE",
    "REFUSED_STEP",
    "RawLaunched",
    "RawLive",
    "RawLongest",
    "RawSequence",
]
