"""The dashboard's replies inbox: behind the login and in the nav; newest first with intent,
confidence, cue, contact and an excerpt; filtered by intent; one reply's page with what the
person wrote (quotes removed), the referred address and a correction's trace; hostile reply text
and names escaped; an unknown reply is a 404 page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from activities.events.ingest import EventIngestService
from activities.events.replies import ReplyService
from activities.replies.corrections import ReplyCorrections
from models.db import session_scope
from models.inbound import InboundMessage
from models.replies import ReplyIntent
from models.tables import Reply, Sender
from models.tokens import TokenPurpose, sign
from tests.dashboard.conftest import BEARER
from tests.dashboard.markup import Page
from tests.factories import SECRET, make_contact, make_sender, make_sent_message

HOSTILE = '<script>alert("x")</script>'
NOW = datetime.now(UTC)


def page(client: TestClient, path: str = "/replies") -> Page:
    response = client.get(path, headers=BEARER)
    assert response.status_code == 200, response.text
    return Page(response.text)


def reply(engine: sa.Engine, text: str, *, minutes_ago: int, first_name: str = "Anna") -> int:
    """A reply stored as the inbound webhook stores it (the real classifier), its id."""
    with session_scope(engine) as s:
        known = s.get(Sender, "default") is not None
    if not known:
        make_sender(engine)
    contact = make_contact(
        engine, email=f"buyer-{uuid.uuid4().hex[:6]}@importer.example.de", first_name=first_name
    )
    message = make_sent_message(engine, contact)
    ReplyService(engine, EventIngestService(engine), SECRET).record(
        InboundMessage(
            from_email=contact.email,
            subject="Re: a reliable supplier",
            text=text,
            message_id=f"<{uuid.uuid4()}@importer.example.de>",
            reply_tokens=[sign(SECRET, TokenPurpose.REPLY, message.id)],
        ),
        received=NOW - timedelta(minutes=minutes_ago),
    )
    with session_scope(engine) as s:
        [row] = s.exec(sa.select(Reply.id).where(Reply.contact_id == contact.id)).all()
    return int(row[0])


def test_the_inbox_needs_a_login_and_is_in_the_nav(dash_client: TestClient) -> None:
    assert dash_client.get("/replies").status_code == 303
    assert "/replies" in page(dash_client, "/events").links
    assert page(dash_client).all("no-replies")


def test_replies_newest_first_with_intent_confidence_cue_and_a_filter(
    dash_client: TestClient, dash_engine: sa.Engine
) -> None:
    older = reply(dash_engine, "Please send me your catalogue and price list.", minutes_ago=30)
    newer = reply(
        dash_engine,
        "Bitte keine weiteren E-Mails.\n\nAm 20.11.2026 schrieb Li Wei:\n> Our catalogue",
        minutes_ago=5,
    )

    shown = page(dash_client)

    assert [a["data-reply-id"] for a in shown.attrs_of["reply-row"]] == [str(newer), str(older)]
    assert shown.all("reply-intent") == ["opt_out", "interested"]
    for confidence in shown.all("reply-confidence"):
        assert 0.0 < float(confidence) <= 1.0
    assert all(shown.all("reply-cue"))
    assert shown.all("reply-excerpt")[0] == "Bitte keine weiteren E-Mails."
    only = page(dash_client, "/replies?intent=interested")
    assert only.all("reply-intent") == ["interested"]
    assert page(dash_client, "/replies?intent=wrong_person").all("no-replies")
    assert len(page(dash_client, "/replies?intent=&limit=1").all("reply-row")) == 1


def test_one_reply_shows_the_words_the_referral_and_a_correction(
    dash_client: TestClient, dash_engine: sa.Engine
) -> None:
    reply_id = reply(
        dash_engine,
        "I left the company in May. Please contact my colleague at j.weber@importer.example.de.",
        minutes_ago=1,
    )
    shown = page(dash_client, f"/replies/{reply_id}")
    assert shown.text("reply-intent") == "wrong_person"
    assert shown.text("reply-referred").startswith("j.weber@importer.example.de")
    assert "I left the company in May." in shown.text("reply-text")

    ReplyCorrections(dash_engine, EventIngestService(dash_engine), None).correct(
        reply_id, ReplyIntent.NEUTRAL
    )
    corrected = dash_client.get(f"/replies/{reply_id}", headers=BEARER).text
    assert "the classifier said wrong_person" in corrected


def test_hostile_reply_text_and_names_are_escaped(
    dash_client: TestClient, dash_engine: sa.Engine
) -> None:
    reply_id = reply(dash_engine, f"Price please {HOSTILE}", minutes_ago=1, first_name=HOSTILE)
    for path in ("/replies", f"/replies/{reply_id}"):
        html = dash_client.get(path, headers=BEARER).text
        assert HOSTILE not in html
        assert "&lt;script&gt;" in html


def test_an_unknown_reply_is_a_not_found_page(dash_client: TestClient) -> None:
    response = dash_client.get("/replies/4242", headers=BEARER)
    assert response.status_code == 404
    assert "reply" in response.text
