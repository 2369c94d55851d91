"""BusinessEventService, called directly: each event stored once per caller's key (a re-post and
a repeat within one batch are duplicates); the contact named by id, address or external id, an
unknown one rejected with nothing created; invalid items rejected with their reason while the
valid ones of the batch are stored; one outbox row per live enrollment, whose payload holds the
event's id, name and time and never its properties or key; trigger rows queued and leased to
the caller; and the forwarder delivering the event to the workflow."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment

from activities.events.business import BusinessEventService, ItemStatus
from activities.events.forwarder import EventForwarder
from activities.events.triggers import LEASE, TriggeredSequence
from models.business_events import Trigger
from models.db import session_scope
from models.events import EventKind
from models.tables import (
    BusinessEvent,
    Contact,
    Enrollment,
    Event,
    EventSignal,
    TriggerEnrollment,
    TriggerStatus,
    utcnow,
)
from models.wire import EVENTS_SIGNAL
from tests.factories import make_contact, make_enrollment
from tests.workflows.scenarios import start_env

#: What the tests' lookup says: `quote_requested` triggers trade_intro (and nothing else does).
TRIGGERS = {"quote_requested": [TriggeredSequence("trade_intro", Trigger("quote_requested"))]}


def lookup(name: str) -> list[TriggeredSequence]:
    return TRIGGERS.get(name, [])


@pytest.fixture
def service(engine: sa.Engine) -> BusinessEventService:
    return BusinessEventService(engine, triggers=lookup)


@pytest.fixture
def contact(engine: sa.Engine) -> Contact:
    return make_contact(engine, external_id=f"crm-{uuid.uuid4().hex[:8]}")


def event(who: Contact | None = None, **kw: Any) -> dict[str, Any]:
    """A posted item about `who` (by id; `contact=` names the contact otherwise)."""
    values: dict[str, Any] = {"id": f"evt-{uuid.uuid4()}", "name": "meeting_booked"}
    if who is not None:
        values["contact"] = {"id": str(who.id)}
    return values | kw


def stored_events(engine: sa.Engine) -> list[BusinessEvent]:
    with session_scope(engine) as s:
        return list(s.exec(select(BusinessEvent).order_by(col(BusinessEvent.received_at))).all())


def outbox(engine: sa.Engine) -> list[Event]:
    with session_scope(engine) as s:
        return list(s.exec(select(Event).where(Event.kind == "business").order_by(Event.id)).all())


def trigger_rows(engine: sa.Engine) -> list[TriggerEnrollment]:
    with session_scope(engine) as s:
        return list(s.exec(select(TriggerEnrollment)).all())


def end_enrollment(engine: sa.Engine, workflow_id: str) -> None:
    with session_scope(engine) as s:
        row = s.get(Enrollment, workflow_id)
        assert row is not None
        row.outcome, row.ended_at = "completed", utcnow()
        s.add(row)


# --- once per key ----------------------------------------------------------------------------------


def test_an_event_is_stored_once_and_a_repost_is_a_duplicate_of_it(
    engine: sa.Engine, service: BusinessEventService, contact: Contact
) -> None:
    item = event(contact, properties={"room": "B2"})

    first = service.store([item]).results[0]
    again = service.store([item]).results[0]

    assert first.status == ItemStatus.STORED
    assert again.status == ItemStatus.DUPLICATE
    assert again.event_id == first.event_id
    assert again.key == item["id"]
    [row] = stored_events(engine)
    assert (row.id, row.key, row.name, row.contact_id) == (
        first.event_id,
        item["id"],
        "meeting_booked",
        contact.id,
    )
    assert row.properties == {"room": "B2"}


def test_the_same_key_twice_in_one_batch_stores_the_first(
    engine: sa.Engine, service: BusinessEventService, contact: Contact
) -> None:
    item = event(contact)

    report = service.store([item, item | {"name": "order_placed"}])

    assert [r.status for r in report.results] == [ItemStatus.STORED, ItemStatus.DUPLICATE]
    assert [e.name for e in stored_events(engine)] == ["meeting_booked"]


def test_occurred_at_is_kept_and_defaults_to_when_it_was_received(
    engine: sa.Engine, service: BusinessEventService, contact: Contact
) -> None:
    at = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    before = utcnow()

    service.store([event(contact, occurred_at=at.isoformat()), event(contact)])

    given, defaulted = stored_events(engine)
    assert given.occurred_at == at
    assert defaulted.occurred_at >= before
    assert defaulted.occurred_at == defaulted.received_at


# --- who it is about -------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "email", "external_id"])
def test_the_contact_is_found_by_id_address_or_external_id(
    engine: sa.Engine, service: BusinessEventService, contact: Contact, by: str
) -> None:
    refs = {
        "id": str(contact.id),
        "email": contact.email.upper(),
        "external_id": contact.external_id,
    }

    result = service.store([event(contact={by: refs[by]})]).results[0]

    assert result.status == ItemStatus.STORED, result.reason
    assert stored_events(engine)[0].contact_id == contact.id


@pytest.mark.parametrize(
    "ref",
    [{"id": str(uuid.uuid4())}, {"email": "nobody@example.org"}, {"external_id": "crm-missing"}],
    ids=["id", "email", "external_id"],
)
def test_an_unknown_contact_is_rejected_and_nothing_is_created(
    engine: sa.Engine, service: BusinessEventService, ref: dict[str, str]
) -> None:
    result = service.store([event(contact=ref)]).results[0]

    assert result.status == ItemStatus.REJECTED
    assert result.unknown_contact
    assert result.reason is not None
    assert result.reason.startswith("unknown contact")
    assert "nobody@example.org" not in result.reason  # describe() never echoes an address
    assert stored_events(engine) == []
    with session_scope(engine) as s:
        assert s.exec(select(Contact)).all() == []


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "id:"),
        ({"id": ""}, "id:"),
        ({"id": "x" * 201}, "id:"),
        ({"id": "evt\x00nul"}, "id: control characters"),
        ({"name": "Meeting Booked"}, "not lowercase snake_case"),
        ({"name": "m" * 65}, "name:"),
        ({"name": "click"}, "ESP event kind"),
        ({"contact": {}}, "contact: contact takes exactly one of id, email, external_id"),
        ({"contact": {"email": "a@b.example", "external_id": "c"}}, "exactly one"),
        ({"contact": {"email": "not an address"}}, "contact.email:"),
        ({"occurred_at": "2026-11-30T09:15:00"}, "occurred_at:"),
        ({"occurred_at": "yesterday"}, "occurred_at:"),
        ({"properties": ["a"]}, "properties:"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_an_invalid_item_is_rejected_with_its_reason_and_the_valid_ones_are_stored(
    engine: sa.Engine,
    service: BusinessEventService,
    contact: Contact,
    change: dict[str, Any],
    reason: str,
) -> None:
    bad = {k: v for k, v in (event(contact) | change).items() if v is not None}
    good = event(contact)

    report = service.store([good, bad, event(contact)])

    assert [r.status for r in report.results] == [
        ItemStatus.STORED,
        ItemStatus.REJECTED,
        ItemStatus.STORED,
    ]
    rejected = report.results[1]
    assert rejected.reason is not None
    assert reason in rejected.reason
    assert not rejected.unknown_contact
    assert (report.stored, report.duplicates, report.rejected) == (2, 0, 1)
    assert len(stored_events(engine)) == 2


def test_an_item_that_is_not_an_object_is_rejected(service: BusinessEventService) -> None:
    report = service.store(["meeting_booked", 42, None])

    assert [r.reason for r in report.results] == ["each event must be a JSON object"] * 3
    assert [r.key for r in report.results] == [None, None, None]


# --- forwarding through the outbox -----------------------------------------------------------------


def test_one_outbox_row_per_live_enrollment_of_the_contact(
    engine: sa.Engine, service: BusinessEventService, contact: Contact
) -> None:
    live = make_enrollment(engine, contact, "trade_intro")
    ended = make_enrollment(engine, contact, "other_sequence")
    end_enrollment(engine, ended)
    someone_else = make_enrollment(engine, make_contact(engine), "trade_intro")

    result = service.store([event(contact)]).results[0]

    [row] = outbox(engine)
    assert row.workflow_id == live
    assert row.workflow_id not in (ended, someone_else)
    assert row.esp_event_id == f"business:{result.event_id}:{live}"
    assert (row.esp_type, row.kind, row.signal) == ("business", "business", EventSignal.ENGAGEMENT)
    assert row.contact_id == contact.id
    assert row.forwarded_at is None
    assert result.forwarded_to == 1
    assert stored_events(engine)[0].forwarded_to == 1


def test_the_payload_carries_id_name_and_time_never_properties_or_key(
    engine: sa.Engine, service: BusinessEventService, contact: Contact
) -> None:
    make_enrollment(engine, contact, "trade_intro")
    key = f"booking-for-{contact.email}"
    at = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    secret = "Frau Schmidt's mobile +49 170 1234567"

    result = service.store(
        [event(contact, id=key, occurred_at=at.isoformat(), properties={"note": secret})]
    ).results[0]

    [row] = outbox(engine)
    assert row.payload == {
        "kind": EventKind.BUSINESS.value,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "message_id": None,
        "esp_event_id": f"business:{result.event_id}",
        "bounce_class": None,
        "machine_open": False,
        "auto_reply": False,
        "url": None,
        "resume_at": None,
        "name": "meeting_booked",
        "reply_intent": None,
        "event_id": str(result.event_id),
    }
    stored = json.dumps([row.payload, row.details])
    assert secret not in stored
    assert key not in stored
    assert contact.email not in stored


def test_no_outbox_row_without_a_live_enrollment_and_none_for_a_duplicate(
    engine: sa.Engine, service: BusinessEventService, contact: Contact
) -> None:
    item = event(contact)
    report = service.store([item])
    assert report.signals_queued == 0
    assert outbox(engine) == []

    make_enrollment(engine, contact, "trade_intro")
    again = service.store([item])

    assert again.results[0].status == ItemStatus.DUPLICATE
    assert again.signals_queued == 0
    assert outbox(engine) == []


# --- triggers --------------------------------------------------------------------------------------


def test_a_triggering_event_queues_a_pending_row_leased_to_the_caller(
    engine: sa.Engine, service: BusinessEventService, contact: Contact
) -> None:
    before = utcnow()

    report = service.store([event(contact, name="quote_requested"), event(contact)])

    quote, meeting = report.results
    assert quote.triggers == ["trade_intro"]
    assert meeting.triggers == []
    assert report.triggered_event_ids == [quote.event_id]
    [row] = trigger_rows(engine)
    assert (row.event_id, row.sequence, row.status) == (
        quote.event_id,
        "trade_intro",
        TriggerStatus.PENDING,
    )
    assert row.claimed_until is not None
    assert before + LEASE <= row.claimed_until <= utcnow() + LEASE
    assert (row.attempts, row.workflow_id, row.reason) == (0, None, None)


def test_a_reposted_triggering_event_queues_nothing_more(
    engine: sa.Engine, service: BusinessEventService, contact: Contact
) -> None:
    item = event(contact, name="quote_requested")
    service.store([item])

    again = service.store([item])

    assert again.results[0].triggers == []
    assert again.triggered_event_ids == []
    assert len(trigger_rows(engine)) == 1


def test_a_rejected_item_queues_nothing(engine: sa.Engine, service: BusinessEventService) -> None:
    service.store([event(name="quote_requested", contact={"external_id": "nope"})])

    assert trigger_rows(engine) == []
    assert outbox(engine) == []


# --- on to the workflow ----------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_env()
    try:
        yield environment
    finally:
        await environment.shutdown()


async def test_the_forwarder_signals_the_event_without_its_properties(
    engine: sa.Engine,
    service: BusinessEventService,
    contact: Contact,
    temporal: WorkflowEnvironment,
) -> None:
    workflow_id = make_enrollment(engine, contact, "trade_intro")
    # Started on a queue no worker polls: it stays open and records the signals it gets.
    await temporal.client.start_workflow(
        "trade_intro", id=workflow_id, task_queue=f"nobody-{uuid.uuid4()}"
    )
    result = service.store([event(contact, properties={"incoterm": "FOB Ningbo"})]).results[0]

    async def connect() -> Any:
        return temporal.client

    passed = await EventForwarder(engine, connect).forward_pending()

    assert passed.forwarded == 1
    history = await temporal.client.get_workflow_handle(workflow_id).fetch_history()
    [signal] = [
        e.workflow_execution_signaled_event_attributes
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert signal.signal_name == EVENTS_SIGNAL
    [carried] = json.loads(signal.input.payloads[0].data)
    assert (carried["kind"], carried["name"], carried["event_id"]) == (
        "business",
        "meeting_booked",
        str(result.event_id),
    )
    assert "FOB Ningbo" not in str(history)
    assert all(r.forwarded_at is not None for r in outbox(engine))
    assert timedelta() <= utcnow() - outbox(engine)[0].received_at < timedelta(minutes=1)
