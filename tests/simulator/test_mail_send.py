"""Accepted sends through the official sendgrid client: the answer and what is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Bcc,
    Category,
    Cc,
    CustomArg,
    From,
    Header,
    Mail,
    Personalization,
    ReplyTo,
    To,
)

from simulator import SimulatorServer
from tests.sim_fixtures import valid_payload


def _intro_mail() -> Mail:
    mail = Mail(
        from_email=From("sales@acme.example.com", "Acme Sales"),
        to_emails=To("lead@buyer.example.com", "Lead Person"),
        subject="Introducing Acme valves",
        plain_text_content="Plain intro",
        html_content="<p>HTML intro</p>",
    )
    mail.custom_arg = [
        CustomArg("message_id", "3f1c0d2e"),
        CustomArg("workflow_id", "nurture/intro/6b1f"),
    ]
    mail.header = [
        Header("List-Unsubscribe", "<https://nurture.example.com/u/tok>"),
        Header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    ]
    mail.reply_to = ReplyTo("reply+tok@inbound.localhost", "Acme Replies")
    mail.category = Category("intro")
    return mail


def test_send_answers_202_with_message_id_and_stores_the_mail(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    before = datetime.now(UTC)

    response = sim_sendgrid.send(_intro_mail())

    assert response.status_code == 202
    assert response.body == b""
    esp_message_id = response.headers["X-Message-Id"]
    assert len(esp_message_id) == 22
    [message] = sim.store.messages()
    assert message.esp_message_id == esp_message_id
    assert message.sg_message_id.startswith(f"{esp_message_id}.filter")
    assert message.recipient == "lead@buyer.example.com"
    assert message.recipient_name == "Lead Person"
    assert message.subject == "Introducing Acme valves"
    assert message.from_email == "sales@acme.example.com"
    assert message.from_name == "Acme Sales"
    assert message.reply_to == "reply+tok@inbound.localhost"
    assert message.reply_to_name == "Acme Replies"
    assert message.text == "Plain intro"
    assert message.html == "<p>HTML intro</p>"
    assert message.headers == {
        "List-Unsubscribe": "<https://nurture.example.com/u/tok>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert message.custom_args == {"message_id": "3f1c0d2e", "workflow_id": "nurture/intro/6b1f"}
    assert message.categories == ["intro"]
    assert before - timedelta(seconds=1) <= message.sent_at <= datetime.now(UTC)


def test_message_ids_differ_between_sends(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    first = sim_sendgrid.send(_intro_mail()).headers["X-Message-Id"]
    second = sim_sendgrid.send(_intro_mail()).headers["X-Message-Id"]

    assert first != second
    assert len({m.sg_message_id for m in sim.store.messages()}) == 2


def test_each_recipient_of_each_personalization_is_stored_once(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    mail = _intro_mail()
    team = Personalization()
    team.add_to(To("buyer1@buyer.example.com"))
    team.add_to(To("buyer2@buyer.example.com"))
    team.add_cc(Cc("boss@buyer.example.com"))
    team.add_bcc(Bcc("crm@acme.example.com"))
    team.subject = "For your team"
    team.add_custom_arg(CustomArg("message_id", "team-message"))
    team.add_header(Header("X-Team", "yes"))
    mail.add_personalization(team)  # the helper puts it before the first one

    esp_message_id = sim_sendgrid.send(mail).headers["X-Message-Id"]

    messages = sim.store.messages()
    assert [(m.recipient, m.recipient_type, m.personalization_index) for m in messages] == [
        ("buyer1@buyer.example.com", "to", 0),
        ("buyer2@buyer.example.com", "to", 0),
        ("boss@buyer.example.com", "cc", 0),
        ("crm@acme.example.com", "bcc", 0),
        ("lead@buyer.example.com", "to", 1),
    ]
    assert {m.esp_message_id for m in messages} == {esp_message_id}
    assert len({m.sg_message_id for m in messages}) == 5
    team_message, lead_message = messages[0], messages[-1]
    assert team_message.subject == "For your team"
    assert lead_message.subject == "Introducing Acme valves"
    # Personalization values override global ones key by key.
    assert team_message.custom_args == {
        "message_id": "team-message",
        "workflow_id": "nurture/intro/6b1f",
    }
    assert lead_message.custom_args["message_id"] == "3f1c0d2e"
    assert team_message.headers["X-Team"] == "yes"
    assert "X-Team" not in lead_message.headers
    assert "List-Unsubscribe" in team_message.headers


def test_personalization_subject_replaces_global_subject(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    payload = valid_payload(
        personalizations=[
            {"to": [{"email": "a@buyer.example.com"}], "subject": "Only A"},
            {"to": [{"email": "b@buyer.example.com"}], "subject": "Only B"},
        ]
    )
    del payload["subject"]

    sim_sendgrid.send(payload)

    assert [m.subject for m in sim.store.messages()] == ["Only A", "Only B"]


def test_listing_returns_messages_newest_last_with_documented_fields(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    for subject in ("first", "second", "third"):
        sim_sendgrid.send(valid_payload(subject=subject))

    listed = httpx.get(f"{sim.url}/_sim/messages").json()

    assert [m["subject"] for m in listed] == ["first", "second", "third"]
    newest = listed[-1]
    for field in (
        "recipient",
        "subject",
        "headers",
        "custom_args",
        "sent_at",
        "esp_message_id",
        "sg_message_id",
        "from_email",
        "from_name",
        "reply_to",
        "text",
        "html",
        "categories",
    ):
        assert field in newest
    sent_at = datetime.fromisoformat(newest["sent_at"])
    assert sent_at.utcoffset() == timedelta(0)
    assert [datetime.fromisoformat(m["sent_at"]) for m in listed] == sorted(
        datetime.fromisoformat(m["sent_at"]) for m in listed
    )


def test_listing_filters_by_recipient_message_id_and_custom_arg(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    sim_sendgrid.send(
        valid_payload(
            personalizations=[
                {"to": [{"email": "a@buyer.example.com"}], "custom_args": {"message_id": "m-a"}},
                {"to": [{"email": "b@buyer.example.com"}], "custom_args": {"message_id": "m-b"}},
            ]
        )
    )
    esp_message_id = sim_sendgrid.send(valid_payload()).headers["X-Message-Id"]

    def listed(**params: str) -> list[str]:
        found = httpx.get(f"{sim.url}/_sim/messages", params=params).json()
        return [m["recipient"] for m in found]

    assert listed(recipient="B@Buyer.example.com") == ["b@buyer.example.com"]
    assert listed(**{"custom_args.message_id": "m-a"}) == ["a@buyer.example.com"]
    assert listed(esp_message_id=esp_message_id) == ["lead@buyer.example.com"]
    assert listed(recipient="nobody@buyer.example.com") == []


def test_delete_clears_messages_and_pending_faults(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    sim_sendgrid.send(valid_payload())
    httpx.post(f"{sim.url}/_sim/faults", json={"status": 503, "count": 5}).raise_for_status()

    assert httpx.delete(f"{sim.url}/_sim/messages").status_code == 204

    assert httpx.get(f"{sim.url}/_sim/messages").json() == []
    assert httpx.get(f"{sim.url}/_sim/faults").json() == {"pending": []}
    assert sim_sendgrid.send(valid_payload()).status_code == 202


def test_template_send_needs_neither_subject_nor_content(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    payload = valid_payload(template_id="d-0123456789abcdef")
    del payload["subject"], payload["content"]

    assert sim_sendgrid.send(payload).status_code == 202

    [message] = sim.store.messages()
    assert message.template_id == "d-0123456789abcdef"
    assert (message.subject, message.text, message.html) == ("", None, None)
