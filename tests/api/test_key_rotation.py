"""Rotating NURTURE_SECRET_KEY breaks no link in mail already sent: a mail is sent (through the real
send step, into the simulator) under the old key, the key is rotated with the old one in
NURTURE_PREVIOUS_SECRET_KEYS, and its unsubscribe link (page and RFC 8058 one-click POST), its
Reply-To address and an opt-in link still work on the rotated API; without the previous key they
do not, and new mail is signed with the new key only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from activities.contacts.double_opt_in import OptInService
from activities.enrollment.sending import SendingService
from api.app import create_app
from models.db import session_scope
from models.errors import InvalidToken
from models.tables import ConsentAction, ConsentRecord, Contact, Event
from models.tokens import TokenPurpose, verify
from tests.api.test_unsubscribe import is_unsubscribed
from tests.factories import INBOUND_DOMAIN, make_contact, make_sender, step_input
from tests.sim_fixtures import SIM_API_KEY

OLD_KEY = "old-key-" + "o" * 40
NEW_KEY = "new-key-" + "n" * 40


@pytest.fixture
def before(api_settings, sim):
    """The settings mail was sent under: the old key, the simulator as SendGrid."""
    return api_settings.model_copy(
        update={"secret_key": OLD_KEY, "sendgrid_host": sim.url, "sendgrid_api_key": SIM_API_KEY}
    )


@pytest.fixture
def rotated(before):
    return before.model_copy(update={"secret_key": NEW_KEY, "previous_secret_keys": [OLD_KEY]})


@pytest.fixture
def rotated_client(rotated) -> Iterator[TestClient]:
    with TestClient(create_app(rotated, run_forwarder=False)) as client:
        yield client


@pytest.fixture
def mailed(before, api_engine: sa.Engine, sim) -> tuple[Contact, str, str]:
    """A contact, the path of the unsubscribe link and the Reply-To of a mail sent before the
    rotation by the send step itself."""
    make_sender(api_engine)
    contact = make_contact(api_engine, email="anna.schmidt@maschinen.example.de")
    SendingService.from_settings(before, api_engine).send_step(step_input(contact))
    [mail] = sim.store.messages(recipient=contact.email)
    link = mail.headers["List-Unsubscribe"].strip("<>").split(">")[0]
    assert mail.reply_to is not None
    return contact, urlsplit(link).path, mail.reply_to


def test_an_unsubscribe_page_sent_before_the_rotation_still_opens(rotated_client, mailed):
    _, path, _ = mailed
    response = rotated_client.get(path)
    assert response.status_code == 200
    assert "a***@maschinen.example.de" in response.text


def test_one_click_on_a_link_sent_before_the_rotation_still_unsubscribes(
    rotated_client, api_engine, mailed
):
    contact, path, _ = mailed
    response = rotated_client.post(
        path,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 200
    assert is_unsubscribed(api_engine, contact)


def test_the_unsubscribe_button_on_an_old_link_unsubscribes_too(rotated_client, api_engine, mailed):
    contact, path, _ = mailed
    assert rotated_client.post(path, data={"confirm": "yes"}).status_code == 200
    assert is_unsubscribed(api_engine, contact)


def test_without_the_previous_key_old_links_and_replies_are_not_recognised(
    rotated, api_engine, mailed
):
    contact, path, reply_to = mailed
    forgotten = rotated.model_copy(update={"previous_secret_keys": []})
    with TestClient(create_app(forgotten, run_forwarder=False)) as client:
        assert client.get(path).status_code == 404
        assert client.post(path, content="List-Unsubscribe=One-Click").status_code == 404
        assert post_reply(client, reply_to)["correlated"] is False
    assert not is_unsubscribed(api_engine, contact)


def post_reply(client: TestClient, reply_to: str) -> dict:
    """A reply from an address that is not the contact's: only the signed Reply-To correlates."""
    stranger = "someone@elsewhere.example"
    fields = {
        "headers": f"From: {stranger}\nTo: {reply_to}\nSubject: Re: hello\n",
        "from": stranger,
        "to": reply_to,
        "subject": "Re: hello",
        "text": "Yes, please send the quotation.",
        "envelope": f'{{"to":["{reply_to}"],"from":"{stranger}"}}',
    }
    response = client.post("/webhooks/sendgrid/inbound", data=fields)
    assert response.status_code == 200
    return response.json()


def test_a_reply_to_a_mail_sent_before_the_rotation_finds_its_contact(
    rotated_client, api_engine, mailed
):
    contact, _, reply_to = mailed
    assert post_reply(rotated_client, reply_to)["correlated"] is True
    with session_scope(api_engine) as s:
        [row] = s.exec(select(Event).where(Event.esp_type == "reply")).all()
        assert row.contact_id == contact.id


def test_an_opt_in_link_sent_before_the_rotation_still_confirms(
    before, rotated_client, api_engine, sim
):
    make_sender(api_engine)
    contact = make_contact(api_engine, consent=None)
    OptInService.from_settings(before, api_engine).request(contact.id)
    [mail] = sim.store.messages(recipient=contact.email)
    path = re.search(r"/c/[a-z2-7]+", mail.text or "").group(0)  # type: ignore[union-attr]
    assert rotated_client.get(path).status_code == 200
    assert rotated_client.post(path).status_code == 200
    with session_scope(api_engine) as s:
        [record] = s.exec(select(ConsentRecord)).all()
        assert record.action == ConsentAction.CONFIRMED


def test_mail_sent_after_the_rotation_is_signed_with_the_new_key_only(rotated, api_engine, sim):
    make_sender(api_engine)
    contact = make_contact(api_engine)
    SendingService.from_settings(rotated, api_engine).send_step(step_input(contact))
    [mail] = sim.store.messages(recipient=contact.email)
    token = mail.headers["List-Unsubscribe"].strip("<>").split(">")[0].rsplit("/", 1)[1]
    assert verify(NEW_KEY, TokenPurpose.UNSUBSCRIBE, token)
    with pytest.raises(InvalidToken):
        verify(OLD_KEY, TokenPurpose.UNSUBSCRIBE, token)
    assert mail.reply_to is not None
    local, _, domain = mail.reply_to.partition("@")
    assert domain == INBOUND_DOMAIN
    assert verify(NEW_KEY, TokenPurpose.REPLY, local.removeprefix("reply+"))
