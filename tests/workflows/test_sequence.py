"""The `Sequence` base: wait_for matching, the state query, search attributes, cancellation,
event deduplication, and handlers inherited by subclasses (including one defined here)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus
from temporalio.worker import Worker

from models.wire import CANCEL_SIGNAL
from workflows import EventKind, Sequence, sequence
from workflows.engine import NoParams, SequenceWorkflow, exit_outcome, matches

# The sandbox re-imports this module for ProbeSequence: test tooling passes through.
with workflow.unsafe.imports_passed_through():
    import pytest

    from models import search_attributes as sa
    from models.enrollment import EnrollmentInput, EnrollmentResult, EnrollmentStatus, Outcome
    from models.events import BounceClass, EngagementEvent
    from models.wire import EVENT_SIGNAL, EVENTS_SIGNAL, STATE_QUERY
    from tests.workflows.scenarios import (
        Enrollment,
        FakeSender,
        attributes_at_start,
        engagement_event,
        start_enrollment,
        start_env,
    )
    from workflows.registry import SEQUENCES

Enroll = Callable[..., Awaitable[Enrollment]]


class ProbeParams(BaseModel):
    count_machine_opens: bool = False


@sequence("test_probe")
class ProbeSequence(Sequence[ProbeParams]):
    """send a; wait 1h; wait_for(click on a); wait_for(any open); send b in a's thread."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    async def steps(self) -> None:
        a = await self.send("a")
        await self.wait(hours=1)
        click = await self.wait_for(EventKind.CLICK, on=a, within=timedelta(days=1))
        self.found.append(f"click {click.url if click else None}")
        opened = await self.wait_for(
            EventKind.OPEN,
            until=a.sent_at + timedelta(days=2, hours=1),
            count_machine_opens=self.params.count_machine_opens,
        )
        self.found.append(f"open machine={opened.machine_open}" if opened else "open None")
        await self.send("b", template="custom/b", reply_to=a)

    @workflow.query(name="found")
    def found_query(self) -> list[str]:
        return self.found


@sequence("test_no_params")
class NoParamsSequence(Sequence):
    async def steps(self) -> None:
        await self.send("only")


@sequence("test_own_run")
class OwnRunSequence(Sequence):
    @workflow.run
    async def run(self, input: EnrollmentInput) -> EnrollmentResult:
        return await self.enroll(input)


@pytest.fixture
def sequence_classes() -> list[type]:
    return [*SEQUENCES, ProbeSequence]


async def found(e: Enrollment) -> list[str]:
    return await e.handle.query("found", result_type=list[str])


# --- handlers are inherited ------------------------------------------------------------------


@pytest.mark.parametrize("cls", [*SEQUENCES, ProbeSequence])
def test_subclasses_inherit_signals_and_query(cls: type[SequenceWorkflow[Any]]) -> None:
    definition = workflow._Definition.must_from_class(cls)
    assert definition.name == cls.name
    assert {EVENT_SIGNAL, CANCEL_SIGNAL} <= set(definition.signals)
    assert STATE_QUERY in definition.queries


# --- the authors' API: @sequence, Sequence[Params], steps ----------------------------------------


def test_the_decorator_names_the_workflow_once_and_adds_run() -> None:
    definition = workflow._Definition.must_from_class(ProbeSequence)
    assert ProbeSequence.name == "test_probe"
    assert definition.name == "test_probe"
    assert definition.run_fn is vars(ProbeSequence)["run"]
    assert definition.arg_types == [EnrollmentInput]
    assert definition.ret_type is EnrollmentResult


def test_the_params_model_is_the_generic_argument() -> None:
    assert ProbeSequence.params_model is ProbeParams
    assert NoParamsSequence.params_model is NoParams


def test_a_sequence_that_writes_its_own_run_keeps_it() -> None:
    run = vars(OwnRunSequence)["run"]
    assert workflow._Definition.must_from_class(OwnRunSequence).run_fn is run


def test_a_sequence_class_inside_a_function_is_refused() -> None:
    # As Temporal refuses one: the worker's sandbox imports the class by its module and name.
    with pytest.raises(ValueError, match="Local classes unsupported"):

        @sequence("test_local")
        class Local(Sequence):
            pass


def test_a_params_argument_must_be_a_pydantic_model() -> None:
    with pytest.raises(TypeError, match="pydantic model"):

        class Wrong(Sequence[int]):  # type: ignore[type-var]
            pass


def test_params_model_and_the_generic_argument_must_agree() -> None:
    with pytest.raises(TypeError, match="disagree"):

        class Wrong(Sequence[ProbeParams]):
            params_model = NoParams


def test_the_decorator_rejects_a_second_name_and_non_sequences() -> None:
    with pytest.raises(TypeError, match="named 'old'"):

        @sequence("new")
        class Renamed(Sequence):
            name = "old"

    with pytest.raises(TypeError, match="subclass of Sequence"):
        sequence("plain")(object)  # type: ignore[type-var]
    with pytest.raises(ValueError, match="a word"):
        sequence("trade intro")


async def test_wait_for_takes_within_or_until_not_both() -> None:
    probe = ProbeSequence()
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="not both"):
        await probe.wait_for(  # type: ignore[call-overload]
            EventKind.OPEN, within=timedelta(days=1), until=now
        )
    with pytest.raises(ValueError, match="aware datetime"):
        await probe.wait_for(EventKind.OPEN, until=now.replace(tzinfo=None))
    with pytest.raises(ValueError, match="not both"):
        await probe.wait(days=1, until=now)


# --- wait_for ----------------------------------------------------------------------------------


async def test_wait_for_a_step_sees_events_that_arrived_before_the_call(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(sequence=ProbeSequence)
    await e.until_waiting("a")  # in wait(hours=1), before any wait_for
    await e.event(EventKind.OPEN, "a")
    await e.event(EventKind.CLICK, "a", url="https://example.com/x")
    await e.sleep(hours=2)
    # The click counted at once; the open came before the step-less wait_for, so it did not.
    await e.until(lambda s: s.status == EnrollmentStatus.WAITING and len(s.events_seen) == 2)
    assert await found(e) == ["click https://example.com/x"]

    await e.event(EventKind.OPEN, "a", machine_open=True)  # machine opens do not count
    await e.event(EventKind.OPEN, None)  # any message's (human) open counts
    result = await e.result()

    assert await found(e) == ["click https://example.com/x", "open machine=False"]
    assert result.outcome == Outcome.COMPLETED
    b = sender.input_of("b")
    assert b.template == "custom/b"
    assert b.in_reply_to_message_id == sender.input_of("a").message_id
    assert sender.input_of("a").template == "test_probe/a"


async def test_wait_for_counts_machine_opens_when_asked(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll(sequence=ProbeSequence, params={"count_machine_opens": True})
    await e.until_waiting("a")
    await e.sleep(days=1, hours=2)  # past the click wait, into the open wait
    await e.until(lambda s: s.status == EnrollmentStatus.WAITING)
    await e.event(EventKind.OPEN, "a", machine_open=True)
    await e.result()

    assert await found(e) == ["click None", "open machine=True"]
    assert sender.steps == ["a", "b"]


async def test_wait_for_returns_none_at_timeout(enroll: Enroll) -> None:
    e = await enroll(sequence=ProbeSequence)
    result = await e.result()

    assert await found(e) == ["click None", "open None"]
    assert result.outcome == Outcome.COMPLETED


# --- state query and search attributes ----------------------------------------------------------


async def test_state_query_reports_step_status_events_and_outcome(enroll: Enroll) -> None:
    e = await enroll(cohort_id="cohort-q")
    await e.until_waiting("intro")
    opened = await e.event(EventKind.OPEN, "intro", machine_open=True)

    state = await e.state()
    assert state.sequence == "trade_intro"
    assert state.contact_id == e.contact_id
    assert state.cohort_id == "cohort-q"
    assert state.current_step == "intro"
    assert state.status == EnrollmentStatus.WAITING
    assert state.outcome is None
    assert [s.step for s in state.steps_sent] == ["intro"]
    assert state.events_seen == [opened]

    await e.event(EventKind.UNSUBSCRIBE, "intro")
    await e.result()
    state = await e.state()
    assert state.outcome == Outcome.UNSUBSCRIBED
    assert state.status == EnrollmentStatus.ENDED
    assert [ev.kind for ev in state.events_seen] == [EventKind.OPEN, EventKind.UNSUBSCRIBE]


async def test_search_attributes_follow_the_enrollment(enroll: Enroll) -> None:
    e = await enroll(cohort_id="cohort-sa")
    await e.until_waiting("intro")

    attrs = (await e.handle.describe()).typed_search_attributes
    assert attrs.get(sa.SEQUENCE) == "trade_intro"
    assert attrs.get(sa.COHORT) == "cohort-sa"
    # The normal flow (sending, waiting) shows as `running`; the step is not an attribute.
    assert attrs.get(sa.STATUS) == EnrollmentStatus.RUNNING
    assert attrs.get(sa.STEP) is None

    await e.result()
    attrs = (await e.handle.describe()).typed_search_attributes
    assert attrs.get(sa.STATUS) == Outcome.COMPLETED  # the end shows the outcome
    assert attrs.get(sa.STEP) is None


def status_upserts(history: Any) -> list[str]:
    """Each NurtureStatus (or NurtureStep) upsert of a history, in order, as `key=value`."""
    found = []
    for ev in history.events:
        if not ev.HasField("upsert_workflow_search_attributes_event_attributes"):
            continue
        fields = ev.upsert_workflow_search_attributes_event_attributes.search_attributes
        for key, payload in fields.indexed_fields.items():
            if key in (sa.STATUS.name, sa.STEP.name):
                found.append(f"{key}={payload.data.decode().strip(chr(34))}")
    return found


async def test_the_status_is_upserted_only_off_the_normal_flow_and_at_the_end(
    enroll: Enroll,
) -> None:
    # As EnrollmentService starts an enrollment: sequence, cohort and status at start.
    plain = await enroll(cohort_id="c", search_attributes=attributes_at_start("c"))
    await plain.result()
    # Four sends and their waits: one upsert, the outcome.
    assert status_upserts(await plain.handle.fetch_history()) == ["NurtureStatus=completed"]

    paused = await enroll(cohort_id="c", search_attributes=attributes_at_start("c"))
    await paused.until_waiting("intro")
    await paused.handle.signal("pause")
    await paused.until(lambda s: s.paused_by_ops)
    await paused.sleep(days=3)  # the bump falls due while paused
    await paused.until(lambda s: s.status == EnrollmentStatus.PAUSED)
    await paused.handle.signal("resume")
    await paused.result()
    assert status_upserts(await paused.handle.fetch_history()) == [
        "NurtureStatus=paused",
        "NurtureStatus=running",
        "NurtureStatus=completed",
    ]


async def test_no_cohort_search_attribute_without_a_cohort(enroll: Enroll) -> None:
    e = await enroll(cohort_id=None)
    await e.result()

    attrs = (await e.handle.describe()).typed_search_attributes
    assert attrs.get(sa.COHORT) is None
    assert attrs.get(sa.SEQUENCE) == "trade_intro"


async def test_attributes_set_at_start_are_not_upserted_again(enroll: Enroll) -> None:
    # As EnrollmentService starts an enrollment: sequence, cohort and status at start.
    e = await enroll(cohort_id="cohort-sa", search_attributes=attributes_at_start("cohort-sa"))
    await e.until_waiting("intro")

    history = await e.handle.fetch_history()
    upserts = [
        set(ev.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
        for ev in history.events
        if ev.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    # Nothing but the patch's own marker attribute until the enrollment leaves the normal flow.
    assert upserts == [{"TemporalChangeVersion"}]
    attrs = (await e.handle.describe()).typed_search_attributes
    assert attrs.get(sa.SEQUENCE) == "trade_intro"
    assert attrs.get(sa.COHORT) == "cohort-sa"
    assert attrs.get(sa.STATUS) == EnrollmentStatus.RUNNING
    await e.handle.signal(CANCEL_SIGNAL)
    await e.result()


# --- events ------------------------------------------------------------------------------------


async def test_events_in_one_signal_are_recorded_in_order_once(enroll: Enroll) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    intro = (await e.state()).steps_sent[0].message_id
    delivered = engagement_event(EventKind.DELIVERED, intro)
    opened = engagement_event(EventKind.OPEN, intro)
    # One signal with a duplicate inside; then the same events again in a second one.
    await e.handle.signal(EVENTS_SIGNAL, [delivered, opened, delivered])
    await e.handle.signal(EVENTS_SIGNAL, [opened, delivered])
    await e.handle.signal(CANCEL_SIGNAL)
    await e.result()

    assert [ev.kind for ev in (await e.state()).events_seen] == [
        EventKind.DELIVERED,
        EventKind.OPEN,
    ]


async def test_an_exit_inside_a_batch_ends_the_enrollment(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    intro = (await e.state()).steps_sent[0].message_id
    # The click would bring the offer forward, but the unsubscribe before it ends everything.
    batch = [
        engagement_event(EventKind.OPEN, intro),
        engagement_event(EventKind.UNSUBSCRIBE, intro),
        engagement_event(EventKind.CLICK, intro),
    ]
    await e.handle.signal(EVENTS_SIGNAL, batch)
    result = await e.result()

    assert result.outcome == Outcome.UNSUBSCRIBED
    assert sender.steps == ["intro"]
    assert [ev.kind for ev in (await e.state()).events_seen] == [
        EventKind.OPEN,
        EventKind.UNSUBSCRIBE,
        EventKind.CLICK,
    ]


async def test_duplicate_esp_events_are_recorded_once(enroll: Enroll) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    event = engagement_event(EventKind.DELIVERED, (await e.state()).steps_sent[0].message_id)
    await e.signal(event)
    await e.signal(event, await_seen=False)
    await e.signal(engagement_event(EventKind.OPEN, None, esp_event_id=None))
    await e.signal(engagement_event(EventKind.OPEN, None, esp_event_id=None))

    assert [ev.kind for ev in (await e.state()).events_seen] == [EventKind.DELIVERED] + [
        EventKind.OPEN
    ] * 2
    await e.handle.signal(CANCEL_SIGNAL)
    await e.result()


async def test_first_exit_wins(env, sender: FakeSender) -> None:
    # Signal before any worker polls the queue, so both land in the first workflow task.
    task_queue = f"test-{uuid.uuid4()}"
    e = await start_enrollment(env.client, env, task_queue, sender)
    await e.handle.signal(EVENT_SIGNAL, engagement_event(EventKind.REPLY, None))
    await e.handle.signal(EVENT_SIGNAL, engagement_event(EventKind.UNSUBSCRIBE, None))
    async with Worker(
        env.client, task_queue=task_queue, workflows=list(SEQUENCES), activities=sender.activities
    ):
        result = await e.result()

    assert result.outcome == Outcome.REPLIED
    assert result.reason == "reply event"
    assert sender.sent == []


async def test_exit_signalled_with_start_sends_nothing(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll(
        start_signal=EVENT_SIGNAL,
        start_signal_args=[engagement_event(EventKind.UNSUBSCRIBE, None)],
    )
    result = await e.result()

    assert result.outcome == Outcome.UNSUBSCRIBED
    assert result.steps_sent == []
    assert sender.sent == []


# --- cancellation ------------------------------------------------------------------------------


async def test_cancel_signal_ends_cancelled(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(days=1)
    await e.handle.signal(CANCEL_SIGNAL, "cohort paused by ops")
    result = await e.result()

    assert result.outcome == Outcome.CANCELLED
    assert result.reason == "cohort paused by ops"
    assert sender.steps == ["intro"]


async def test_workflow_cancellation_while_sleeping_returns_cancelled(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.handle.cancel()
    result = await e.result()

    assert result.outcome == Outcome.CANCELLED
    assert [s.step for s in result.steps_sent] == ["intro"]
    assert sender.steps == ["intro"]
    assert (await e.handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_workflow_cancellation_during_a_send_returns_cancelled(sender: FakeSender) -> None:
    # On its own server: the test server keeps its time-skipping lock for an activity still
    # running when its workflow closes (temporalio/sdk-java#1138), which would stall later tests.
    sender.hold.add("intro")
    env = await start_env()
    try:
        task_queue = f"test-{uuid.uuid4()}"
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=list(SEQUENCES),
            activities=sender.activities,
        ):
            e = await start_enrollment(env.client, env, task_queue, sender)
            await e.until(lambda s: s.status == EnrollmentStatus.SENDING)
            await e.handle.cancel()
            result = await e.result()
            sender.release()
            await sender.until_finished()
    finally:
        await env.shutdown()

    assert result.outcome == Outcome.CANCELLED
    assert result.reason == "workflow cancelled"
    assert result.steps_sent == []


# --- pure rules --------------------------------------------------------------------------------


def _event(kind: EventKind, **details) -> EngagementEvent:
    return EngagementEvent(kind=kind, occurred_at=datetime(2025, 1, 1, tzinfo=UTC), **details)


@pytest.mark.parametrize(
    ("event", "outcome"),
    [
        (_event(EventKind.REPLY), Outcome.REPLIED),
        (_event(EventKind.REPLY, auto_reply=True), None),
        (_event(EventKind.UNSUBSCRIBE), Outcome.UNSUBSCRIBED),
        (_event(EventKind.COMPLAINT), Outcome.COMPLAINED),
        (_event(EventKind.BOUNCE, bounce_class=BounceClass.HARD), Outcome.BOUNCED),
        (_event(EventKind.BOUNCE, bounce_class=BounceClass.SOFT), None),
        (_event(EventKind.BOUNCE, bounce_class=BounceClass.BLOCK), None),
        (_event(EventKind.BOUNCE), None),
        (_event(EventKind.OPEN), None),
        (_event(EventKind.CLICK), None),
        (_event(EventKind.DROPPED), None),
    ],
)
def test_exit_outcome(event: EngagementEvent, outcome: Outcome | None) -> None:
    assert exit_outcome(event) == outcome


def test_matches_leaves_out_machine_opens_and_auto_replies() -> None:
    opens = frozenset({EventKind.OPEN})
    assert matches(_event(EventKind.OPEN), opens)
    assert not matches(_event(EventKind.OPEN, machine_open=True), opens)
    assert matches(_event(EventKind.OPEN, machine_open=True), opens, count_machine_opens=True)
    assert not matches(_event(EventKind.REPLY, auto_reply=True), frozenset({EventKind.REPLY}))
    assert not matches(_event(EventKind.CLICK), opens)
