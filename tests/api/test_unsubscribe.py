"""/u/{token}: the confirmation page, the unsubscribe by button and by RFC 8058 one-click POST,
and refusal of forged tokens. The effect is immediate: consent, suppression, queued signal."""

from __future__ import annotations

import pytest
from sqlmodel import select

from activities.enrollment.sending import Links
from models.db import session_scope
from models.errors import ConsentWithdrawn
from models.tables import (
    ConsentAction,
    ConsentRecord,
    Contact,
    Event,
    Suppression,
    SuppressionReason,
    address_hash,
)
from models.tokens import TokenPurpose, sign
from tests.factories import (
    INBOUND_DOMAIN,
    PUBLIC_URL,
    SECRET,
    make_contact,
    make_sender,
    make_sent_message,
    step_input,
)


@pytest.fixture
def sent(api_engine):
    make_sender(api_engine)
    contact = make_contact(api_engine, email="anna.schmidt@maschinen.example.de")
    message = make_sent_message(api_engine, contact)
    token = Links(PUBLIC_URL, INBOUND_DOMAIN, SECRET).unsubscribe_url(message.id).rsplit("/", 1)[1]
    return contact, message, token


def is_unsubscribed(engine, contact: Contact) -> bool:
    with session_scope(engine) as s:
        latest = s.exec(
            select(ConsentRecord)
            .where(ConsentRecord.contact_id == contact.id)
            .order_by(ConsentRecord.id.desc())
        ).first()
        suppressed = s.get(Suppression, address_hash(contact.email))
    return latest.action == ConsentAction.WITHDRAWN and suppressed is not None


def queued_unsubscribes(engine, workflow_id: str) -> list[Event]:
    with session_scope(engine) as s:
        return list(
            s.exec(
                select(Event).where(Event.workflow_id == workflow_id, Event.kind == "unsubscribe")
            ).all()
        )


def test_page_asks_for_confirmation_and_changes_nothing(client, api_engine, sent):
    contact, _, token = sent
    response = client.get(f"/u/{token}")
    assert response.status_code == 200
    assert "a***@maschinen.example.de" in response.text
    assert "anna.schmidt" not in response.text
    assert "method=post" in response.text
    assert not is_unsubscribed(api_engine, contact)


def test_one_click_post_unsubscribes_at_once_without_cookie_or_redirect(client, api_engine, sent):
    contact, message, token = sent
    response = client.post(
        f"/u/{token}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "location" not in response.headers
    assert is_unsubscribed(api_engine, contact)
    [event] = queued_unsubscribes(api_engine, message.workflow_id)
    assert event.forwarded_at is None
    assert event.payload["kind"] == "unsubscribe"
    assert event.details == {"via": "one_click"}


def test_confirmation_button_unsubscribes(client, api_engine, sent):
    contact, _message, token = sent
    response = client.post(f"/u/{token}", data={"confirm": "yes"})
    assert response.status_code == 200
    assert "unsubscribed" in response.text
    assert is_unsubscribed(api_engine, contact)
    with session_scope(api_engine) as s:
        assert (
            s.get(Suppression, address_hash(contact.email)).reason == SuppressionReason.UNSUBSCRIBE
        )


def test_unsubscribing_twice_records_it_once(client, api_engine, sent):
    _, message, token = sent
    client.post(f"/u/{token}", content="List-Unsubscribe=One-Click")
    client.post(f"/u/{token}", content="List-Unsubscribe=One-Click")
    assert len(queued_unsubscribes(api_engine, message.workflow_id)) == 1


@pytest.mark.parametrize(
    "forge",
    [
        lambda message_id: sign("another-secret", TokenPurpose.UNSUBSCRIBE, message_id),
        lambda message_id: sign(SECRET, TokenPurpose.REPLY, message_id),  # a reply token is not one
        lambda message_id: "a" * 42,
        lambda message_id: "not-base32!",
    ],
    ids=["wrong-secret", "wrong-purpose", "random", "garbage"],
)
def test_forged_tokens_are_refused_and_change_nothing(client, api_engine, sent, forge):
    contact, message, _ = sent
    token = forge(message.id)
    assert client.get(f"/u/{token}").status_code == 404
    assert client.post(f"/u/{token}", content="List-Unsubscribe=One-Click").status_code == 404
    assert not is_unsubscribed(api_engine, contact)


def test_a_valid_token_for_another_message_cannot_be_made_from_a_known_one(
    client, api_engine, sent
):
    contact, _message, token = sent
    # Edit the message part of the token: the signature no longer matches (no enumeration).
    flipped = ("a" if token[0] != "a" else "b") + token[1:]
    assert client.post(f"/u/{flipped}", content="List-Unsubscribe=One-Click").status_code == 404
    assert not is_unsubscribed(api_engine, contact)


def test_after_an_unsubscribe_whose_signal_never_arrived_the_next_step_does_not_send(
    client, api_engine, sent, sim
):
    """The forwarder never runs here: only the send-time check stands between us and a mail."""
    from tests.factories import sending_service
    from tests.sim_fixtures import SIM_API_KEY

    contact, _message, token = sent
    client.post(f"/u/{token}", content="List-Unsubscribe=One-Click")
    service = sending_service(api_engine, sim.url, SIM_API_KEY)
    with pytest.raises(ConsentWithdrawn):
        service.send_step(step_input(contact, "case_study"))
    assert sim.store.messages() == []
