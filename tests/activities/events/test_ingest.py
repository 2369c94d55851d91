"""EventIngestService, called directly: each ESP event stored once, correlated in the documented
order (custom arg, sg_message_id, smtp-id, workflow custom arg, address), kept when it matches
nothing, its effects (suppression, consent withdrawal) committed with its outbox row, and a batch
that fails part-way leaves nothing behind."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

import activities.events.ingest as ingest_module
from activities.events.esp_events import parse_event_batch
from activities.events.ingest import Correlation, EventIngestService, Incoming
from models.db import session_scope
from models.esp_events import EspEvent
from models.events import EngagementEvent, EventKind
from models.tables import (
    ConsentAction,
    ConsentRecord,
    Contact,
    Enrollment,
    Event,
    EventSignal,
    Message,
    Suppression,
    SuppressionReason,
    address_hash,
    utcnow,
)
from tests.factories import (
    make_contact,
    make_enrollment,
    make_sender,
    make_sent_message,
    sendgrid_event,
)


@pytest.fixture
def service(engine: sa.Engine) -> EventIngestService:
    make_sender(engine)
    return EventIngestService(engine)


@pytest.fixture
def contact(engine: sa.Engine, service: EventIngestService) -> Contact:
    return make_contact(engine)


@pytest.fixture
def message(engine: sa.Engine, contact: Contact) -> Message:
    return make_sent_message(engine, contact)


def esp(*items: dict[str, Any]) -> list[EspEvent]:
    """Webhook items (as `sendgrid_event` shapes them), parsed as the webhook parses them."""
    return parse_event_batch(json.dumps(list(items)).encode())


def events(engine: sa.Engine) -> list[Event]:
    with session_scope(engine) as s:
        return list(s.exec(select(Event).order_by(Event.id)).all())


def suppression(engine: sa.Engine, email: str) -> Suppression | None:
    with session_scope(engine) as s:
        return s.get(Suppression, address_hash(email))


def consent_actions(engine: sa.Engine, contact: Contact) -> list[ConsentAction]:
    with session_scope(engine) as s:
        rows = s.exec(
            select(ConsentRecord)
            .where(ConsentRecord.contact_id == contact.id)
            .order_by(ConsentRecord.id)
        ).all()
    return [r.action for r in rows]


# --- once per ESP event id -----------------------------------------------------------------------


def test_an_esp_event_id_seen_again_is_stored_once_in_a_later_batch_or_the_same_one(
    engine, service, message, contact
) -> None:
    delivered = sendgrid_event("delivered", message, email=contact.email)
    open_ = sendgrid_event("open", message, email=contact.email)

    first = service.ingest_esp_events(esp(delivered, open_, delivered))
    again = service.ingest_esp_events(esp(open_, delivered))

    assert (first.stored, first.duplicates) == (2, 1)
    assert (again.stored, again.duplicates) == (0, 2)
    assert again.event_ids == []
    assert [e.kind for e in events(engine)] == ["delivered", "open"]
    assert len(first.event_ids) == 1  # the open: a delivery is never signalled


@pytest.mark.parametrize("kind", ["processed", "delivered", "deferred", "dropped"])
def test_delivery_events_stay_in_sql_and_are_never_queued_for_the_workflow(
    engine, service, message, contact, kind
) -> None:
    result = service.ingest_esp_events(esp(sendgrid_event(kind, message, email=contact.email)))

    assert (result.stored, result.event_ids) == (1, [])
    [row] = events(engine)
    assert (row.kind, row.workflow_id) == (kind, message.workflow_id)
    assert row.payload is None
    assert row.forwarded_at is not None


@pytest.mark.parametrize("kind", ["open", "click", "bounce", "unsubscribe", "spamreport"])
def test_events_that_can_change_a_workflow_are_queued_for_it(
    engine, service, message, contact, kind
) -> None:
    result = service.ingest_esp_events(esp(sendgrid_event(kind, message, email=contact.email)))

    assert len(result.event_ids) == 1
    [row] = events(engine)
    assert row.payload is not None
    assert row.forwarded_at is None


def test_events_without_an_esp_id_are_deduplicated_by_what_identifies_them(
    engine, service, message, contact
) -> None:
    item = sendgrid_event("open", message, email=contact.email, timestamp=1_795_442_521)
    del item["sg_event_id"]

    assert service.ingest_esp_events(esp(item)).stored == 1
    assert service.ingest_esp_events(esp(item)).duplicates == 1
    [row] = events(engine)
    assert row.esp_event_id.startswith("digest-")


def test_a_repeated_unsubscribe_withdraws_consent_once(engine, service, message, contact) -> None:
    item = sendgrid_event("unsubscribe", message, email=contact.email)
    service.ingest_esp_events(esp(item))
    service.ingest_esp_events(esp(item))
    assert consent_actions(engine, contact) == [ConsentAction.GRANTED, ConsentAction.WITHDRAWN]


# --- correlation order ---------------------------------------------------------------------------


@pytest.fixture
def four_messages(engine: sa.Engine, service: EventIngestService) -> dict[str, Message]:
    """Four messages to four contacts: each correlation key of one event names another."""
    return {
        key: make_sent_message(engine, make_contact(engine))
        for key in ("custom_arg", "sg_message_id", "smtp_id", "email")
    }


def crossed_event(engine: sa.Engine, messages: dict[str, Message], *keys: str) -> dict[str, Any]:
    """An open whose correlation keys in `keys` each point at a different message."""
    item = sendgrid_event("open", None, email="nobody@nowhere.example")
    if "custom_arg" in keys:
        item["nurture_message_id"] = messages["custom_arg"].id
        item["nurture_workflow_id"] = messages["custom_arg"].workflow_id
    if "sg_message_id" in keys:
        item["sg_message_id"] = f"{messages['sg_message_id'].esp_message_id}.filterdrecv-1-2.0"
    if "smtp_id" in keys:
        item["smtp-id"] = messages["smtp_id"].rfc_message_id
    if "email" in keys:
        with session_scope(engine) as s:
            item["email"] = s.get(Contact, messages["email"].contact_id).email.upper()
    return item


@pytest.mark.parametrize(
    ("keys", "winner"),
    [
        (("custom_arg", "sg_message_id", "smtp_id", "email"), "custom_arg"),
        (("sg_message_id", "smtp_id", "email"), "sg_message_id"),
        (("smtp_id", "email"), "smtp_id"),
        (("email",), "email"),
    ],
    ids=["custom-arg-first", "then-sg_message_id", "then-smtp-id", "then-address"],
)
def test_correlation_takes_custom_arg_then_sg_message_id_then_smtp_id_then_address(
    engine, service, four_messages, keys, winner
) -> None:
    result = service.ingest_esp_events(esp(crossed_event(engine, four_messages, *keys)))

    expected = four_messages[winner]
    [row] = events(engine)
    assert (row.message_id, row.workflow_id, row.contact_id) == (
        expected.id,
        expected.workflow_id,
        expected.contact_id,
    )
    # The workflow learns which message it was, even when the ESP did not say.
    assert row.payload is not None
    assert row.payload["message_id"] == expected.id
    assert result.uncorrelated == 0
    assert result.event_ids == [row.id]


def test_a_custom_arg_naming_no_message_falls_through_to_sg_message_id(
    engine, service, four_messages
) -> None:
    item = crossed_event(engine, four_messages, "sg_message_id", "email")
    item["nurture_message_id"] = "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"  # well-formed, not ours
    service.ingest_esp_events(esp(item))
    [row] = events(engine)
    assert row.message_id == four_messages["sg_message_id"].id


def test_the_workflow_custom_arg_alone_correlates_to_its_enrollment(
    engine, service, contact
) -> None:
    workflow_id = make_enrollment(engine, contact)
    item = sendgrid_event("open", None, email="nobody@nowhere.example")
    item["nurture_workflow_id"] = workflow_id
    result = service.ingest_esp_events(esp(item))
    [row] = events(engine)
    assert (row.workflow_id, row.contact_id, row.message_id) == (workflow_id, contact.id, None)
    assert row.forwarded_at is None
    assert result.uncorrelated == 0


def test_by_address_the_live_enrollment_wins_over_a_newer_message_of_an_ended_one(
    engine, service, contact
) -> None:
    live = make_sent_message(engine, contact, sequence="trade_intro")
    ended = make_sent_message(engine, contact, sequence="reorder_nudge")
    with session_scope(engine) as s:
        enrollment = s.get(Enrollment, ended.workflow_id)
        enrollment.outcome = "completed"
        s.add(enrollment)
        newer = s.get(Message, ended.id)
        newer.created_at = utcnow() + timedelta(minutes=5)
        s.add(newer)

    service.ingest_esp_events(esp(sendgrid_event("open", None, email=contact.email)))

    [row] = events(engine)
    assert row.message_id == live.id
    assert row.workflow_id == live.workflow_id


def test_an_event_for_no_known_message_is_kept_counted_uncorrelated_and_never_forwarded(
    engine, service, message
) -> None:
    stranger = sendgrid_event("click", None, email="stranger@nowhere.example")
    stranger["sg_message_id"] = "Xunknownunknownunknown.filterdrecv-1-2.0"
    result = service.ingest_esp_events(esp(stranger))

    assert (result.stored, result.uncorrelated, result.event_ids) == (1, 1, [])
    [row] = events(engine)
    assert row.kind == "click"
    assert row.workflow_id is None
    assert row.message_id is None
    assert row.payload is None
    assert row.forwarded_at is not None  # nothing for the forwarder to signal


def test_an_unknown_event_type_is_kept_as_ignored_and_not_forwarded(
    engine, service, message, contact
) -> None:
    result = service.ingest_esp_events(esp(sendgrid_event("brand_new_kind", message)))
    assert (result.stored, result.ignored, result.uncorrelated) == (1, 1, 0)
    [row] = events(engine)
    assert row.kind is None
    assert row.forwarded_at is not None
    assert row.payload is None


# --- effects, committed with the outbox row ------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "reason", "withdrawn"),
    [
        ({"event": "bounce", "status": "5.1.1", "type": "bounce"}, "hard_bounce", False),
        ({"event": "spamreport"}, "complaint", False),
        ({"event": "unsubscribe"}, "unsubscribe", True),
        ({"event": "group_unsubscribe", "asm_group_id": 12}, "unsubscribe", True),
        ({"event": "dropped", "reason": "Bounced Address"}, "hard_bounce", False),
        ({"event": "dropped", "reason": "Spam Reporting Address"}, "complaint", False),
    ],
    ids=["hard-bounce", "complaint", "unsubscribe", "group-unsubscribe", "dropped", "dropped-spam"],
)
def test_an_event_that_ends_mailing_suppresses_the_address_with_its_outbox_row(
    engine, service, message, contact, item, reason, withdrawn
) -> None:
    kind, fields = item["event"], {k: v for k, v in item.items() if k != "event"}
    result = service.ingest_esp_events(esp(sendgrid_event(kind, message, **fields)))

    assert suppression(engine, contact.email).reason == SuppressionReason(reason)
    [row] = events(engine)
    if kind == "dropped":  # changes nothing a workflow does: the suppression stops its sends
        assert (result.event_ids, row.forwarded_at is None) == ([], False)
    else:
        assert result.event_ids == [row.id]
        assert row.forwarded_at is None  # queued for the workflow
    assert (consent_actions(engine, contact)[-1] == ConsentAction.WITHDRAWN) is withdrawn
    if withdrawn:
        with session_scope(engine) as s:
            record = s.exec(
                select(ConsentRecord).where(ConsentRecord.action == ConsentAction.WITHDRAWN)
            ).one()
        assert record.evidence == f"message {message.id}"
        assert kind in record.source


def test_a_block_or_soft_bounce_does_not_suppress_the_recipient(
    engine, service, message, contact
) -> None:
    service.ingest_esp_events(
        esp(
            sendgrid_event("bounce", message, status="5.7.1", type="blocked"),
            sendgrid_event("bounce", message, status="4.2.2", type="bounce"),
        )
    )
    assert suppression(engine, contact.email) is None
    assert [r.details["bounce_class"] for r in events(engine)] == ["block", "soft"]


def test_soft_bounces_suppress_at_the_configured_limit(engine, message, contact) -> None:
    service = EventIngestService(engine, soft_bounce_limit=2)
    soft = {"status": "4.2.2", "type": "bounce"}
    service.ingest_esp_events(esp(sendgrid_event("bounce", message, **soft)))
    assert suppression(engine, contact.email) is None
    service.ingest_esp_events(esp(sendgrid_event("bounce", message, **soft)))
    assert suppression(engine, contact.email).reason == SuppressionReason.SOFT_BOUNCES


def test_opens_clicks_and_deliveries_change_nothing_but_the_event_table(
    engine, service, message, contact
) -> None:
    service.ingest_esp_events(
        esp(
            sendgrid_event("delivered", message),
            sendgrid_event("open", message),
            sendgrid_event("click", message, url="https://example.com/catalogue"),
        )
    )
    assert suppression(engine, contact.email) is None
    assert consent_actions(engine, contact) == [ConsentAction.GRANTED]
    assert len(events(engine)) == 3


@pytest.mark.parametrize(
    "first",
    [
        {"event": "bounce", "status": "5.1.1", "type": "bounce"},
        {"event": "spamreport"},
        {"event": "unsubscribe"},
    ],
    ids=["hard-bounce", "complaint", "unsubscribe"],
)
def test_a_batch_failing_part_way_leaves_no_event_suppression_or_consent_behind(
    engine, service, message, contact, monkeypatch, first
) -> None:
    """The batch is one transaction: the effects of its first item go with its outbox row."""
    real_correlate = ingest_module.correlate

    def correlate_failing_on_the_bad_item(session, esp_event):
        if esp_event.esp_event_id == "evt-bad":
            raise RuntimeError("database connection lost")
        return real_correlate(session, esp_event)

    monkeypatch.setattr(ingest_module, "correlate", correlate_failing_on_the_bad_item)
    kind, fields = first["event"], {k: v for k, v in first.items() if k != "event"}
    batch = esp(
        sendgrid_event(kind, message, **fields),
        sendgrid_event("open", message, sg_event_id="evt-bad"),
    )

    with pytest.raises(RuntimeError, match="connection lost"):
        service.ingest_esp_events(batch)

    assert events(engine) == []
    assert suppression(engine, contact.email) is None
    assert consent_actions(engine, contact) == [ConsentAction.GRANTED]
    # The ESP posts the batch again; this time it all goes in.
    monkeypatch.setattr(ingest_module, "correlate", real_correlate)
    assert service.ingest_esp_events(batch).stored == 2
    assert suppression(engine, contact.email) is not None


# --- single items (replies, unsubscribes) --------------------------------------------------------


def test_a_human_reply_queues_a_cancel_for_colleagues_when_the_sequence_says_so(
    engine, message, contact
) -> None:
    service = EventIngestService(engine, stops_company_on_reply=lambda seq: seq == "trade_intro")
    domain = contact.email.rsplit("@", 1)[1]
    colleague_wf = make_enrollment(engine, make_contact(engine, email=f"einkauf@{domain}"))
    stranger_wf = make_enrollment(engine, make_contact(engine, email="x@elsewhere.example"))
    now = utcnow()

    result = service.ingest(
        Incoming(
            esp_event_id="reply-1",
            esp_type="reply",
            occurred_at=now,
            event=EngagementEvent(kind=EventKind.REPLY, occurred_at=now, message_id=message.id),
            correlation=Correlation(message.id, message.workflow_id, contact.id),
        )
    )

    rows = events(engine)
    cancels = [r for r in rows if r.signal == EventSignal.CANCEL]
    assert [r.workflow_id for r in cancels] == [colleague_wf]
    assert stranger_wf not in {r.workflow_id for r in rows}
    assert sorted(result.event_ids) == sorted(r.id for r in rows)
