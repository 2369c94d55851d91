"""ReplyService, called directly: a reply finds the message it answers by its signed reply+token
address, else by In-Reply-To / References, else by the sender among live enrollments; forged
tokens fall back and never raise; out-of-office replies are stored as auto-replies with a resume
time; each reply is stored once, for the workflow, without the sender's words or address."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from activities.events.ingest import EventIngestService
from activities.events.replies import ReplyService
from models.db import session_scope
from models.inbound import InboundMessage
from models.tables import Contact, Event, Message
from models.tokens import TokenPurpose, sign
from tests.factories import SECRET, make_contact, make_sender, make_sent_message

RECEIVED = datetime(2026, 11, 23, 14, 2, tzinfo=UTC)


@pytest.fixture
def replies(engine: sa.Engine) -> ReplyService:
    make_sender(engine)
    return ReplyService(engine, EventIngestService(engine), SECRET, default_away_days=5)


@pytest.fixture
def contact(engine: sa.Engine, replies: ReplyService) -> Contact:
    return make_contact(engine, email="anna.schmidt@maschinen.example.de")


@pytest.fixture
def message(engine: sa.Engine, contact: Contact) -> Message:
    return make_sent_message(engine, contact)


@pytest.fixture
def other_message(engine: sa.Engine, replies: ReplyService) -> Message:
    """A message to someone else: what a wrong correlation would find."""
    return make_sent_message(engine, make_contact(engine))


def inbound(**fields: Any) -> InboundMessage:
    values: dict[str, Any] = {
        "from_email": "someone@unknown.example",
        "subject": "Re: a reliable supplier",
        "text": "Yes, please send the quotation for 5,000 pieces.",
        "message_id": f"<{uuid.uuid4()}@mail.example>",
    } | fields
    return InboundMessage(**values)


def reply_token(message: Message) -> str:
    return sign(SECRET, TokenPurpose.REPLY, message.id)


def reply_rows(engine: sa.Engine) -> list[Event]:
    with session_scope(engine) as s:
        return list(s.exec(select(Event).where(Event.esp_type == "reply").order_by(Event.id)).all())


# --- finding the message answered ----------------------------------------------------------------


def test_the_signed_reply_address_finds_the_message_before_headers_or_sender(
    engine, replies, message, other_message
) -> None:
    with session_scope(engine) as s:
        other_email = s.get(Contact, other_message.contact_id).email
    recorded = replies.record(
        inbound(
            reply_tokens=[reply_token(message)],
            in_reply_to=[other_message.rfc_message_id],
            from_email=other_email,  # forwarded to a colleague, who answered
        ),
        received=RECEIVED,
    )

    assert recorded.correlated
    assert recorded.workflow_id == message.workflow_id
    [row] = reply_rows(engine)
    assert (row.message_id, row.workflow_id, row.contact_id) == (
        message.id,
        message.workflow_id,
        message.contact_id,
    )


def test_in_reply_to_finds_the_message_when_the_reply_went_to_the_from_address(
    engine, replies, message
) -> None:
    recorded = replies.record(inbound(in_reply_to=[message.rfc_message_id]), received=RECEIVED)
    assert recorded.correlated
    [row] = reply_rows(engine)
    assert row.message_id == message.id
    assert row.payload["message_id"] == message.id


def test_references_are_read_nearest_first_and_foreign_ids_skipped(
    engine, replies, contact
) -> None:
    intro = make_sent_message(engine, contact, step="intro")
    offer = make_sent_message(engine, contact, step="offer")
    replies.record(
        inbound(
            references=[intro.rfc_message_id, offer.rfc_message_id, "<their-own@mail.example>"]
        ),
        received=RECEIVED,
    )
    [row] = reply_rows(engine)
    assert row.message_id == offer.id


def test_the_sender_address_finds_their_message_in_a_live_enrollment(
    engine, replies, contact, message
) -> None:
    recorded = replies.record(inbound(from_email=contact.email), received=RECEIVED)
    assert recorded.correlated
    assert recorded.workflow_id == message.workflow_id
    [row] = reply_rows(engine)
    assert row.message_id == message.id


@pytest.mark.parametrize(
    "forge",
    [
        lambda m: sign("another-secret", TokenPurpose.REPLY, m.id),
        lambda m: sign(SECRET, TokenPurpose.UNSUBSCRIBE, m.id),  # an unsubscribe token is not one
        lambda m: sign(SECRET, TokenPurpose.REPLY, str(uuid.uuid4())),  # valid, names no message
        lambda m: "a" * 42,
        lambda m: "not-base32!",
    ],
    ids=["wrong-secret", "wrong-purpose", "no-such-message", "random", "garbage"],
)
def test_a_forged_reply_token_falls_back_to_the_headers(
    engine, replies, message, other_message, forge
) -> None:
    recorded = replies.record(
        inbound(reply_tokens=[forge(message)], in_reply_to=[other_message.rfc_message_id]),
        received=RECEIVED,
    )
    assert recorded.correlated
    assert recorded.workflow_id == other_message.workflow_id


def test_a_forged_token_with_nothing_else_to_go_on_is_kept_uncorrelated(
    engine, replies, message
) -> None:
    recorded = replies.record(inbound(reply_tokens=["a" * 42]), received=RECEIVED)

    assert not recorded.correlated
    assert recorded.workflow_id is None
    [row] = reply_rows(engine)
    assert row.workflow_id is None
    assert row.message_id is None
    assert row.forwarded_at is not None  # nothing for the forwarder to signal


# --- what is stored ------------------------------------------------------------------------------


def test_a_human_reply_is_queued_for_the_workflow_without_the_senders_words(
    engine, replies, contact, message
) -> None:
    recorded = replies.record(
        inbound(from_email=contact.email, reply_tokens=[reply_token(message)]), received=RECEIVED
    )

    assert (recorded.auto_reply, recorded.duplicate) == (False, False)
    [row] = reply_rows(engine)
    assert row.kind == "reply"
    assert row.forwarded_at is None
    assert row.payload["auto_reply"] is False
    assert row.payload["resume_at"] is None
    assert datetime.fromisoformat(row.payload["occurred_at"]) == RECEIVED
    assert contact.email not in str(row.payload)
    assert "quotation" not in str(row.payload)
    # The intent's label travels (the inbox holds the words); "quotation" asks for a price.
    assert row.details == {"auto_reply": False, "intent": "interested"}
    assert row.payload["reply_intent"] == "interested"


def test_an_out_of_office_is_stored_as_an_auto_reply_resuming_the_day_after_return(
    engine, replies, message
) -> None:
    recorded = replies.record(
        inbound(
            reply_tokens=[reply_token(message)],
            auto_reply=True,
            auto_reply_reason="Auto-Submitted: auto-replied",
            return_date=date(2026, 12, 2),
        ),
        received=RECEIVED,
    )

    assert recorded.auto_reply
    assert recorded.correlated
    [row] = reply_rows(engine)
    assert row.payload["auto_reply"] is True
    assert datetime.fromisoformat(row.payload["resume_at"]) == datetime(2026, 12, 3, tzinfo=UTC)
    assert row.details == {
        "auto_reply": True,
        "intent": "auto_reply",
        "auto_reply_reason": "Auto-Submitted: auto-replied",
        "return_date": "2026-12-02",
    }


def test_an_out_of_office_without_a_date_holds_sends_for_the_default_days(
    engine, replies, message
) -> None:
    replies.record(inbound(reply_tokens=[reply_token(message)], auto_reply=True), received=RECEIVED)
    [row] = reply_rows(engine)
    assert datetime.fromisoformat(row.payload["resume_at"]) == RECEIVED + timedelta(days=5)


def test_the_same_reply_posted_twice_is_stored_once(engine, replies, message) -> None:
    reply = inbound(reply_tokens=[reply_token(message)])
    assert not replies.record(reply, received=RECEIVED).duplicate
    assert replies.record(reply, received=RECEIVED + timedelta(seconds=30)).duplicate
    assert len(reply_rows(engine)) == 1


def test_replies_without_a_message_id_are_told_apart_by_their_content(
    engine, replies, message
) -> None:
    token = [reply_token(message)]
    replies.record(inbound(message_id=None, reply_tokens=token, text="Yes."), received=RECEIVED)
    replies.record(inbound(message_id=None, reply_tokens=token, text="No."), received=RECEIVED)
    replies.record(inbound(message_id=None, reply_tokens=token, text="No."), received=RECEIVED)
    assert len(reply_rows(engine)) == 2
