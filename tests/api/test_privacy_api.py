"""`/api/contacts/{id}`: export and erasure over HTTP, bearer-protected, 404 for the unknown."""

from __future__ import annotations

from uuid import uuid4

import pytest
from sqlmodel import select

from api import privacy
from models.db import session_scope
from models.tables import Contact, Event, EventSignal, Message, Suppression, address_hash
from tests.factories import make_contact, make_enrollment, make_sent_message

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def api(client, api_settings):
    client.app.state.settings.api_token = "test-token"
    paths = {getattr(route, "path", None) for route in client.app.routes}
    if "/api/contacts/{contact_id}/export" not in paths:  # until api/app.py includes it
        client.app.include_router(privacy.router)
    return client


@pytest.fixture
def wakes(api, monkeypatch):
    calls: list[None] = []
    monkeypatch.setattr(api.app.state.services.forwarder, "wake", lambda: calls.append(None))
    return calls


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/api/contacts/{id}"), ("GET", "/api/contacts/{id}/export")]
)
def test_privacy_endpoints_without_the_right_bearer_token_are_401(
    api, api_engine, headers, method, path
):
    contact = make_contact(api_engine)
    response = api.request(method, path.format(id=contact.id), headers=headers)
    assert response.status_code == 401
    with session_scope(api_engine) as s:
        assert s.get(Contact, contact.id) is not None


def test_export_returns_everything_held_on_the_contact(api, api_engine):
    contact = make_contact(api_engine, custom={"booth": "Hall 3"})
    message = make_sent_message(api_engine, contact)

    response = api.get(f"/api/contacts/{contact.id}/export", headers=AUTH)

    assert response.status_code == 200
    data = response.json()
    assert data["generated_at"]
    assert data["contact"]["email"] == contact.email
    assert data["contact"]["custom"] == {"booth": "Hall 3"}
    assert [c["action"] for c in data["consents"]] == ["granted"]
    assert [e["sequence"] for e in data["enrollments"]] == ["trade_intro"]
    assert [m["subject"] for m in data["messages"]] == [message.subject]
    assert data["suppression"]["suppressed"] is False


def test_erase_deletes_the_contact_suppresses_and_cancels_and_wakes_the_forwarder(
    api, api_engine, wakes
):
    contact = make_contact(api_engine)
    make_sent_message(api_engine, contact)
    workflow_id = make_enrollment(api_engine, contact)

    response = api.delete(f"/api/contacts/{contact.id}", headers=AUTH)

    assert response.status_code == 200
    report = response.json()
    assert report["erased"] is True
    assert report["contact_id"] == str(contact.id)
    assert report["enrollments_cancelled"] == 1
    assert report["messages_deleted"] == 1
    assert wakes == [None]
    with session_scope(api_engine) as s:
        assert s.get(Contact, contact.id) is None
        assert s.exec(select(Message)).all() == []
        assert s.get(Suppression, address_hash(contact.email)) is not None
        [cancel] = s.exec(select(Event).where(Event.signal == EventSignal.CANCEL)).all()
        assert cancel.workflow_id == workflow_id
        assert cancel.forwarded_at is None


def test_erasing_twice_is_harmless_and_the_second_is_404(api, api_engine, wakes):
    contact = make_contact(api_engine)
    assert api.delete(f"/api/contacts/{contact.id}", headers=AUTH).status_code == 200

    again = api.delete(f"/api/contacts/{contact.id}", headers=AUTH)

    assert again.status_code == 404
    assert wakes == [None]
    with session_scope(api_engine) as s:
        assert s.get(Suppression, address_hash(contact.email)) is not None


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/api/contacts/{id}"), ("GET", "/api/contacts/{id}/export")]
)
def test_unknown_contact_is_404(api, method, path):
    response = api.request(method, path.format(id=uuid4()), headers=AUTH)
    assert response.status_code == 404


def test_a_contact_id_that_is_not_a_uuid_is_422(api):
    assert api.get("/api/contacts/someone@example.com/export", headers=AUTH).status_code == 422
