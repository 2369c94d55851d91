"""Business events in the `Sequence` base (time-skipping server): goals end an enrollment
`converted` and `exit_on` events `exited` at once, even mid-wait; `wait_for` takes business event
names; other business events change nothing; `event_property` reads a property through the real
activity against the database; the rules that refuse a wrong name at the call."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel
from temporalio import workflow
from temporalio.worker import Worker

from workflows import EventKind, Sequence, Trigger, sequence
from workflows.engine import business_outcome, split_wanted

# The sandbox re-imports this module for the probe sequences: test tooling passes through.
with workflow.unsafe.imports_passed_through():
    import pytest

    from activities.enrollment.activities import EnrollmentActivities
    from models.db import session_scope
    from models.enrollment import (
        EnrollmentInput,
        EnrollmentResult,
        EnrollmentStatus,
        Outcome,
        TriggerRef,
        enrollment_workflow_id,
    )
    from models.events import EngagementEvent
    from models.tables import BusinessEvent
    from models.wire import EVENTS_SIGNAL
    from tests.factories import make_contact
    from tests.workflows.scenarios import Enrollment, FakeSender, business_event
    from workflows.registry import SEQUENCES

Enroll = Callable[..., Awaitable[Enrollment]]


class ProbeParams(BaseModel):
    #: wait_for(..., on=a) instead of without a step.
    on_step: bool = False
    #: Read this property of the event wait_for returns.
    read: str | None = None


@sequence("test_business_probe")
class BusinessProbe(Sequence[ProbeParams]):
    """send a; wait 1h; wait_for(quote_requested or a click, 1 day); wait 2 days; send b."""

    goals = {"meeting_booked"}
    exit_on = {"do_not_contact"}

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    async def steps(self) -> None:
        a = await self.send("a")
        await self.wait(hours=1)
        event = await self.wait_for(
            {"quote_requested", EventKind.CLICK},
            on=a if self.params.on_step else None,
            within=timedelta(days=1),
        )
        self.found.append(f"{event.kind}:{event.name}" if event else "None")
        if event is not None and event.is_business and self.params.read:
            value = await self.event_property(event, self.params.read)
            self.found.append(f"{self.params.read}={value!r}")
        await self.wait(days=2)
        await self.send("b")

    @workflow.query(name="found")
    def found_query(self) -> list[str]:
        return self.found


class ReaderParams(BaseModel):
    names: list[str]


@sequence("test_trigger_reader")
class TriggerReader(Sequence[ReaderParams]):
    """Reads the named properties of its trigger event; sends nothing."""

    triggers = (Trigger("quote_requested"),)
    requires_trigger = True

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, object] = {}

    async def steps(self) -> None:
        assert self.trigger is not None
        for name in self.params.names:
            self.values[name] = await self.event_property(self.trigger, name)

    @workflow.query(name="values")
    def values_query(self) -> dict[str, object]:
        return self.values


@pytest.fixture
def sequence_classes() -> list[type]:
    return [*SEQUENCES, BusinessProbe, TriggerReader]


async def found(e: Enrollment) -> list[str]:
    return await e.handle.query("found", result_type=list[str])


def sent_steps(result: EnrollmentResult) -> list[str]:
    return [s.step for s in result.steps_sent]


# --- goals and exit_on ---------------------------------------------------------------------------


async def test_a_goal_mid_wait_ends_converted_naming_the_goal(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll()  # trade_intro: goals meeting_booked, order_placed
    await e.until_waiting("intro")
    await e.sleep(days=1)
    await e.business("meeting_booked", calendar_link="https://cal.example/anna")
    result = await e.result()

    assert result.outcome == Outcome.CONVERTED
    assert result.goal == "meeting_booked"
    assert result.exit_event is None
    assert result.reason == "goal meeting_booked"
    assert sent_steps(result) == ["intro"]
    assert sender.steps == ["intro"]  # no bump, case study or offer, however long we wait
    [finish] = sender.outcomes
    assert finish.outcome == Outcome.CONVERTED
    assert finish.outcome_event == "meeting_booked"
    state = await e.state()
    assert state.goal == "meeting_booked"
    assert state.status == EnrollmentStatus.ENDED


async def test_a_goal_signalled_with_start_sends_nothing(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(
        start_signal=EVENTS_SIGNAL, start_signal_args=[[business_event("order_placed")]]
    )
    result = await e.result()

    assert result.outcome == Outcome.CONVERTED
    assert result.goal == "order_placed"
    assert sender.sent == []


async def test_an_exit_on_event_ends_exited_naming_it(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll(sequence=BusinessProbe)
    await e.until_waiting("a")
    await e.business("do_not_contact")
    result = await e.result()

    assert result.outcome == Outcome.EXITED
    assert result.exit_event == "do_not_contact"
    assert result.goal is None
    assert result.reason == "exit_on do_not_contact"
    assert sender.steps == ["a"]
    assert sender.outcomes[-1].outcome_event == "do_not_contact"
    assert (await e.state()).exit_event == "do_not_contact"


async def test_the_first_exit_wins_over_a_later_goal(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    intro = sender.input_of("intro").message_id
    # One batch: the unsubscribe ends it; the goal after it is recorded but changes nothing.
    await e.handle.signal(
        EVENTS_SIGNAL,
        [
            EngagementEvent(
                kind=EventKind.UNSUBSCRIBE, occurred_at=datetime.now(UTC), message_id=intro
            ),
            business_event("meeting_booked"),
        ],
    )
    result = await e.result()

    assert result.outcome == Outcome.UNSUBSCRIBED
    assert result.goal is None
    assert sender.outcomes[-1].outcome_event is None


async def test_other_business_events_change_nothing(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(hours=6)
    await e.business("quote_requested", product="bolts")  # trade_intro neither ends nor waits
    await e.business("webinar_attended")
    await e.business("quote_requested")  # a second one: another event id, recorded too
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert result.goal is None
    assert sender.steps == ["intro", "bump", "case_study", "offer"]  # the bump: no open, no click
    assert sender.days_after_start("bump") == pytest.approx(2, abs=0.01)
    assert sender.days_after_start("offer") == pytest.approx(8, abs=0.01)
    assert [ev.name for ev in (await e.state()).events_seen] == [
        "quote_requested",
        "webinar_attended",
        "quote_requested",
    ]


async def test_a_business_event_forwarded_twice_is_recorded_once(enroll: Enroll) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    event = business_event("webinar_attended")
    await e.handle.signal(EVENTS_SIGNAL, [event])
    await e.handle.signal(EVENTS_SIGNAL, [event, event])
    await e.until(lambda s: len(s.events_seen) >= 1)
    await e.business("meeting_booked")
    await e.result()

    assert [ev.name for ev in (await e.state()).events_seen] == [
        "webinar_attended",
        "meeting_booked",
    ]


# --- wait_for a business event -------------------------------------------------------------------


async def into_wait_for(e: Enrollment) -> None:
    """Past `wait(hours=1)`, into the probe's wait_for."""
    await e.until_waiting("a")
    await e.sleep(hours=2)
    await e.until(lambda s: s.status == EnrollmentStatus.WAITING)


async def test_wait_for_returns_the_business_event_it_names(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(sequence=BusinessProbe, params={"read": "incoterm"})
    await into_wait_for(e)
    posted = await e.business("quote_requested", incoterm="FOB Ningbo")
    result = await e.result()

    assert await found(e) == ["business:quote_requested", "incoterm='FOB Ningbo'"]
    [read] = sender.property_reads
    assert read.event_id == posted.event_id
    assert read.contact_id == e.contact_id
    assert read.name == "incoterm"
    assert result.outcome == Outcome.COMPLETED
    assert sender.steps == ["a", "b"]


async def test_wait_for_a_business_event_times_out_to_none(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(sequence=BusinessProbe, params={"read": "incoterm"})
    result = await e.result()

    assert await found(e) == ["None"]
    assert sender.property_reads == []
    assert result.outcome == Outcome.COMPLETED


async def test_an_esp_kind_and_a_name_wait_together(enroll: Enroll) -> None:
    e = await enroll(sequence=BusinessProbe)
    await into_wait_for(e)
    await e.event(EventKind.CLICK, "a", url="https://example.com/x")
    await e.result()

    assert await found(e) == ["click:None"]


@pytest.mark.parametrize(
    ("on_step", "expected"),
    [(True, "business:quote_requested"), (False, "None")],
    ids=["on-step-counts-since-its-send", "without-on-only-after-the-call"],
)
async def test_a_business_event_before_the_call_counts_only_with_on(
    enroll: Enroll, on_step: bool, expected: str
) -> None:
    e = await enroll(sequence=BusinessProbe, params={"on_step": on_step})
    await e.until_waiting("a")  # in wait(hours=1): after a's send, before wait_for
    await e.business("quote_requested")
    await e.result()

    assert await found(e) == [expected]


# --- event_property through the real activity ----------------------------------------------------


def store_business_event(engine: sa.Engine, contact_id: uuid.UUID, **properties: object) -> str:
    with session_scope(engine) as s:
        event = BusinessEvent(
            key=f"crm-{uuid.uuid4()}",
            name="quote_requested",
            contact_id=contact_id,
            occurred_at=datetime.now(UTC),
            properties=properties,
        )
        s.add(event)
    return str(event.id)


async def test_event_property_reads_the_stored_event_through_the_real_activity(
    env, engine: sa.Engine, sender: FakeSender
) -> None:
    contact = make_contact(engine)
    event_id = store_business_event(
        engine,
        contact.id,
        valid_until="2027-03-31",
        quantity=12000,
        terms={"incoterm": "FOB", "port": "Ningbo"},
    )
    real = EnrollmentActivities(engine, sending=None)  # type: ignore[arg-type]
    task_queue = f"test-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=2) as executor:  # the real activities are sync
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[TriggerReader],
            activities=[sender.finish_enrollment, real.event_property],
            activity_executor=executor,
        ):
            handle = await env.client.start_workflow(
                TriggerReader.name,
                EnrollmentInput(
                    contact_id=contact.id,
                    params={"names": ["valid_until", "quantity", "terms", "absent"]},
                    trigger=TriggerRef(
                        event_id=event_id, name="quote_requested", occurred_at=datetime.now(UTC)
                    ),
                ),
                id=enrollment_workflow_id(TriggerReader.name, contact.id),
                task_queue=task_queue,
                result_type=EnrollmentResult,
            )
            result = await handle.result()
            values = await handle.query("values", result_type=dict[str, object])

    assert result.outcome == Outcome.COMPLETED
    assert values == {
        "valid_until": "2027-03-31",
        "quantity": 12000,
        "terms": {"incoterm": "FOB", "port": "Ningbo"},
        "absent": None,
    }


async def test_a_sequence_that_requires_its_trigger_ends_cancelled_without_one(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(sequence=TriggerReader, params={"names": ["valid_until"]})
    result = await e.result()

    assert result.outcome == Outcome.CANCELLED
    assert result.reason is not None
    assert "quote_requested" in result.reason
    assert sender.property_reads == []
    assert sender.outcomes[-1].outcome == Outcome.CANCELLED


# --- rules checked at the call or when the class is defined ---------------------------------------


@pytest.mark.parametrize(
    ("wanted", "match"),
    [
        ("click", "ESP event kind"),
        ({"Quote Requested"}, "snake_case"),
        ({""}, "required"),
        ({42}, "required"),
        (set(), "at least one"),
        ({"meeting_booked", EventKind.OPEN}, "goals / exit_on"),
        ("do_not_contact", "goals / exit_on"),
    ],
)
async def test_wait_for_refuses_a_wrong_name_at_the_call(wanted: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        await BusinessProbe().wait_for(wanted, within=timedelta(days=1))  # type: ignore[arg-type]


def test_split_wanted_separates_kinds_from_names() -> None:
    assert split_wanted(EventKind.CLICK) == (frozenset({EventKind.CLICK}), frozenset())
    assert split_wanted("order_placed") == (frozenset(), frozenset({"order_placed"}))
    assert split_wanted(["quote_requested", EventKind.OPEN]) == (
        frozenset({EventKind.OPEN}),
        frozenset({"quote_requested"}),
    )


@pytest.mark.parametrize(
    "kind", [EventKind.PROCESSED, EventKind.DELIVERED, EventKind.DEFERRED, EventKind.DROPPED]
)
def test_split_wanted_refuses_kinds_the_forwarder_never_signals(kind: EventKind) -> None:
    with pytest.raises(ValueError, match=f"'{kind.value}' events are never signalled"):
        split_wanted([EventKind.OPEN, kind])


async def test_event_property_refuses_an_esp_event() -> None:
    click = EngagementEvent(kind=EventKind.CLICK, occurred_at=datetime.now(UTC))
    with pytest.raises(ValueError, match="business event"):
        await BusinessProbe().event_property(click, "incoterm")


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("meeting_booked", Outcome.CONVERTED),
        ("do_not_contact", Outcome.EXITED),
        ("quote_requested", None),
    ],
)
def test_business_outcome(name: str, outcome: Outcome | None) -> None:
    event = business_event(name)
    assert business_outcome(event, BusinessProbe.goals, BusinessProbe.exit_on) == outcome


def test_an_esp_event_has_no_business_outcome() -> None:
    reply = EngagementEvent(kind=EventKind.REPLY, occurred_at=datetime.now(UTC))
    assert business_outcome(reply, frozenset({"reply"}), frozenset()) is None


def test_goals_are_frozen_when_the_class_is_defined() -> None:
    assert BusinessProbe.goals == frozenset({"meeting_booked"})
    assert isinstance(BusinessProbe.goals, frozenset)


def test_requires_trigger_needs_triggers() -> None:
    with pytest.raises(TypeError, match="requires_trigger without triggers"):

        class Wrong(Sequence):
            requires_trigger = True
