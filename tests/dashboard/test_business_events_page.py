"""The dashboard's business events page: behind the login like every page and linked from the
nav; newest first with the name, the contact's link, the live enrollments it was forwarded to
(signalled, late) and each triggered sequence enrolled, refused with the reason or pending;
filtered by name; hostile keys, properties and reasons escaped."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col

from activities.events.business import BusinessEventService
from activities.events.triggers import TriggeredSequence
from models.business_events import Trigger
from models.db import session_scope
from models.enrollment import enrollment_workflow_id
from models.tables import Contact, Event, TriggerEnrollment, TriggerStatus, utcnow
from tests.dashboard.conftest import BEARER, TEMPORAL_UI
from tests.dashboard.markup import Page
from tests.factories import make_contact, make_enrollment

HOSTILE = '<script>alert("x")</script>'


def lookup(name: str) -> list[TriggeredSequence]:
    if name == "quote_requested":
        return [
            TriggeredSequence("trade_intro", Trigger(name)),
            TriggeredSequence("quote_followup", Trigger(name)),
        ]
    return []


def store(engine: sa.Engine, contact: Contact, name: str, **kw: Any) -> uuid.UUID:
    item = {"id": f"k-{uuid.uuid4()}", "name": name, "contact": {"id": str(contact.id)}} | kw
    [result] = BusinessEventService(engine, lookup).store([item]).results
    assert result.event_id is not None, result.reason
    return result.event_id


def set_trigger(engine: sa.Engine, event_id: uuid.UUID, sequence: str, **values: Any) -> None:
    with session_scope(engine) as s:
        row = s.get(TriggerEnrollment, (event_id, sequence))
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        s.add(row)


def page(client: TestClient, path: str = "/business-events") -> Page:
    response = client.get(path, headers=BEARER)
    assert response.status_code == 200, response.text
    return Page(response.text)


def test_the_page_needs_a_login_and_is_in_the_nav(dash_client: TestClient) -> None:
    assert dash_client.get("/business-events").status_code == 303
    shown = page(dash_client, "/events")
    assert "/business-events" in shown.links
    assert page(dash_client).all("no-business-events")


def test_events_are_listed_newest_first_with_contact_deliveries_and_triggers(
    dash_client: TestClient, dash_engine: sa.Engine
) -> None:
    contact = make_contact(dash_engine, first_name="Anna", last_name="Schmidt")
    make_enrollment(dash_engine, contact, "trade_intro")
    meeting = store(dash_engine, contact, "meeting_booked")
    with session_scope(dash_engine) as s:  # the forwarder signalled it
        s.execute(
            sa.update(Event).where(col(Event.kind) == "business").values(forwarded_at=utcnow())
        )
    quote = store(dash_engine, contact, "quote_requested", properties={"product": "M8 bolts"})
    workflow_id = enrollment_workflow_id("quote_followup", contact.id)
    set_trigger(
        dash_engine, quote, "quote_followup", status=TriggerStatus.ENROLLED, workflow_id=workflow_id
    )
    set_trigger(
        dash_engine,
        quote,
        "trade_intro",
        status=TriggerStatus.REFUSED,
        reason=f"contact {contact.id} in trade_intro: an enrollment is still running",
    )

    shown = page(dash_client)

    assert shown.all("business-event-name") == ["quote_requested", "meeting_booked"]
    assert [a["data-event-id"] for a in shown.attrs_of["business-event-row"]] == [
        str(quote),
        str(meeting),
    ]
    assert shown.all("business-event-contact-link") == ["Anna Schmidt", "Anna Schmidt"]
    assert f"/contacts/{contact.id}" in shown.links
    assert shown.all("business-event-forwarded") == ["1 0 signalled", "1 1 signalled"]
    assert shown.all("business-event-properties") == ["product: M8 bolts", ""]
    assert shown.text("trigger-quote_followup") == "quote_followup: enrolled workflow"
    assert any(link.startswith(TEMPORAL_UI) and "quote_followup" in link for link in shown.links)
    assert shown.text("trigger-trade_intro") == (
        f"trade_intro: not enrolled contact {contact.id} in trade_intro: "
        "an enrollment is still running"
    )


def test_a_pending_trigger_shows_why_and_the_name_filter_narrows_the_list(
    dash_client: TestClient, dash_engine: sa.Engine
) -> None:
    contact = make_contact(dash_engine)
    quote = store(dash_engine, contact, "quote_requested")
    store(dash_engine, contact, "order_placed")
    set_trigger(dash_engine, quote, "trade_intro", reason="Temporal unreachable")

    only = page(dash_client, "/business-events?name=quote_requested&limit=10")
    everything = page(dash_client, "/business-events?name=&limit=10")

    assert only.all("business-event-name") == ["quote_requested"]
    assert only.text("trigger-trade_intro") == "trade_intro: pending Temporal unreachable"
    assert only.text("trigger-quote_followup") == "quote_followup: pending"
    assert len(everything.all("business-event-name")) == 2
    assert page(dash_client, "/business-events?name=became_customer").all("no-business-events")


def test_hostile_keys_properties_and_reasons_are_escaped(
    dash_client: TestClient, dash_engine: sa.Engine
) -> None:
    contact = make_contact(dash_engine, first_name=HOSTILE)
    quote = store(
        dash_engine,
        contact,
        "quote_requested",
        id=f"crm-{HOSTILE}",
        properties={HOSTILE: HOSTILE, "nested": {"html": HOSTILE}, "long": "y" * 500},
    )
    set_trigger(dash_engine, quote, "trade_intro", status=TriggerStatus.REFUSED, reason=HOSTILE)

    response = dash_client.get("/business-events", headers=BEARER)

    assert response.status_code == 200
    assert "<script" not in response.text
    assert "&lt;script&gt;" in response.text
    shown = Page(response.text)
    [properties] = shown.all("business-event-properties")
    assert HOSTILE in properties  # shown as text, escaped in the markup
    assert "y" * 79 + "…" in properties
    assert "y" * 80 not in properties


def test_the_limit_is_bounded(dash_client: TestClient, dash_engine: sa.Engine) -> None:
    contact = make_contact(dash_engine)
    for _ in range(3):
        store(dash_engine, contact, "meeting_booked")

    assert len(page(dash_client, "/business-events?limit=2").all("business-event-name")) == 2
    assert dash_client.get("/business-events?limit=5000", headers=BEARER).status_code == 422
