"""POST /webhooks/sendgrid/inbound: replies found by their signed reply+ address, by In-Reply-To
alone, or by sender; out-of-office replies carry a resume time; a human reply stops colleagues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from activities.enrollment.sending import Links
from models.db import session_scope
from models.tables import Event, EventSignal
from tests.factories import (
    INBOUND_DOMAIN,
    PUBLIC_URL,
    SECRET,
    make_contact,
    make_enrollment,
    make_sender,
    make_sent_message,
)


@pytest.fixture
def sent(api_engine):
    make_sender(api_engine)
    contact = make_contact(api_engine, email="anna.schmidt@maschinen.example.de", first_name="Anna")
    return contact, make_sent_message(api_engine, contact)


def reply_fields(
    contact,
    message,
    *,
    to: str | None = None,
    headers: str = "",
    text: str = "Yes, please send the quotation.",
    subject: str | None = None,
) -> dict[str, str]:
    to = to or Links(PUBLIC_URL, INBOUND_DOMAIN, SECRET).reply_to(message.id)
    subject = subject or f"Re: {message.subject}"
    return {
        "headers": f"From: Anna Schmidt <{contact.email}>\nTo: {to}\nSubject: {subject}\n"
        f"Message-ID: <reply-{message.id}@maschinen.example.de>\n{headers}",
        "from": f"Anna Schmidt <{contact.email}>",
        "to": to,
        "subject": subject,
        "text": text,
        "envelope": f'{{"to":["{to}"],"from":"{contact.email}"}}',
        "charsets": '{"to":"UTF-8","subject":"UTF-8","text":"UTF-8","from":"UTF-8"}',
    }


def replies(engine) -> list[Event]:
    with session_scope(engine) as s:
        return list(s.exec(select(Event).where(Event.esp_type == "reply")).all())


def test_human_reply_by_reply_address_is_queued_for_the_workflow(client, api_engine, sent):
    contact, message = sent
    response = client.post("/webhooks/sendgrid/inbound", data=reply_fields(contact, message))
    assert response.status_code == 200
    assert response.json() == {
        "correlated": True,
        "auto_reply": False,
        "duplicate": False,
        "intent": "interested",  # "please send the quotation"
    }
    [row] = replies(api_engine)
    assert row.workflow_id == message.workflow_id
    assert row.forwarded_at is None
    assert row.payload["kind"] == "reply"
    assert row.payload["auto_reply"] is False
    assert row.payload["message_id"] == message.id
    assert contact.email not in str(row.payload)
    assert "quotation" not in str(row.payload)


def test_reply_matched_by_in_reply_to_alone(client, api_engine, sent):
    contact, message = sent
    fields = reply_fields(
        contact,
        message,
        to="sales@factory.example.cn",  # replied to the From address, not the Reply-To
        headers=f"In-Reply-To: {message.rfc_message_id}\nReferences: {message.rfc_message_id}\n",
    )
    fields["from"] = "Someone Else <other@elsewhere.example>"
    fields["headers"] = fields["headers"].replace(contact.email, "other@elsewhere.example")
    assert client.post("/webhooks/sendgrid/inbound", data=fields).json()["correlated"] is True
    [row] = replies(api_engine)
    assert row.message_id == message.id


def test_forged_reply_token_falls_back_to_the_headers(client, api_engine, sent):
    contact, message = sent
    fields = reply_fields(contact, message, to=f"reply+{'a' * 42}@{INBOUND_DOMAIN}")
    fields["from"] = "x@unknown.example"
    fields["headers"] = fields["headers"].replace(contact.email, "x@unknown.example")
    assert client.post("/webhooks/sendgrid/inbound", data=fields).json()["correlated"] is False


def test_out_of_office_reply_carries_when_to_resume(client, api_engine, sent):
    contact, message = sent
    back = (datetime.now(UTC) + timedelta(days=12)).date()
    fields = reply_fields(
        contact,
        message,
        subject=f"Automatische Antwort: {message.subject}",
        headers="Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n",
        text=f"Ich bin bis zum {back.day}.{back.month}.{back.year} nicht im Büro.",
    )
    response = client.post("/webhooks/sendgrid/inbound", data=fields)
    assert response.json()["auto_reply"] is True
    [row] = replies(api_engine)
    resume = datetime.fromisoformat(row.payload["resume_at"])
    assert resume.date() == back + timedelta(days=1)
    assert row.payload["auto_reply"] is True


def test_out_of_office_without_a_date_pauses_for_the_default(
    client, api_engine, api_settings, sent
):
    contact, message = sent
    fields = reply_fields(
        contact,
        message,
        subject="Out of Office",
        headers="Auto-Submitted: auto-replied\n",
        text="I am out of the office.",
    )
    client.post("/webhooks/sendgrid/inbound", data=fields)
    [row] = replies(api_engine)
    resume = datetime.fromisoformat(row.payload["resume_at"])
    expected = datetime.now(UTC) + timedelta(days=api_settings.away_default_days)
    assert abs((resume - expected).total_seconds()) < 120


def test_the_same_reply_posted_twice_is_stored_once(client, api_engine, sent):
    contact, message = sent
    fields = reply_fields(contact, message)
    client.post("/webhooks/sendgrid/inbound", data=fields)
    assert client.post("/webhooks/sendgrid/inbound", data=fields).json()["duplicate"] is True
    assert len(replies(api_engine)) == 1


def test_human_reply_stops_colleagues_at_the_same_company_but_not_free_mail_users(
    client, api_engine, sent
):
    contact, message = sent
    colleague = make_contact(api_engine, email="einkauf@maschinen.example.de")
    colleague_wf = make_enrollment(api_engine, colleague)
    gmail_a = make_contact(api_engine, email="anna.private@gmail.com")
    make_enrollment(api_engine, gmail_a)
    client.post("/webhooks/sendgrid/inbound", data=reply_fields(contact, message))
    with session_scope(api_engine) as s:
        cancels = s.exec(select(Event).where(Event.signal == EventSignal.CANCEL)).all()
    assert [c.workflow_id for c in cancels] == [colleague_wf]
    assert "colleague" in cancels[0].payload["reason"]


def test_auto_reply_does_not_stop_colleagues(client, api_engine, sent):
    contact, message = sent
    make_enrollment(api_engine, make_contact(api_engine, email="einkauf@maschinen.example.de"))
    fields = reply_fields(
        contact, message, subject="Out of Office", headers="Auto-Submitted: auto-replied\n"
    )
    client.post("/webhooks/sendgrid/inbound", data=fields)
    with session_scope(api_engine) as s:
        assert s.exec(select(Event).where(Event.signal == EventSignal.CANCEL)).all() == []


def test_post_without_sender_or_recipient_is_400_with_a_reason(client):
    response = client.post("/webhooks/sendgrid/inbound", data={"text": "hello"})
    assert response.status_code == 400
    assert "from" in response.json()["detail"]


def test_not_multipart_is_400(client):
    response = client.post(
        "/webhooks/sendgrid/inbound",
        content=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code in (200, 400)  # starlette may read it as empty: never a 500


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "headers",
                "text",
                "html",
                "from",
                "to",
                "cc",
                "subject",
                "envelope",
                "charsets",
                "email",
            ]
        )
        | st.text(min_size=1, max_size=8),
        st.text(max_size=200),
        max_size=8,
    )
)
def test_arbitrary_inbound_posts_never_cause_a_500(client, fields):
    response = client.post("/webhooks/sendgrid/inbound", data=fields)
    assert response.status_code in (200, 400), response.text


def test_inbound_parse_requires_basic_auth_when_a_password_is_set(client, api_engine, sent):
    import base64

    contact, message = sent
    client.app.state.settings.inbound_parse_password = "s3cret"
    fields = reply_fields(contact, message)
    assert client.post("/webhooks/sendgrid/inbound", data=fields).status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"nurture:nope").decode()}
    assert client.post("/webhooks/sendgrid/inbound", data=fields, headers=wrong).status_code == 401
    assert replies(api_engine) == []
    right = {"Authorization": "Basic " + base64.b64encode(b"nurture:s3cret").decode()}
    assert client.post("/webhooks/sendgrid/inbound", data=fields, headers=right).json()[
        "correlated"
    ]
