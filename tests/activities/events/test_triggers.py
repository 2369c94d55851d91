"""TriggerRunner against the time-skipping Temporal server: a triggering event enrolls its
contact (cohort `trigger:<name>`, the event as the workflow's trigger, its id as the start's
memo); an ineligible contact is a refusal with its reason (no consent, withdrawn, suppressed,
live in the sequence, re-enrollment, an event too old); a run that died after the start —
before or after the SQL mirror — is recognised by its memo and recorded enrolled, never started
twice; Temporal unreachable leaves the row pending with a pause, run later; leases keep the
background pass off rows the storing caller runs.

The enrolled workflows run on a task queue no worker polls: they stay open, as live ones do."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlmodel import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.enrollment.enrolling import EnrollmentService
from activities.events.business import BusinessEventService
from activities.events.triggers import (
    MAX_TRIGGER_AGE,
    MEMO_KEY,
    TriggeredSequence,
    TriggerOutcome,
    TriggerRunner,
    registered_triggers,
)
from models.business_events import Trigger
from models.db import session_scope
from models.enrollment import EnrollmentInput, enrollment_workflow_id
from models.tables import (
    Contact,
    Enrollment,
    SuppressionReason,
    TriggerEnrollment,
    TriggerStatus,
    utcnow,
)
from tests.factories import make_contact, make_enrollment, make_sender, suppress, withdraw_consent
from tests.workflows.scenarios import start_env

SEQUENCE = "trade_intro"
TRIGGER = Trigger("quote_requested", params={"open_window": "P3D"})


def lookup(name: str) -> list[TriggeredSequence]:
    return [TriggeredSequence(SEQUENCE, TRIGGER)] if name == TRIGGER.name else []


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_env()
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"nobody-{uuid.uuid4()}"


@pytest.fixture
def store(engine: sa.Engine) -> BusinessEventService:
    make_sender(engine)
    return BusinessEventService(engine, triggers=lookup)


def runner_for(
    engine: sa.Engine, client: Client | None, task_queue: str, **kw: Any
) -> TriggerRunner:
    async def connect() -> Client | None:
        return client

    return TriggerRunner(engine, connect, task_queue, triggers=lookup, **kw)


@pytest.fixture
def runner(engine: sa.Engine, temporal: WorkflowEnvironment, task_queue: str) -> TriggerRunner:
    return runner_for(engine, temporal.client, task_queue)


def post(store: BusinessEventService, who: Contact, **kw: Any) -> uuid.UUID:
    """Store one `quote_requested` for `who`; nurture's id of it."""
    item = {"id": f"q-{uuid.uuid4()}", "name": TRIGGER.name, "contact": {"id": str(who.id)}}
    [result] = store.store([item | kw]).results
    assert result.event_id is not None, result.reason
    return result.event_id


def row_of(engine: sa.Engine, event_id: uuid.UUID) -> TriggerEnrollment:
    with session_scope(engine) as s:
        row = s.get(TriggerEnrollment, (event_id, SEQUENCE))
        assert row is not None
        return row


def expire_leases(engine: sa.Engine) -> None:
    """As if the storing caller died and its lease (or a retry pause) ran out."""
    with session_scope(engine) as s:
        for row in s.exec(select(TriggerEnrollment)).all():
            row.claimed_until = utcnow() - timedelta(seconds=1)
            s.add(row)


# --- enrolled ------------------------------------------------------------------------------------


async def test_a_triggering_event_enrolls_its_contact_once_with_the_event_as_trigger(
    engine: sa.Engine, store: BusinessEventService, runner: TriggerRunner, temporal
) -> None:
    contact = make_contact(engine)
    event_id = post(store, contact)

    [outcome] = await runner.run_for([event_id])

    workflow_id = enrollment_workflow_id(SEQUENCE, contact.id)
    assert outcome == TriggerOutcome(event_id, SEQUENCE, TriggerStatus.ENROLLED, None, workflow_id)
    assert outcome.enrolled
    row = row_of(engine, event_id)
    assert (row.status, row.workflow_id, row.attempts, row.claimed_until) == (
        TriggerStatus.ENROLLED,
        workflow_id,
        1,
        None,
    )
    description = await temporal.client.get_workflow_handle(workflow_id).describe()
    assert await description.memo_value(MEMO_KEY) == str(event_id)
    with session_scope(engine) as s:
        mirror = s.get(Enrollment, workflow_id)
        assert mirror is not None
        assert (mirror.cohort_id, mirror.outcome) == ("trigger:quote_requested", None)
    history = await temporal.client.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    input = EnrollmentInput.model_validate_json(started.input.payloads[0].data)
    assert input.trigger is not None
    assert (input.trigger.event_id, input.trigger.name) == (str(event_id), "quote_requested")
    assert input.params == {"open_window": "P3D"}
    assert input.cohort_id == "trigger:quote_requested"

    assert await runner.run_for([event_id]) == []  # nothing pending: never run twice
    assert runner.outcomes([event_id]) == {event_id: [outcome]}


async def test_a_delayed_trigger_starts_the_workflow_at_once_with_its_first_task_later(
    engine: sa.Engine, store: BusinessEventService, temporal, task_queue: str
) -> None:
    delayed = Trigger("quote_requested", delay=timedelta(hours=1))

    async def connect() -> Client:
        return temporal.client

    runner = TriggerRunner(
        engine,
        connect,
        task_queue,
        triggers=lambda name: [TriggeredSequence(SEQUENCE, delayed)],
    )
    contact = make_contact(engine)
    event_id = post(store, contact, occurred_at=(utcnow() - timedelta(minutes=20)).isoformat())

    [outcome] = await runner.run_for([event_id])

    assert outcome.enrolled
    description = await temporal.client.get_workflow_handle(outcome.workflow_id).describe()
    info = description.raw_description.workflow_execution_info
    delay = info.execution_time.ToDatetime() - info.start_time.ToDatetime()
    # An hour after the event, which happened 20 minutes ago.
    assert timedelta(minutes=39) <= delay <= timedelta(minutes=41)


# --- refused -------------------------------------------------------------------------------------


def _no_consent(engine: sa.Engine) -> Contact:
    return make_contact(engine, consent=None)


def _withdrawn(engine: sa.Engine) -> Contact:
    contact = make_contact(engine)
    withdraw_consent(engine, contact.id)
    return contact


def _suppressed(engine: sa.Engine) -> Contact:
    contact = make_contact(engine)
    suppress(engine, contact.email, SuppressionReason.HARD_BOUNCE)
    return contact


def _live(engine: sa.Engine) -> Contact:
    contact = make_contact(engine)
    make_enrollment(engine, contact, SEQUENCE)
    return contact


def _enrolled_before(engine: sa.Engine) -> Contact:
    contact = make_contact(engine)
    workflow_id = make_enrollment(engine, contact, SEQUENCE)
    with session_scope(engine) as s:
        row = s.get(Enrollment, workflow_id)
        assert row is not None
        row.outcome, row.ended_at = "completed", utcnow()
        s.add(row)
    return contact


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_no_consent, "has no consent on record"),
        (_withdrawn, "withdrew consent"),
        (_suppressed, "is suppressed"),
        (_live, "an enrollment is still running"),
        (_enrolled_before, "enrolled before; this sequence re-enrolls"),
    ],
    ids=["no_consent", "withdrawn", "suppressed", "live", "reenrollment"],
)
async def test_an_ineligible_contact_is_refused_with_the_reason(
    engine: sa.Engine, store: BusinessEventService, runner: TriggerRunner, make, reason: str
) -> None:
    contact = make(engine)
    event_id = post(store, contact)

    [outcome] = await runner.run_for([event_id])

    assert outcome.status == TriggerStatus.REFUSED
    assert not outcome.enrolled
    assert outcome.reason is not None
    assert reason in outcome.reason
    row = row_of(engine, event_id)
    assert (row.status, row.reason, row.workflow_id) == (
        TriggerStatus.REFUSED,
        outcome.reason,
        None,
    )


async def test_a_second_event_while_the_first_ones_enrollment_runs_is_refused(
    engine: sa.Engine, store: BusinessEventService, runner: TriggerRunner
) -> None:
    contact = make_contact(engine)
    first = post(store, contact)
    assert (await runner.run_for([first]))[0].enrolled

    second = post(store, contact)
    [outcome] = await runner.run_for([second])

    assert outcome.status == TriggerStatus.REFUSED
    assert outcome.reason is not None
    assert "still running" in outcome.reason
    assert row_of(engine, first).status == TriggerStatus.ENROLLED


async def test_an_event_received_long_after_it_happened_enrolls_nobody(
    engine: sa.Engine, store: BusinessEventService, runner: TriggerRunner
) -> None:
    contact = make_contact(engine)
    long_ago = utcnow() - MAX_TRIGGER_AGE - timedelta(minutes=5)
    event_id = post(store, contact, occurred_at=long_ago.isoformat())

    [outcome] = await runner.run_for([event_id])

    assert outcome.status == TriggerStatus.REFUSED
    assert outcome.reason is not None
    assert "too old" in outcome.reason


async def test_a_sequence_that_no_longer_has_the_trigger_refuses_the_pending_row(
    engine: sa.Engine, store: BusinessEventService, temporal, task_queue: str
) -> None:
    event_id = post(store, make_contact(engine))

    async def connect() -> Client:
        return temporal.client

    redeployed = TriggerRunner(engine, connect, task_queue, triggers=lambda name: [])
    [outcome] = await redeployed.run_for([event_id])

    assert outcome.status == TriggerStatus.REFUSED
    assert outcome.reason == "trade_intro is no longer triggered by quote_requested"


# --- at most once across a crash -----------------------------------------------------------------


async def test_a_run_that_died_after_the_start_is_recognised_and_not_enrolled_twice(
    engine: sa.Engine, store: BusinessEventService, runner: TriggerRunner, temporal, task_queue
) -> None:
    contact = make_contact(engine)
    event_id = post(store, contact)
    # The first run started the workflow (and wrote its mirror), then the API died.
    service = EnrollmentService(engine, temporal.client, task_queue)
    workflow_id = await service.enroll(
        SEQUENCE, contact.id, cohort_id=TRIGGER.cohort_id, memo={MEMO_KEY: str(event_id)}
    )
    first_run = (await temporal.client.get_workflow_handle(workflow_id).describe()).run_id
    assert row_of(engine, event_id).status == TriggerStatus.PENDING
    assert await runner.run_pending() == []  # the dead caller's lease still holds it

    expire_leases(engine)
    [outcome] = await runner.run_pending()

    assert outcome == TriggerOutcome(event_id, SEQUENCE, TriggerStatus.ENROLLED, None, workflow_id)
    description = await temporal.client.get_workflow_handle(workflow_id).describe()
    assert description.run_id == first_run
    assert row_of(engine, event_id).workflow_id == workflow_id


async def test_a_run_that_died_before_the_mirror_is_recognised_and_the_mirror_written(
    engine: sa.Engine, store: BusinessEventService, runner: TriggerRunner, temporal, task_queue
) -> None:
    contact = make_contact(engine)
    event_id = post(store, contact)
    workflow_id = enrollment_workflow_id(SEQUENCE, contact.id)
    handle = await temporal.client.start_workflow(
        SEQUENCE,
        EnrollmentInput(contact_id=contact.id),
        id=workflow_id,
        task_queue=task_queue,
        memo={MEMO_KEY: str(event_id)},
    )
    expire_leases(engine)

    [outcome] = await runner.run_pending()

    assert outcome.status == TriggerStatus.ENROLLED
    assert (await handle.describe()).run_id == handle.result_run_id
    with session_scope(engine) as s:
        mirror = s.get(Enrollment, workflow_id)
        assert mirror is not None
        assert mirror.cohort_id == TRIGGER.cohort_id


# --- Temporal unreachable ------------------------------------------------------------------------


async def test_temporal_unreachable_leaves_the_row_pending_and_a_later_pass_enrolls(
    engine: sa.Engine, store: BusinessEventService, runner: TriggerRunner, task_queue: str
) -> None:
    contact = make_contact(engine)
    event_id = post(store, contact)
    offline = runner_for(engine, None, task_queue)

    [outcome] = await offline.run_for([event_id])

    assert outcome.status == TriggerStatus.PENDING
    assert outcome.reason == "Temporal unreachable"
    row = row_of(engine, event_id)
    assert (row.status, row.attempts) == (TriggerStatus.PENDING, 1)
    assert row.claimed_until is not None
    assert row.claimed_until > utcnow()  # a pause before the next try
    assert await runner.run_pending() == []

    expire_leases(engine)
    [later] = await runner.run_pending()

    assert later.enrolled
    assert row_of(engine, event_id).attempts == 2


async def test_the_background_pass_leaves_rows_leased_to_the_storing_caller(
    engine: sa.Engine, store: BusinessEventService, runner: TriggerRunner
) -> None:
    event_id = post(store, make_contact(engine))

    assert await runner.run_pending() == []
    assert row_of(engine, event_id).status == TriggerStatus.PENDING
    assert (await runner.run_for([event_id]))[0].enrolled


async def test_a_consented_contact_posted_for_by_external_id_is_enrolled(
    engine: sa.Engine, store: BusinessEventService, runner: TriggerRunner
) -> None:
    contact = make_contact(engine, external_id=f"crm-{uuid.uuid4().hex[:6]}")
    assert contact.external_id is not None
    event_id = post(store, contact, contact={"external_id": contact.external_id})

    [outcome] = await runner.run_for([event_id])

    assert outcome.enrolled


async def test_a_conflict_while_temporal_is_down_stays_pending_rather_than_refused(
    engine: sa.Engine, store: BusinessEventService, task_queue: str
) -> None:
    # Crash after the start and its mirror; the retry comes while Temporal does not answer.
    contact = _live(engine)
    event_id = post(store, contact)
    gone = await start_env()
    await gone.shutdown()

    [outcome] = await runner_for(engine, gone.client, task_queue).run_for([event_id])

    assert outcome.status == TriggerStatus.PENDING
    assert outcome.reason == "Temporal unreachable"
    assert row_of(engine, event_id).status == TriggerStatus.PENDING


async def test_the_registry_wires_quote_requested_to_quote_followup(
    engine: sa.Engine, temporal, task_queue: str
) -> None:
    assert [t.sequence for t in registered_triggers("quote_requested")] == ["quote_followup"]
    assert registered_triggers("meeting_booked") == []
    store = BusinessEventService(engine)  # the production lookup
    make_sender(engine)
    contact = make_contact(engine)
    event_id = post(store, contact)

    async def connect() -> Client:
        return temporal.client

    [outcome] = await TriggerRunner(engine, connect, task_queue).run_for([event_id])

    assert outcome.sequence == "quote_followup"
    assert outcome.enrolled, outcome.reason
    assert outcome.workflow_id == enrollment_workflow_id("quote_followup", contact.id)
