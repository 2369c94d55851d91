"""The replies inbox over HTTP: replies posted to Inbound Parse come back from `GET /api/replies`
newest first with intent, confidence and cue (filtered by intent and time), `PATCH
/api/replies/{id}` corrects one and applies its effects once, `GET /api/enrollments/{id}` names
the intent an enrollment ended on, and a 30 MB reply is handled within the inbound limits."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from activities.contacts.consent import newest_consent_actions
from activities.events.replies import STORED_TEXT_MAX
from models.db import session_scope
from models.tables import ConsentAction, Enrollment, Reply, Suppression
from tests.api.test_inbound_webhook import reply_fields
from tests.factories import make_contact, make_sender, make_sent_message

AUTH = {"Authorization": "Bearer dev-api-token"}


@pytest.fixture
def sent(api_engine):
    make_sender(api_engine)
    contact = make_contact(api_engine, email="anna.schmidt@maschinen.example.de", first_name="Anna")
    return contact, make_sent_message(api_engine, contact)


def post_reply(client, contact, message, text: str, n: int) -> dict:
    fields = reply_fields(contact, message, text=text)
    fields["headers"] = fields["headers"].replace(
        f"<reply-{message.id}@", f"<reply-{n}-{message.id}@"
    )
    answer = client.post("/webhooks/sendgrid/inbound", data=fields)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_replies_are_listed_newest_first_with_intent_confidence_and_cue(
    client, api_engine, sent
) -> None:
    contact, message = sent
    assert post_reply(client, contact, message, "Thanks, received.", 1)["intent"] == "neutral"
    assert (
        post_reply(client, contact, message, "Please send me your price list and the MOQ.", 2)[
            "intent"
        ]
        == "interested"
    )
    assert (
        post_reply(client, contact, message, "Bitte senden Sie mir keine weiteren E-Mails.", 3)[
            "intent"
        ]
        == "opt_out"
    )

    answer = client.get("/api/replies", headers=AUTH)
    assert answer.status_code == 200
    listed = answer.json()["replies"]
    assert [r["intent"] for r in listed] == ["opt_out", "interested", "neutral"]
    for reply in listed:
        assert 0 <= reply["confidence"] <= 1
        assert reply["contact_id"] == str(contact.id)
        assert reply["workflow_id"] == message.workflow_id
        assert reply["sequence"] == "trade_intro"
    assert listed[0]["cue"]
    assert listed[0]["language"] == "de"
    assert listed[1]["text"] == "Please send me your price list and the MOQ."

    only = client.get("/api/replies", params={"intent": "interested"}, headers=AUTH).json()
    assert [r["intent"] for r in only["replies"]] == ["interested"]
    later = (datetime.fromisoformat(listed[0]["received_at"]) + timedelta(seconds=1)).isoformat()
    assert client.get("/api/replies", params={"since": later}, headers=AUTH).json() == {
        "replies": []
    }
    one = client.get(f"/api/replies/{listed[1]['id']}", headers=AUTH).json()
    assert one == listed[1]


def test_the_inbox_needs_the_token_and_refuses_bad_filters(client) -> None:
    assert client.get("/api/replies").status_code == 401
    assert client.patch("/api/replies/1", json={"intent": "opt_out"}).status_code == 401
    assert client.get("/api/replies", params={"intent": "maybe"}, headers=AUTH).status_code == 422
    # A time without a zone is ambiguous: refused, not guessed.
    naive = client.get("/api/replies", params={"since": "2026-12-01T10:00:00"}, headers=AUTH)
    assert naive.status_code == 422
    assert client.get("/api/replies/99", headers=AUTH).status_code == 404


def test_patch_corrects_an_intent_and_applies_its_effects_once(client, api_engine, sent) -> None:
    contact, message = sent
    post_reply(client, contact, message, "Thanks, received.", 1)
    [reply] = client.get("/api/replies", headers=AUTH).json()["replies"]

    answer = client.patch(f"/api/replies/{reply['id']}", json={"intent": "opt_out"}, headers=AUTH)
    assert answer.status_code == 200
    body = answer.json()
    assert body["changed"] is True
    assert (body["reply"]["intent"], body["reply"]["classified_intent"]) == ("opt_out", "neutral")
    with session_scope(api_engine) as s:
        assert newest_consent_actions(s, [contact.id])[contact.id] == ConsentAction.WITHDRAWN
        assert len(s.exec(select(Suppression)).all()) == 1

    again = client.patch(f"/api/replies/{reply['id']}", json={"intent": "opt_out"}, headers=AUTH)
    assert again.json()["changed"] is False
    back = client.patch(f"/api/replies/{reply['id']}", json={"intent": "neutral"}, headers=AUTH)
    assert back.status_code == 200
    with session_scope(api_engine) as s:  # no re-subscribe: consent comes back from the contact
        assert newest_consent_actions(s, [contact.id])[contact.id] == ConsentAction.WITHDRAWN

    for bad in ({"intent": "maybe"}, {}, {"intent": "opt_out", "extra": 1}):
        refused = client.patch(f"/api/replies/{reply['id']}", json=bad, headers=AUTH)
        assert refused.status_code == 422, bad
    missing = client.patch("/api/replies/4242", json={"intent": "opt_out"}, headers=AUTH)
    assert missing.status_code == 404


def test_the_enrollment_names_the_intent_it_ended_on(client, api_engine, sent) -> None:
    contact, message = sent
    post_reply(client, contact, message, "Please send me your catalogue.", 1)
    with session_scope(api_engine) as s:  # as the finish activity mirrors the end
        row = s.get(Enrollment, message.workflow_id)
        row.outcome, row.reply_intent = "replied", "interested"
        s.add(row)

    # Temporal is unreachable here: the SQL mirror answers.
    view = client.get(f"/api/enrollments/{message.workflow_id}", headers=AUTH).json()
    assert (view["source"], view["outcome"], view["reply_intent"]) == (
        "database",
        "replied",
        "interested",
    )


def test_a_30_mb_reply_is_classified_and_stored_bounded(client, api_engine, sent) -> None:
    contact, message = sent
    huge = "Please send me a quotation.\n" + ("lorem ipsum dolor sit amet " * 1_100_000)
    assert len(huge) > 29_000_000
    answer = post_reply(client, contact, message, huge, 1)
    assert answer["intent"] == "interested"
    with session_scope(api_engine) as s:
        [reply] = s.exec(select(Reply)).all()
        assert len(reply.text) <= STORED_TEXT_MAX
