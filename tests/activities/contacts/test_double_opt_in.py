"""Double opt-in: the confirmation email through the real SendGrid client into the simulator,
the signed link, the CONFIRMED ledger entry that lets the send step through."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlmodel import select

from activities.contacts.consent import check_consent
from activities.contacts.double_opt_in import OptInLinks, OptInService, OptInStatus
from activities.contacts.importing import import_file
from activities.enrollment.sendgrid_transport import SendGridTransport
from models.db import session_scope
from models.errors import (
    ConsentMissing,
    ConsentWithdrawn,
    ContactSuppressed,
    InvalidToken,
    SenderNotFound,
)
from models.tables import ConsentAction, ConsentRecord, Contact, SuppressionReason
from models.tokens import TokenPurpose, sign
from models.wire import CUSTOM_ARG_OPT_IN_ID
from tests.factories import (
    PUBLIC_URL,
    SECRET,
    TEMPLATES,
    make_contact,
    make_sender,
    suppress,
    withdraw_consent,
)
from tests.sim_fixtures import SIM_API_KEY

LINK = re.compile(re.escape(PUBLIC_URL) + r"/c/([a-z2-7]+)")


@pytest.fixture
def opt_in(engine: sa.Engine, sim) -> OptInService:
    make_sender(engine)
    return OptInService(
        engine,
        SendGridTransport(api_key=SIM_API_KEY, host=sim.url, timeout_seconds=5),
        OptInLinks(PUBLIC_URL, SECRET),
        TEMPLATES,
    )


def _imported_without_consent(engine: sa.Engine) -> Contact:
    csv = "email,first_name,company\nmaria@compras.example.es,María,Compras <SA>\n"
    report = import_file(engine, csv.encode(), filename="x.csv")
    assert report.needs_opt_in == 1
    with session_scope(engine) as s:
        return s.exec(select(Contact)).one()


def _check(engine: sa.Engine, contact: Contact) -> None:
    with session_scope(engine) as s:
        check_consent(s, contact)


def test_request_mails_a_signed_link_and_confirming_lets_sending_through(
    engine: sa.Engine, opt_in: OptInService, sim
) -> None:
    contact = _imported_without_consent(engine)
    with pytest.raises(ConsentMissing):
        _check(engine, contact)

    result = opt_in.request(contact.id)

    assert result.status == OptInStatus.SENT
    assert result.esp_message_id
    [mail] = sim.store.messages(recipient="maria@compras.example.es")
    assert mail.from_email == "li.wei@factory.example.cn"
    assert "Ningbo 315800" in (mail.text or "")
    assert "Ningbo 315800" in (mail.html or "")
    assert "Compras &lt;SA&gt;" in (mail.html or "")
    assert list(mail.custom_args) == [CUSTOM_ARG_OPT_IN_ID]
    assert "List-Unsubscribe" not in mail.headers
    token = LINK.search(mail.text or "").group(1)  # type: ignore[union-attr]
    assert f"/c/{token}" in (mail.html or "")

    assert opt_in.confirm(token) == contact.id

    _check(engine, contact)
    with session_scope(engine) as s:
        [record] = s.exec(select(ConsentRecord)).all()
    assert record.action == ConsentAction.CONFIRMED
    assert record.source == "double opt-in"
    assert record.evidence
    assert "IP not stored" in record.evidence


def test_confirming_twice_records_one_confirmation(engine: sa.Engine, opt_in: OptInService) -> None:
    contact = make_contact(engine, consent=None)
    token = sign(SECRET, TokenPurpose.CONFIRM, str(contact.id))

    opt_in.confirm(token)
    opt_in.confirm(token)

    with session_scope(engine) as s:
        assert len(s.exec(select(ConsentRecord)).all()) == 1


def test_confirmed_contact_is_not_asked_again(engine: sa.Engine, opt_in: OptInService, sim) -> None:
    contact = make_contact(engine, consent=ConsentAction.CONFIRMED)

    assert opt_in.request(contact.id).status == OptInStatus.ALREADY_CONFIRMED
    assert sim.store.messages() == []


def test_forged_or_foreign_tokens_are_refused(engine: sa.Engine, opt_in: OptInService) -> None:
    contact = make_contact(engine, consent=None)
    with pytest.raises(InvalidToken):
        opt_in.confirm(sign("other-secret", TokenPurpose.CONFIRM, str(contact.id)))
    with pytest.raises(InvalidToken):
        opt_in.confirm(sign(SECRET, TokenPurpose.UNSUBSCRIBE, str(contact.id)))
    with session_scope(engine) as s:
        assert s.exec(select(ConsentRecord)).all() == []


def test_withdrawn_contact_is_neither_asked_nor_confirmed(
    engine: sa.Engine, opt_in: OptInService, sim
) -> None:
    contact = make_contact(engine)
    withdraw_consent(engine, contact.id)
    token = sign(SECRET, TokenPurpose.CONFIRM, str(contact.id))

    with pytest.raises(ConsentWithdrawn):
        opt_in.request(contact.id)
    with pytest.raises(ConsentWithdrawn):
        opt_in.confirm(token)
    assert sim.store.messages() == []


def test_suppressed_contact_or_unknown_sender_is_not_mailed(
    engine: sa.Engine, opt_in: OptInService, sim
) -> None:
    bounced = make_contact(engine, consent=None)
    suppress(engine, bounced.email, SuppressionReason.HARD_BOUNCE)
    with pytest.raises(ContactSuppressed):
        opt_in.request(bounced.id)
    other = make_contact(engine, consent=None)
    with pytest.raises(SenderNotFound):
        opt_in.request(other.id, sender_id="nobody")
    assert sim.store.messages() == []
