"""UnsubscribeService, called directly: a valid token withdraws consent (with the message as
evidence), suppresses the address and queues the workflow's signal in one commit; repeating it
changes nothing; a forged, wrong-purpose or unknown token is UnknownUnsubscribeToken and changes
nothing."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlmodel import select

import activities.events.ingest as ingest_module
from activities.events.ingest import EventIngestService
from activities.events.unsubscribing import UnsubscribeService, mask_email
from models.db import session_scope
from models.errors import NotFound, UnknownUnsubscribeToken
from models.tables import (
    ConsentAction,
    ConsentRecord,
    Contact,
    Event,
    Message,
    Suppression,
    SuppressionReason,
    address_hash,
)
from models.tokens import TokenPurpose, sign
from tests.factories import SECRET, make_contact, make_sender, make_sent_message


@pytest.fixture
def service(engine: sa.Engine) -> UnsubscribeService:
    make_sender(engine)
    return UnsubscribeService(engine, EventIngestService(engine), SECRET)


@pytest.fixture
def contact(engine: sa.Engine, service: UnsubscribeService) -> Contact:
    return make_contact(engine, email="anna.schmidt@maschinen.example.de")


@pytest.fixture
def message(engine: sa.Engine, contact: Contact) -> Message:
    return make_sent_message(engine, contact)


@pytest.fixture
def token(message: Message) -> str:
    return sign(SECRET, TokenPurpose.UNSUBSCRIBE, message.id)


def withdrawals(engine: sa.Engine, contact: Contact) -> list[ConsentRecord]:
    with session_scope(engine) as s:
        return list(
            s.exec(
                select(ConsentRecord).where(
                    ConsentRecord.contact_id == contact.id,
                    ConsentRecord.action == ConsentAction.WITHDRAWN,
                )
            ).all()
        )


def suppression(engine: sa.Engine, contact: Contact) -> Suppression | None:
    with session_scope(engine) as s:
        return s.get(Suppression, address_hash(contact.email))


def events(engine: sa.Engine) -> list[Event]:
    with session_scope(engine) as s:
        return list(s.exec(select(Event)).all())


def test_the_target_names_the_message_and_a_masked_address_and_changes_nothing(
    engine, service, contact, message, token
) -> None:
    target = service.target(token)
    assert (target.message_id, target.masked_email) == (message.id, "a***@maschinen.example.de")
    assert withdrawals(engine, contact) == []
    assert suppression(engine, contact) is None
    assert events(engine) == []


@pytest.mark.parametrize(("one_click", "via"), [(True, "one_click"), (False, "link")])
def test_a_valid_token_withdraws_consent_suppresses_and_queues_the_signal(
    engine, service, contact, message, token, one_click, via
) -> None:
    target = service.unsubscribe(token, one_click=one_click)

    assert target.message_id == message.id
    [withdrawal] = withdrawals(engine, contact)
    assert withdrawal.evidence == f"message {message.id}"
    assert withdrawal.source == f"unsubscribe (unsubscribe_{via})"
    assert suppression(engine, contact).reason == SuppressionReason.UNSUBSCRIBE
    [event] = events(engine)
    assert (event.workflow_id, event.message_id, event.contact_id) == (
        message.workflow_id,
        message.id,
        contact.id,
    )
    assert event.forwarded_at is None
    assert event.details == {"via": via}
    assert event.payload["kind"] == "unsubscribe"
    assert event.payload["message_id"] == message.id


def test_consent_suppression_and_signal_are_one_commit(
    engine, service, contact, token, monkeypatch
) -> None:
    def suppression_fails(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "_suppress", suppression_fails)
    with pytest.raises(RuntimeError, match="disk full"):
        service.unsubscribe(token, one_click=True)

    # The consent withdrawal and the event were written before the failure: both rolled back.
    assert withdrawals(engine, contact) == []
    assert events(engine) == []
    assert suppression(engine, contact) is None


def test_unsubscribing_again_changes_nothing(engine, service, contact, token) -> None:
    first = service.unsubscribe(token, one_click=True)
    again = service.unsubscribe(token, one_click=False)

    assert again == first
    assert len(withdrawals(engine, contact)) == 1
    assert len(events(engine)) == 1
    assert events(engine)[0].details == {"via": "one_click"}
    assert suppression(engine, contact).reason == SuppressionReason.UNSUBSCRIBE


@pytest.mark.parametrize(
    "forge",
    [
        lambda message_id: sign("another-secret", TokenPurpose.UNSUBSCRIBE, message_id),
        lambda message_id: sign(SECRET, TokenPurpose.REPLY, message_id),
        lambda message_id: sign(SECRET, TokenPurpose.CONFIRM, message_id),
        lambda message_id: sign(SECRET, TokenPurpose.UNSUBSCRIBE, str(uuid.uuid4())),
        lambda message_id: "a" * 42,
        lambda message_id: "not-base32!",
        lambda message_id: "",
    ],
    ids=[
        "wrong-secret",
        "reply-token",
        "confirm-token",
        "no-such-message",
        "random",
        "garbage",
        "empty",
    ],
)
def test_a_forged_or_wrong_purpose_token_is_refused_and_changes_nothing(
    engine, service, contact, message, forge
) -> None:
    token = forge(message.id)

    with pytest.raises(UnknownUnsubscribeToken):
        service.target(token)
    with pytest.raises(UnknownUnsubscribeToken) as refused:
        service.unsubscribe(token, one_click=True)

    assert isinstance(refused.value, NotFound)  # the API's 404 family
    assert withdrawals(engine, contact) == []
    assert suppression(engine, contact) is None
    assert events(engine) == []


@pytest.mark.parametrize(
    ("email", "masked"),
    [("anna.schmidt@maschinen.example.de", "a***@maschinen.example.de"), ("x@y.cn", "x***@y.cn")],
)
def test_the_masked_address_shows_one_letter_and_the_domain(email, masked) -> None:
    assert mask_email(email) == masked
