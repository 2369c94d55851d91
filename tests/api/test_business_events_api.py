"""POST /api/events: one event or an array of up to 1,000, answered item by item (stored,
duplicate, rejected with the reason) once committed; valid items stored even when others are
rejected; an unknown contact rejected, nothing created; 400 for a body that is not JSON of that
shape, 413 past 1,000 items or the size bound, 401 without the token; the triggered
enrollments reported per item (enrolled, refused with the reason, pending while Temporal is
unreachable) — the last on the time-skipping server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.events.business import BusinessEventService
from activities.events.triggers import TriggeredSequence, TriggerRunner
from api.app import create_app
from api.events import MAX_BODY_BYTES, MAX_EVENTS
from models.business_events import Trigger
from models.db import session_scope
from models.enrollment import enrollment_workflow_id
from models.settings import Settings
from models.tables import BusinessEvent, Contact, Event, TriggerEnrollment
from tests.factories import make_contact, make_enrollment, make_sender
from tests.workflows.scenarios import start_env

TOKEN = "events-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def lookup(name: str) -> list[TriggeredSequence]:
    """The tests' triggers: `quote_requested` enrolls in trade_intro."""
    if name == "quote_requested":
        return [TriggeredSequence("trade_intro", Trigger("quote_requested"))]
    return []


@pytest.fixture
def api(client: TestClient, api_engine: sa.Engine) -> TestClient:
    """The app without Temporal (its address refuses), with a token and the tests' triggers."""
    client.app.state.settings.api_token = TOKEN  # type: ignore[attr-defined]
    services = client.app.state.services  # type: ignore[attr-defined]
    services.business_events = BusinessEventService(api_engine, triggers=lookup)
    services.triggers = TriggerRunner(
        api_engine, services.forwarder.client, "unused", triggers=lookup
    )
    return client


def item(who: Contact | None = None, **kw: Any) -> dict[str, Any]:
    """A posted event about `who` (by address; `contact=` names the contact otherwise)."""
    values: dict[str, Any] = {"id": f"evt-{uuid.uuid4()}", "name": "meeting_booked"}
    if who is not None:
        values["contact"] = {"email": who.email}
    return values | kw


def stored(engine: sa.Engine) -> list[BusinessEvent]:
    with session_scope(engine) as s:
        return list(s.exec(select(BusinessEvent)).all())


# --- the per-item report ---------------------------------------------------------------------------


def test_one_event_object_is_stored_and_reported(api: TestClient, api_engine: sa.Engine) -> None:
    contact = make_contact(api_engine)
    posted = item(contact, properties={"slot": "2026-12-09T10:00:00+01:00"})

    response = api.post("/api/events", json=posted, headers=AUTH)

    assert response.status_code == 200, response.text
    body = response.json()
    [event] = stored(api_engine)
    assert body == {
        "results": [
            {"id": posted["id"], "index": 0, "status": "stored", "event_id": str(event.id)}
        ],
        "stored": 1,
        "duplicates": 0,
        "rejected": 0,
    }
    assert (event.key, event.name, event.contact_id) == (posted["id"], "meeting_booked", contact.id)


def test_a_mixed_batch_stores_the_valid_items_and_rejects_the_others_with_reasons(
    api: TestClient, api_engine: sa.Engine
) -> None:
    contact = make_contact(api_engine, external_id="crm-4711")
    batch = [
        item(contact),
        item(contact, name="Meeting Booked"),
        item(contact={"external_id": "crm-0000"}),
        item(contact={"external_id": "crm-4711"}, name="order_placed"),
        {"name": "order_placed", "contact": {"id": str(contact.id)}},
        "not an object",
        item(contact, name="open"),
    ]

    response = api.post("/api/events", json=batch, headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == [
        "stored",
        "rejected",
        "rejected",
        "stored",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert [r["index"] for r in body["results"]] == list(range(7))
    reasons = [r.get("reason") for r in body["results"]]
    assert reasons[0] is None
    assert "not lowercase snake_case" in reasons[1]
    assert reasons[2] == "unknown contact with external_id 'crm-0000': add the contact first"
    assert reasons[4] == "id: Field required"
    assert "id" not in body["results"][4]
    assert reasons[5] == "each event must be a JSON object"
    assert "ESP event kind" in reasons[6]
    assert (body["stored"], body["duplicates"], body["rejected"]) == (2, 0, 5)
    assert sorted(e.name for e in stored(api_engine)) == ["meeting_booked", "order_placed"]


def test_a_repost_is_a_duplicate_of_the_stored_event(
    api: TestClient, api_engine: sa.Engine
) -> None:
    posted = item(make_contact(api_engine))
    first = api.post("/api/events", json=[posted], headers=AUTH).json()

    again = api.post("/api/events", json=posted, headers=AUTH).json()

    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["event_id"] == first["results"][0]["event_id"]
    assert (again["stored"], again["duplicates"]) == (0, 1)
    assert len(stored(api_engine)) == 1


def test_an_unknown_address_is_rejected_without_echoing_it_and_nothing_is_created(
    api: TestClient, api_engine: sa.Engine
) -> None:
    posted = item(contact={"email": "stranger@buyer.example.com"})

    body = api.post("/api/events", json=posted, headers=AUTH).json()

    [result] = body["results"]
    assert result["status"] == "rejected"
    assert result["reason"] == "unknown contact with that email: add the contact first"
    assert stored(api_engine) == []
    with session_scope(api_engine) as s:
        assert s.exec(select(Contact)).all() == []


def test_an_empty_array_is_an_empty_report(api: TestClient) -> None:
    response = api.post("/api/events", json=[], headers=AUTH)

    assert response.status_code == 200
    assert response.json() == {"results": [], "stored": 0, "duplicates": 0, "rejected": 0}


def test_the_event_is_queued_to_live_enrollments_before_the_answer_without_properties(
    api: TestClient, api_engine: sa.Engine
) -> None:
    contact = make_contact(api_engine)
    workflow_id = make_enrollment(api_engine, contact)

    body = api.post(
        "/api/events", json=item(contact, properties={"phone": "+49 170 555"}), headers=AUTH
    ).json()

    with session_scope(api_engine) as s:
        [row] = s.exec(select(Event).where(Event.workflow_id == workflow_id)).all()
    assert row.payload is not None
    assert row.payload["event_id"] == body["results"][0]["event_id"]
    assert "+49 170 555" not in json.dumps(row.payload)
    assert "+49 170 555" not in json.dumps(body)


# --- refused bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}], ids=["none", "wrong"])
def test_without_the_token_it_is_401_and_nothing_is_stored(
    api: TestClient, api_engine: sa.Engine, headers: dict[str, str]
) -> None:
    response = api.post("/api/events", json=item(make_contact(api_engine)), headers=headers)

    assert response.status_code == 401
    assert stored(api_engine) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"id": "a", "name": ', "not valid JSON"),
        (b"\xff\xfe not utf-8", "not valid JSON"),
        (b'{"id": "a", "name": "x", "properties": {"n": NaN}}', "not valid JSON"),
        (b'"meeting_booked"', "an event object or a JSON array"),
        (b"42", "an event object or a JSON array"),
    ],
    ids=["truncated", "bytes", "nan", "string", "number"],
)
def test_a_body_that_is_not_an_event_or_an_array_of_them_is_400(
    api: TestClient, body: bytes, says: str
) -> None:
    response = api.post(
        "/api/events", content=body, headers=AUTH | {"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_more_than_1000_items_is_413_and_nothing_is_stored(
    api: TestClient, api_engine: sa.Engine
) -> None:
    contact = make_contact(api_engine)

    response = api.post(
        "/api/events", json=[item(contact) for _ in range(MAX_EVENTS + 1)], headers=AUTH
    )

    assert response.status_code == 413
    assert "at most 1000" in response.json()["detail"]
    assert stored(api_engine) == []
    assert api.post("/api/events", json=[], headers=AUTH).status_code == 200


def test_a_body_over_the_size_bound_is_413(api: TestClient, api_engine: sa.Engine) -> None:
    posted = item(make_contact(api_engine), properties={"blob": "x" * MAX_BODY_BYTES})

    response = api.post("/api/events", json=posted, headers=AUTH)

    assert response.status_code == 413
    assert stored(api_engine) == []


def test_1000_items_are_taken(api: TestClient, api_engine: sa.Engine) -> None:
    contact = make_contact(api_engine)

    response = api.post(
        "/api/events", json=[item(contact) for _ in range(MAX_EVENTS)], headers=AUTH
    )

    assert response.status_code == 200
    assert response.json()["stored"] == MAX_EVENTS


# --- triggers --------------------------------------------------------------------------------------


def test_with_temporal_unreachable_a_trigger_is_reported_pending(
    api: TestClient, api_engine: sa.Engine
) -> None:
    make_sender(api_engine)
    contact = make_contact(api_engine)

    body = api.post("/api/events", json=item(contact, name="quote_requested"), headers=AUTH).json()

    [result] = body["results"]
    assert result["status"] == "stored"
    assert result["triggered"] == [
        {
            "sequence": "trade_intro",
            "enrolled": False,
            "status": "pending",
            "reason": "Temporal unreachable",
        }
    ]
    with session_scope(api_engine) as s:
        [row] = s.exec(select(TriggerEnrollment)).all()
    assert row.status == "pending"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_env()
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest_asyncio.fixture
async def live_api(
    api_settings: Settings, temporal: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on this test's event loop (where the Temporal client lives), enrolling on a
    queue no worker polls."""
    app = create_app(api_settings.model_copy(update={"api_token": TOKEN}), run_forwarder=False)
    engine = app.state.services.engine

    async def connect() -> Client:
        return temporal.client

    app.state.services.business_events = BusinessEventService(engine, triggers=lookup)
    app.state.services.triggers = TriggerRunner(
        engine, connect, f"nobody-{uuid.uuid4()}", triggers=lookup
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://nurture.test") as client:
        yield client


async def test_a_triggering_event_reports_enrolled_or_refused_per_item_and_once_per_id(
    live_api: httpx.AsyncClient, api_engine: sa.Engine
) -> None:
    make_sender(api_engine)
    mailable = make_contact(api_engine)
    no_consent = make_contact(api_engine, consent=None)
    quote = item(mailable, name="quote_requested")
    batch = [quote, item(no_consent, name="quote_requested"), item(mailable)]

    body = (await live_api.post("/api/events", json=batch, headers=AUTH)).json()

    enrolled, refused, meeting = body["results"]
    workflow_id = enrollment_workflow_id("trade_intro", mailable.id)
    assert enrolled["triggered"] == [
        {
            "sequence": "trade_intro",
            "enrolled": True,
            "status": "enrolled",
            "workflow_id": workflow_id,
        }
    ]
    [refusal] = refused["triggered"]
    assert (refusal["enrolled"], refusal["status"]) == (False, "refused")
    assert refusal["reason"] == f"contact {no_consent.id} has no consent on record"
    assert "triggered" not in meeting

    again = (await live_api.post("/api/events", json=quote, headers=AUTH)).json()

    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["triggered"] == enrolled["triggered"]
    with session_scope(api_engine) as s:
        rows = s.exec(select(TriggerEnrollment)).all()
    assert sorted(r.status for r in rows) == ["enrolled", "refused"]
