"""Logs: JSON lines with the promised keys, one access line per request with the route template
(never a token), and no personal data at DEBUG through an import, a send, webhooks, an
unsubscribe, a forwarding pass and an erasure."""

from __future__ import annotations

import io
import logging
from uuid import uuid4

import structlog
from sqlmodel import select
from structlog.testing import capture_logs

from activities.enrollment.sending import Links
from models.db import session_scope
from models.log_setup import configure_logging
from models.tables import Contact, Message
from tests.factories import (
    INBOUND_DOMAIN,
    PUBLIC_URL,
    SECRET,
    make_sender,
    sendgrid_event,
    sending_service,
    step_input,
)
from tests.observability.conftest import JsonLog
from tests.sim_fixtures import SIM_API_KEY

AUTH = {"Authorization": "Bearer dev-api-token"}

#: The test person: distinctive enough that any appearance in the logs is theirs.
EMAIL = "ottilie.vandersloot@kyriakou-armaturen.example.de"
FIRST_NAME = "Ottilie"
LAST_NAME = "Vandersloot-Kyriakou"
COMPANY = "Kyriakou Armaturen GmbH"
#: A rejected row of the same import, with its own person in it.
BAD_EMAIL = "bartholomew.quenneville@@broken"
BAD_NAME = "Quenneville"


def test_json_lines_carry_timestamp_level_logger_event_and_context(json_log: JsonLog) -> None:
    logging.getLogger("activities.enrollment.sending").info(
        "sent message %s", "m-1", extra={"contact_id": "c-1"}
    )
    structlog.stdlib.get_logger("api.access").info("request", method="GET", status=200)
    logging.getLogger("activities.enrollment.sending").debug("details")

    first, second, third = json_log.lines()
    assert first["event"] == "sent message m-1"
    assert first["contact_id"] == "c-1"
    assert {"timestamp", "level", "logger", "event"} <= set(first) & set(second)
    assert (first["level"], first["logger"]) == ("info", "activities.enrollment.sending")
    assert first["timestamp"].endswith("Z")
    assert second == second | {"event": "request", "method": "GET", "status": 200}
    assert third["level"] == "debug"


def test_console_format_is_one_readable_line_and_respects_the_level() -> None:
    stream = io.StringIO()
    try:
        configure_logging(log_format="console", level="WARNING", stream=stream)
        logging.getLogger("worker").info("hidden")
        logging.getLogger("worker").warning("sender %s paused", "default")
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "nurture"]:
            root.removeHandler(handler)
        root.setLevel(logging.WARNING)
        structlog.reset_defaults()
    [line] = stream.getvalue().splitlines()
    assert "sender default paused" in line
    assert "[worker]" in line
    assert "hidden" not in line


def test_one_access_line_per_request_with_the_route_template(client) -> None:
    token = (
        Links(PUBLIC_URL, INBOUND_DOMAIN, SECRET).unsubscribe_url(str(uuid4())).rsplit("/", 1)[1]
    )
    with capture_logs() as logs:
        client.get("/healthz")
        client.get(f"/u/{token}")
        client.get("/c/opt-in-token-123")
        client.get("/no/such/path/secret-ish")

    access = [entry for entry in logs if entry["event"] == "request"]
    assert [(a["method"], a["path"], a["status"], a["log_level"]) for a in access] == [
        ("GET", "/healthz", 200, "debug"),  # probes are DEBUG
        ("GET", "/u/{token}", 404, "info"),  # the message does not exist: the page says so
        ("GET", "/c/{token}", 404, "info"),
        ("GET", "<unmatched>", 404, "info"),
    ]
    assert all(isinstance(a["duration_ms"], float) for a in access)
    assert token not in repr(logs)
    assert "opt-in-token-123" not in repr(logs)
    assert "secret-ish" not in repr(logs)


async def test_no_personal_data_in_logs_at_debug(
    json_log: JsonLog, client, poster, api_engine, sim
) -> None:
    make_sender(api_engine)

    # An import with a bad row.
    imported = client.post(
        "/api/contacts",
        json=[
            {
                "email": EMAIL,
                "first_name": FIRST_NAME,
                "last_name": LAST_NAME,
                "company": COMPANY,
                "country": "US",
                "consent_source": "trade fair badge scan",
            },
            {"email": BAD_EMAIL, "last_name": BAD_NAME},
        ],
        headers=AUTH,
    ).json()
    assert imported["created"] == 1
    assert len(imported["rejected"]) == 1
    with session_scope(api_engine) as s:
        contact = s.exec(select(Contact).where(Contact.email == EMAIL)).one()

    # A send through the simulator (the real sendgrid client, which logs payloads at DEBUG).
    sent = sending_service(api_engine, sim.url, SIM_API_KEY).send_step(step_input(contact))
    assert len(sim.store.messages()) == 1
    with session_scope(api_engine) as s:
        message = s.get(Message, sent.message_id)
    assert message is not None

    # Webhooks: events carrying the address, and a reply signed with the person's name.
    poster.post([sendgrid_event(kind, message, email=EMAIL) for kind in ("delivered", "open")])
    reply_to = Links(PUBLIC_URL, INBOUND_DOMAIN, SECRET).reply_to(message.id)
    sender_line = f"{FIRST_NAME} {LAST_NAME} <{EMAIL}>"
    reply = client.post(
        "/webhooks/sendgrid/inbound",
        data={
            "headers": f"From: {sender_line}\nTo: {reply_to}\nSubject: Re: offer\n"
            f"Message-ID: <reply-{message.id}@kyriakou-armaturen.example.de>\n",
            "from": sender_line,
            "to": reply_to,
            "subject": "Re: offer",
            "text": f"Please call me. {FIRST_NAME} {LAST_NAME}, {COMPANY}",
            "envelope": f'{{"to":["{reply_to}"],"from":"{EMAIL}"}}',
        },
    )
    assert reply.json()["correlated"] is True

    # An unsubscribe by link, a forwarding pass while Temporal is away, and the erasure.
    token = Links(PUBLIC_URL, INBOUND_DOMAIN, SECRET).unsubscribe_url(message.id).rsplit("/", 1)[1]
    assert client.post(f"/u/{token}", content="List-Unsubscribe=One-Click").status_code == 200
    assert (await client.app.state.services.forwarder.forward_pending()).failed > 0
    assert client.delete(f"/api/contacts/{contact.id}", headers=AUTH).status_code == 200

    text = json_log.text
    lines = json_log.lines()  # every line is JSON
    # Key/value events: ids as fields, queryable in JSON logs, not inside the message text.
    assert {"event": "message sent", "message_id": message.id} in [
        {k: line.get(k) for k in ("event", "message_id")} for line in lines
    ]
    assert {"event": "contact erased", "contact_id": str(contact.id)} in [
        {k: line.get(k) for k in ("event", "contact_id")} for line in lines
    ]
    assert not any(
        str(message.id) in str(line["event"]) or str(contact.id) in str(line["event"])
        for line in lines
    )
    assert any(line.get("path") == "/u/{token}" for line in lines)
    assert any(line["level"] == "debug" for line in lines)  # DEBUG was really on
    for personal in (
        EMAIL,
        EMAIL.split("@")[0],
        FIRST_NAME,
        LAST_NAME,
        COMPANY,
        BAD_EMAIL,
        BAD_NAME,
    ):
        assert personal.lower() not in text.lower(), f"{personal!r} logged"
    assert token not in text
    assert SIM_API_KEY not in text
