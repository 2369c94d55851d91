"""GDPR export and erasure, on each DB backend: after erasure no column of any table holds the
person, the address stays suppressed by hash, and live enrollments get a durable cancel."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

import models.tables  # noqa: F401  (every table registered in the metadata)
from activities.contacts.consent import check_consent
from activities.contacts.privacy import ERASURE_REASON, PrivacyService
from activities.enrollment.sending import SendingService
from models.db import session_scope
from models.enrollment import enrollment_workflow_id
from models.errors import ContactNotFound, ContactSuppressed, InvalidInput
from models.tables import (
    BusinessEvent,
    ConsentAction,
    ConsentRecord,
    Contact,
    Enrollment,
    Event,
    EventSignal,
    Suppression,
    SuppressionReason,
    address_hash,
    utcnow,
)
from tests.factories import make_contact, make_enrollment, make_sender, sending_service, step_input
from tests.sim_fixtures import SIM_API_KEY

FIRST, LAST = "Annegret", "Quastenberg"
COMPANY = "Quastenberg Hydraulik GmbH"
NOTE = "prefers Zollverein fittings"
EXTERNAL_ID = "hubspot-contact-5501"


@dataclass
class Person:
    contact: Contact
    live_workflow_id: str
    ended_workflow_id: str
    message_id: str

    @property
    def needles(self) -> list[str]:
        """What must not survive erasure anywhere in the database."""
        return [self.contact.email, FIRST, LAST, COMPANY, NOTE, EXTERNAL_ID]


@pytest.fixture
def sending(engine: sa.Engine, sim: Any) -> SendingService:
    make_sender(engine)
    return sending_service(engine, sim.url, SIM_API_KEY)


@pytest.fixture
def person(engine: sa.Engine, sending: SendingService) -> Person:
    """A contact with consent, a sent (rendered) message, events, a live and an ended enrollment."""
    contact = make_contact(
        engine,
        email=f"a.quastenberg-{utcnow().timestamp():.0f}@hydraulik.example.de",
        first_name=FIRST,
        last_name=LAST,
        company=COMPANY,
        custom={"note": NOTE},
        external_id=EXTERNAL_ID,
    )
    with session_scope(engine) as s:
        s.add(
            BusinessEvent(
                key=f"crm-meeting-{contact.id}",
                name="meeting_booked",
                contact_id=contact.id,
                occurred_at=utcnow(),
                properties={"booked_by": f"{FIRST} {LAST}", "room": "Halle 7"},
            )
        )
        s.add(
            ConsentRecord(
                contact_id=contact.id,
                action=ConsentAction.CONFIRMED,
                source="double opt-in",
                recorded_at=utcnow() + timedelta(seconds=1),
            )
        )
    live = make_enrollment(engine, contact)
    ended = make_enrollment(engine, contact, sequence="reactivation")
    with session_scope(engine) as s:
        row = s.get(Enrollment, ended)
        assert row is not None
        row.outcome, row.ended_at = "completed", utcnow()
    step = step_input(contact)
    sending.send_step(step)
    now = utcnow()
    with session_scope(engine) as s:
        s.add(
            Event(
                esp_event_id="evt-open-1",
                esp_type="open",
                kind="open",
                message_id=step.message_id,
                workflow_id=live,
                contact_id=contact.id,
                occurred_at=now,
                details={"sg_machine_open": False},
                forwarded_at=now,
            )
        )
        # Stored before its message was known, correlated later by message id only.
        s.add(
            Event(
                esp_event_id="evt-delivered-1",
                esp_type="delivered",
                kind="delivered",
                message_id=step.message_id,
                contact_id=None,
                occurred_at=now,
                details={"response": f"250 ok {contact.email}"},
                forwarded_at=now,
            )
        )
    return Person(contact, live, ended, step.message_id)


def text_cells(engine: sa.Engine) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text or JSON cell in every table."""
    cells = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            columns = list(table.columns)
            for row in conn.execute(sa.select(*columns)):
                cells.extend(
                    (
                        table.name,
                        c.name,
                        v if isinstance(v, str) else json.dumps(v, ensure_ascii=False),
                    )
                    for c, v in zip(columns, row, strict=True)
                    if isinstance(v, (str, dict, list))
                )
    return cells


def holders(engine: sa.Engine, needles: list[str]) -> list[tuple[str, str, str]]:
    lowered = [n.lower() for n in needles]
    return [
        (table, column, needle)
        for table, column, value in text_cells(engine)
        for needle in lowered
        if needle in value.lower()
    ]


def test_person_is_held_in_many_tables_before_erasure(engine, person):
    # The scan below is only worth something if it sees the person where they are.
    found = {(table, column) for table, column, _ in holders(engine, person.needles)}
    assert {("contact", "email"), ("contact", "custom"), ("message", "body_text")} <= found
    assert ("message", "body_html") in found
    assert ("event", "details") in found
    assert {("contact", "external_id"), ("business_event", "properties")} <= found


def test_erase_leaves_no_personal_data_in_any_table(engine, person):
    report = PrivacyService(engine).erase(person.contact.id)

    assert report.erased
    assert report.contact_id == person.contact.id
    assert holders(engine, person.needles) == []
    with session_scope(engine) as s:
        assert s.get(Contact, person.contact.id) is None
        assert s.exec(select(Enrollment)).all() == []
        assert s.exec(select(ConsentRecord)).all() == []
        assert s.exec(select(Event).where(Event.message_id == person.message_id)).all() == []
    assert report.messages_deleted == 1
    assert report.consent_records_deleted == 2
    assert report.enrollments_deleted == 2
    assert report.events_deleted == 2
    assert report.business_events_deleted == 1
    with session_scope(engine) as s:
        assert s.exec(select(BusinessEvent)).all() == []


def test_erase_keeps_the_address_suppressed_by_hash(engine, person):
    report = PrivacyService(engine).erase(person.contact.id)

    assert report.suppression_added
    with session_scope(engine) as s:
        row = s.get(Suppression, address_hash(person.contact.email.upper()))
        assert row is not None
        assert row.reason == SuppressionReason.ERASED
        # A check_consent-style lookup for a new contact with that address refuses it.
        again = Contact(email=person.contact.email)
        s.add(again)
        s.flush()
        s.add(ConsentRecord(contact_id=again.id, action=ConsentAction.GRANTED, source="re-import"))
        s.flush()
        with pytest.raises(ContactSuppressed):
            check_consent(s, again)


def test_erase_does_not_replace_an_existing_suppression(engine, person):
    with session_scope(engine) as s:
        s.add(
            Suppression(
                address_hash=address_hash(person.contact.email),
                reason=SuppressionReason.COMPLAINT,
            )
        )
    report = PrivacyService(engine).erase(person.contact.email)

    assert report.erased
    assert not report.suppression_added
    with session_scope(engine) as s:
        row = s.get(Suppression, address_hash(person.contact.email))
        assert row is not None
        assert row.reason == SuppressionReason.COMPLAINT


def test_erase_queues_a_durable_cancel_for_each_live_enrollment_only(engine, person):
    report = PrivacyService(engine).erase(person.contact.id)

    assert report.enrollments_cancelled == 1
    with session_scope(engine) as s:
        cancels = s.exec(select(Event).where(Event.signal == EventSignal.CANCEL)).all()
    [cancel] = cancels
    assert cancel.workflow_id == person.live_workflow_id
    assert cancel.contact_id is None
    assert cancel.forwarded_at is None
    assert cancel.payload == {"reason": ERASURE_REASON}
    assert cancel.esp_type == "erasure"
    assert cancel.esp_event_id == f"erase-{person.contact.id}-{person.live_workflow_id}"


def test_after_erasure_the_send_step_finds_no_contact(engine, person, sending, sim):
    PrivacyService(engine).erase(person.contact.id)

    with pytest.raises(ContactNotFound):
        sending.send_step(step_input(person.contact, step="follow_up"))


def test_a_new_contact_with_an_erased_address_is_refused_at_send_time(engine, person, sending, sim):
    PrivacyService(engine).erase(person.contact.id)
    sim.reset()
    newcomer = make_contact(engine, email=person.contact.email)

    with pytest.raises(ContactSuppressed):
        sending.send_step(
            step_input(newcomer, workflow_id=enrollment_workflow_id("trade_intro", newcomer.id))
        )


def test_erase_by_address_normalises_it(engine, person):
    report = PrivacyService(engine).erase(f"  {person.contact.email.upper()} ")

    assert report.erased
    assert report.contact_id == person.contact.id
    assert holders(engine, person.needles) == []


def test_erasing_twice_or_an_unknown_contact_changes_nothing(engine, person):
    service = PrivacyService(engine)
    service.erase(person.contact.id)
    before = text_cells(engine)

    again = service.erase(person.contact.id)
    by_address = service.erase(person.contact.email)
    stranger = service.erase("nobody@unknown.example.org")

    assert not again.erased
    assert again.contact_id == person.contact.id
    assert not by_address.erased
    assert by_address.contact_id is None
    assert not stranger.erased
    assert sorted(text_cells(engine)) == sorted(before)


def test_erase_refuses_something_that_is_not_an_address(engine):
    with pytest.raises(InvalidInput):
        PrivacyService(engine).erase("not an address")


def test_erase_leaves_other_contacts_alone(engine, person):
    other = make_contact(engine, first_name="Bernd", company="Other GmbH")
    other_workflow = make_enrollment(engine, other)

    PrivacyService(engine).erase(person.contact.id)

    with session_scope(engine) as s:
        assert s.get(Contact, other.id) is not None
        assert s.get(Enrollment, other_workflow) is not None
        assert s.exec(select(ConsentRecord).where(ConsentRecord.contact_id == other.id)).all()


def test_export_holds_everything_on_the_person(engine, person):
    data = PrivacyService(engine).export(person.contact.id)

    assert data["generated_at"]
    contact = data["contact"]
    assert contact["email"] == person.contact.email
    assert (contact["first_name"], contact["last_name"], contact["company"]) == (
        FIRST,
        LAST,
        COMPANY,
    )
    assert contact["custom"] == {"note": NOTE}
    assert [c["action"] for c in data["consents"]] == ["granted", "confirmed"]
    assert data["consents"][0]["source"] == "trade fair Hannover 2026, badge scan"
    assert data["suppression"] == {"suppressed": False, "reason": None, "since": None}
    enrollments = {e["workflow_id"]: e for e in data["enrollments"]}
    assert enrollments.keys() == {person.live_workflow_id, person.ended_workflow_id}
    assert enrollments[person.ended_workflow_id]["outcome"] == "completed"
    assert enrollments[person.live_workflow_id]["sequence"] == "trade_intro"
    [message] = data["messages"]
    assert message["step"] == "intro"
    assert message["status"] == "sent"
    assert message["sent_at"]
    assert COMPANY in message["subject"]
    assert FIRST in message["body_text"]
    assert sorted(e["kind"] for e in data["events"]) == ["delivered", "open"]
    assert all(e["occurred_at"] and "details" in e for e in data["events"])
    assert contact["external_id"] == EXTERNAL_ID
    [business] = data["business_events"]
    assert business["name"] == "meeting_booked"
    assert business["properties"] == {"booked_by": f"{FIRST} {LAST}", "room": "Halle 7"}


def test_export_is_json_serialisable(engine, person):
    data = PrivacyService(engine).export(person.contact.email)
    assert json.loads(json.dumps(data)) == data


def test_export_shows_the_suppression_of_the_address(engine, person):
    with session_scope(engine) as s:
        s.add(
            Suppression(
                address_hash=address_hash(person.contact.email),
                reason=SuppressionReason.HARD_BOUNCE,
            )
        )
    data = PrivacyService(engine).export(person.contact.id)
    assert data["suppression"]["suppressed"]
    assert data["suppression"]["reason"] == "hard_bounce"


def test_export_of_an_unknown_or_erased_contact_is_not_known(engine, person):
    service = PrivacyService(engine)
    service.erase(person.contact.id)
    with pytest.raises(ContactNotFound, match=f"no contact {person.contact.id} "):
        service.export(person.contact.id)
    with pytest.raises(ContactNotFound, match="no contact with that address") as refused:
        service.export("nobody@unknown.example.org")
    assert "nobody" not in str(refused.value)


def test_erase_frees_the_external_id_for_a_new_contact(engine, person):
    from activities.contacts.importing import import_rows, iter_records
    from activities.contacts.store import external_id_holder

    PrivacyService(engine).erase(person.contact.id)

    with session_scope(engine) as s:
        assert external_id_holder(s, EXTERNAL_ID) is None
    newcomer = {"email": "successor@hydraulik.example.de", "external_id": EXTERNAL_ID}
    report = import_rows(engine, iter_records([newcomer]))
    assert (report.created, report.rejected) == (1, [])
    with session_scope(engine) as s:
        holder = external_id_holder(s, EXTERNAL_ID)
        assert holder is not None
        assert holder.email == "successor@hydraulik.example.de"
