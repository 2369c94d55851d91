"""What a classified reply does, called directly on both databases: an `opt_out` reply is an
unsubscribe (consent withdrawn with the reply as evidence, suppression, every live enrollment of
the contact signalled), `interested` and `wrong_person` queue one notification without the reply's
words, an out-of-office keeps its own handling; a person's correction applies the new intent's
effects once and never re-subscribes. The classifier is plugged in (`ReplyClassifier`) so these
tests pin the effects, not the vocabulary (tests/activities/replies/test_intents.py does that)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from activities.contacts.consent import newest_consent_actions
from activities.events.ingest import EventIngestService
from activities.events.replies import ReplyService
from activities.events.unsubscribing import UnsubscribeService
from activities.replies.corrections import ReplyCorrections
from activities.replies.notices import ReplyNotices
from models.db import session_scope
from models.errors import ReplyNotFound
from models.inbound import InboundMessage
from models.replies import Classification, ReplyClassifier, ReplyIntent
from models.tables import (
    ConsentAction,
    ConsentRecord,
    Contact,
    Enrollment,
    Event,
    Message,
    Notification,
    Reply,
    Suppression,
    SuppressionReason,
    address_hash,
)
from models.tokens import TokenPurpose, sign
from tests.factories import SECRET, make_contact, make_enrollment, make_sender, make_sent_message

RECEIVED = datetime(2026, 11, 23, 14, 2, tzinfo=UTC)
PUBLIC_URL = "https://nurture.example.com"
WORDS = "Bitte nehmen Sie mich aus Ihrem Verteiler, Frau Schmidt"


def fixed(intent: ReplyIntent, *, cue: str = "a test cue") -> ReplyClassifier:
    def classify(text: str, *, subject: str = "") -> Classification:
        return Classification(intent=intent, confidence=0.9, cue=cue, language="de")

    return classify


def service(
    engine: sa.Engine, intent: ReplyIntent, *, notices: bool = True
) -> tuple[ReplyService, EventIngestService]:
    ingest = EventIngestService(engine, reply_notices=ReplyNotices(PUBLIC_URL) if notices else None)
    return ReplyService(engine, ingest, SECRET, classifier=fixed(intent)), ingest


@pytest.fixture
def contact(engine: sa.Engine) -> Contact:
    make_sender(engine)
    return make_contact(engine, email="anna.schmidt@maschinen.example.de")


@pytest.fixture
def message(engine: sa.Engine, contact: Contact) -> Message:
    return make_sent_message(engine, contact)


@pytest.fixture
def other_enrollment(engine: sa.Engine, contact: Contact) -> str:
    """The same contact, live in a second sequence."""
    return make_enrollment(engine, contact, "quote_followup")


def reply_to(message: Message, **fields: Any) -> InboundMessage:
    values: dict[str, Any] = {
        "from_email": "anna.schmidt@maschinen.example.de",
        "subject": "AW: a reliable supplier",
        "text": f"{WORDS}\n\nAm 20.11.2026 schrieb Li Wei:\n> Our price list is attached.",
        "message_id": f"<{uuid.uuid4()}@maschinen.example.de>",
        "reply_tokens": [sign(SECRET, TokenPurpose.REPLY, message.id)],
    } | fields
    return InboundMessage(**values)


def rows(engine: sa.Engine, table: type, *where: Any) -> list[Any]:
    with session_scope(engine) as s:
        return list(s.exec(select(table).where(*where)).all())


def signalled_to(engine: sa.Engine, workflow_id: str) -> list[dict[str, Any]]:
    return [
        e.payload
        for e in rows(engine, Event, Event.workflow_id == workflow_id)
        if e.payload is not None
    ]


# --- at ingest ------------------------------------------------------------------------------------


def test_an_opt_out_reply_is_an_unsubscribe_with_the_reply_as_evidence(
    engine, contact, message, other_enrollment
) -> None:
    replies, _ = service(engine, ReplyIntent.OPT_OUT)
    recorded = replies.record(reply_to(message), received=RECEIVED)

    assert recorded.intent == ReplyIntent.OPT_OUT
    [reply] = rows(engine, Reply)
    assert (reply.intent, reply.classified_intent, reply.cue) == (
        "opt_out",
        "opt_out",
        "a test cue",
    )
    assert reply.text == WORDS  # what they wrote now: the quoted history is not kept
    assert reply.effects_applied == ["opt_out"]
    # Consent withdrawn, pointing at the reply; the address suppressed.
    with session_scope(engine) as s:
        assert newest_consent_actions(s, [contact.id])[contact.id] == ConsentAction.WITHDRAWN
    [withdrawal] = rows(
        engine, ConsentRecord, ConsentRecord.action == ConsentAction.WITHDRAWN.value
    )
    assert withdrawal.source == "reply asking to be removed (opt_out)"
    assert (
        withdrawal.evidence
        == f"reply {rows(engine, Event, Event.id == reply.event_id)[0].esp_event_id}"
    )
    [suppression] = rows(
        engine, Suppression, Suppression.address_hash == address_hash(contact.email)
    )
    assert suppression.reason == SuppressionReason.UNSUBSCRIBE
    # Its own enrollment gets the reply (ending it `unsubscribed`), the other one an unsubscribe.
    [own] = signalled_to(engine, message.workflow_id)
    assert (own["kind"], own["reply_intent"]) == ("reply", "opt_out")
    [other] = signalled_to(engine, other_enrollment)
    assert other["kind"] == "unsubscribe"
    # The words stay in the reply row: no event row, payload or detail carries them.
    for event in rows(engine, Event):
        assert "Verteiler" not in str(event.payload) + str(event.details)
    assert rows(engine, Notification) == []


@pytest.mark.parametrize("intent", [ReplyIntent.INTERESTED, ReplyIntent.WRONG_PERSON])
def test_interested_and_wrong_person_queue_one_notification_without_the_words(
    engine, contact, message, intent
) -> None:
    replies, _ = service(engine, intent)
    first = reply_to(message)
    replies.record(first, received=RECEIVED)
    again = replies.record(first, received=RECEIVED)  # Inbound Parse posts it twice

    assert again.duplicate
    [reply] = rows(engine, Reply)
    [notification] = rows(engine, Notification)
    assert notification.kind == "reply"
    assert notification.payload == {
        "reply_id": reply.id,
        "intent": intent.value,
        "confidence": 0.9,
        "contact_id": str(contact.id),
        "enrollment": message.workflow_id,
        "sequence": "trade_intro",
        "received_at": RECEIVED.isoformat(),
        "link": f"{PUBLIC_URL}/replies/{reply.id}",
    }
    assert contact.email not in str(notification.payload)
    # Nothing else happens to consent or suppression.
    assert rows(engine, Suppression) == []
    with session_scope(engine) as s:
        assert newest_consent_actions(s, [contact.id])[contact.id] != ConsentAction.WITHDRAWN


@pytest.mark.parametrize(
    ("intent", "notices"),
    [
        (ReplyIntent.NEUTRAL, True),
        (ReplyIntent.NOT_INTERESTED, True),
        (ReplyIntent.INTERESTED, False),  # NURTURE_NOTIFY_URL not set: nobody to tell
    ],
)
def test_no_notification_for_other_intents_or_without_a_receiver(
    engine, contact, message, other_enrollment, intent, notices
) -> None:
    replies, _ = service(engine, intent, notices=notices)
    replies.record(reply_to(message), received=RECEIVED)

    assert [r.intent for r in rows(engine, Reply)] == [intent.value]
    assert rows(engine, Notification) == []
    assert rows(engine, Suppression) == []
    assert signalled_to(engine, other_enrollment) == []


def test_an_out_of_office_keeps_its_handling_and_is_stored_as_auto_reply(
    engine, contact, message
) -> None:
    replies, _ = service(
        engine, ReplyIntent.OPT_OUT
    )  # never asked: auto-replies are not classified
    recorded = replies.record(
        reply_to(message, auto_reply=True, auto_reply_reason="Auto-Submitted: auto-replied"),
        received=RECEIVED,
    )

    assert recorded.intent == ReplyIntent.AUTO_REPLY
    [reply] = rows(engine, Reply)
    assert (reply.intent, reply.confidence, reply.cue) == (
        "auto_reply",
        1.0,
        "Auto-Submitted: auto-replied",
    )
    assert rows(engine, Suppression) == []
    [own] = signalled_to(engine, message.workflow_id)
    assert own["auto_reply"] is True


def test_a_failing_plug_in_classifier_gives_neutral_and_the_reply_is_still_stored(
    engine, contact, message
) -> None:
    def broken(text: str, *, subject: str = "") -> Classification:
        raise RuntimeError("model server down")

    replies = ReplyService(engine, EventIngestService(engine), SECRET, classifier=broken)
    recorded = replies.record(reply_to(message), received=RECEIVED)

    assert recorded.intent == ReplyIntent.NEUTRAL
    assert [r.intent for r in rows(engine, Reply)] == ["neutral"]


def test_the_unsubscribe_link_also_ends_every_live_enrollment_of_the_contact(
    engine, contact, message, other_enrollment
) -> None:
    UnsubscribeService(engine, EventIngestService(engine), SECRET).unsubscribe(
        sign(SECRET, TokenPurpose.UNSUBSCRIBE, message.id), one_click=True
    )

    [own] = signalled_to(engine, message.workflow_id)
    [other] = signalled_to(engine, other_enrollment)
    assert own["kind"] == other["kind"] == "unsubscribe"
    # Ended enrollments are left alone.
    with session_scope(engine) as s:
        row = s.get(Enrollment, other_enrollment)
        row.outcome = "completed"
        s.add(row)
    third = make_sent_message(engine, contact, sequence="trade_intro_de")
    UnsubscribeService(engine, EventIngestService(engine), SECRET).unsubscribe(
        sign(SECRET, TokenPurpose.UNSUBSCRIBE, third.id), one_click=False
    )
    assert len(signalled_to(engine, other_enrollment)) == 1


# --- a person's correction --------------------------------------------------------------------------


def corrections(engine: sa.Engine, ingest: EventIngestService) -> ReplyCorrections:
    return ReplyCorrections(engine, ingest, ReplyNotices(PUBLIC_URL))


def test_correcting_to_opt_out_unsubscribes_once_and_correcting_back_never_resubscribes(
    engine, contact, message, other_enrollment
) -> None:
    replies, ingest = service(engine, ReplyIntent.NEUTRAL)
    replies.record(reply_to(message), received=RECEIVED)
    [reply] = rows(engine, Reply)
    fix = corrections(engine, ingest)

    corrected = fix.correct(reply.id, ReplyIntent.OPT_OUT)
    assert corrected.changed
    assert corrected.signals >= 1
    assert corrected.reply.intent == ReplyIntent.OPT_OUT
    assert corrected.reply.classified_intent == ReplyIntent.NEUTRAL
    assert corrected.reply.corrected_at is not None
    [withdrawal] = rows(
        engine, ConsentRecord, ConsentRecord.action == ConsentAction.WITHDRAWN.value
    )
    assert withdrawal.evidence == f"reply {reply.id}"
    assert len(rows(engine, Suppression)) == 1
    assert [p["kind"] for p in signalled_to(engine, other_enrollment)] == ["unsubscribe"]

    assert not fix.correct(reply.id, ReplyIntent.OPT_OUT).changed  # the same again: nothing
    fix.correct(reply.id, ReplyIntent.NEUTRAL)
    fix.correct(reply.id, ReplyIntent.OPT_OUT)  # its effects ran before: not again
    assert (
        len(rows(engine, ConsentRecord, ConsentRecord.action == ConsentAction.WITHDRAWN.value)) == 1
    )
    assert len(signalled_to(engine, other_enrollment)) == 1
    fix.correct(reply.id, ReplyIntent.NOT_INTERESTED)
    with session_scope(engine) as s:  # away from opt_out: still withdrawn, still suppressed
        assert newest_consent_actions(s, [contact.id])[contact.id] == ConsentAction.WITHDRAWN
    assert len(rows(engine, Suppression)) == 1


def test_correcting_to_interested_notifies_once(engine, contact, message) -> None:
    replies, ingest = service(engine, ReplyIntent.NOT_INTERESTED)
    replies.record(reply_to(message), received=RECEIVED)
    [reply] = rows(engine, Reply)
    fix = corrections(engine, ingest)

    fix.correct(reply.id, ReplyIntent.INTERESTED)
    fix.correct(reply.id, ReplyIntent.NEUTRAL)
    fix.correct(reply.id, ReplyIntent.INTERESTED)

    [notification] = rows(engine, Notification)
    assert notification.payload["intent"] == "interested"
    assert rows(engine, Reply)[0].effects_applied == ["not_interested", "interested", "neutral"]


def test_a_correction_shows_on_the_enrollment_it_ended(engine, contact, message) -> None:
    replies, ingest = service(engine, ReplyIntent.NEUTRAL)
    replies.record(reply_to(message), received=RECEIVED)
    with session_scope(engine) as s:  # the finish activity mirrored the end
        row = s.get(Enrollment, message.workflow_id)
        row.outcome, row.reply_intent = "replied", "neutral"
        s.add(row)
    [reply] = rows(engine, Reply)

    corrections(engine, ingest).correct(reply.id, ReplyIntent.INTERESTED)

    [enrollment] = rows(engine, Enrollment, col(Enrollment.workflow_id) == message.workflow_id)
    assert enrollment.reply_intent == "interested"


def test_correcting_an_unknown_reply_is_not_found(engine, contact) -> None:
    with pytest.raises(ReplyNotFound):
        corrections(engine, EventIngestService(engine)).correct(4242, ReplyIntent.OPT_OUT)


# --- the person's rights ------------------------------------------------------------------------


def test_export_holds_the_reply_and_erase_removes_it(engine, contact, message) -> None:
    from activities.contacts.privacy import PrivacyService

    replies, _ = service(engine, ReplyIntent.WRONG_PERSON)
    replies.record(reply_to(message), received=RECEIVED)
    privacy = PrivacyService(engine)

    exported = privacy.export(contact.id)
    [reply] = exported["replies"]
    assert (reply["intent"], reply["text"]) == ("wrong_person", WORDS)

    report = privacy.erase(contact.id)
    assert report.replies_deleted == 1
    assert rows(engine, Reply) == []
