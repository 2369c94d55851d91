"""Business event properties for an enrollment, on each DB backend: the `event_property` activity
(a JSON value, None when absent, not found for an erased event or another contact's) and the send
step, whose template sees the triggering event's properties as `event` — escaped in the HTML, one
line in the subject, like contact data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from temporalio.testing import ActivityEnvironment

from activities.enrollment.activities import EnrollmentActivities
from activities.enrollment.event_properties import read_event_property
from activities.enrollment.rendering import EventProperties, Recipient, Renderer, SenderIdentity
from models.db import session_scope
from models.enrollment import EventPropertyInput
from models.tables import BusinessEvent, Contact
from tests.factories import TEMPLATES, make_contact, make_sender, sending_service, step_input
from tests.sim_fixtures import SIM_API_KEY

HOSTILE = '<a href="https://evil.example">Verify</a>\r\nBcc: x@evil.example \u202eoverride'
HOSTILE_LINE = '<a href="https://evil.example">Verify</a> Bcc: x@evil.example override'


def store_event(engine: sa.Engine, contact: Contact, **properties: Any) -> str:
    with session_scope(engine) as s:
        event = BusinessEvent(
            key=f"crm-{uuid.uuid4()}",
            name="quote_requested",
            contact_id=contact.id,
            occurred_at=datetime.now(UTC),
            properties=properties,
        )
        s.add(event)
    return str(event.id)


def activities(engine: sa.Engine) -> EnrollmentActivities:
    return EnrollmentActivities(engine, sending=None)  # type: ignore[arg-type]


# --- the event_property activity ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("valid_until", "2027-03-31"),
        ("quantity", 12000),
        ("sample", True),
        ("ports", ["Hamburg", "Rotterdam"]),
        ("terms", {"incoterm": "FOB", "days": 30}),
        ("absent", None),
    ],
)
def test_event_property_returns_the_json_value(engine, name: str, value: Any) -> None:
    contact = make_contact(engine)
    event_id = store_event(
        engine,
        contact,
        valid_until="2027-03-31",
        quantity=12000,
        sample=True,
        ports=["Hamburg", "Rotterdam"],
        terms={"incoterm": "FOB", "days": 30},
    )

    result = ActivityEnvironment().run(
        activities(engine).event_property,
        EventPropertyInput(event_id=event_id, contact_id=contact.id, name=name),
    )

    assert result.found
    assert result.value == value


def test_another_contacts_event_is_not_read(engine) -> None:
    owner, other = make_contact(engine), make_contact(engine)
    event_id = store_event(engine, owner, valid_until="2027-03-31")

    result = read_event_property(
        engine, EventPropertyInput(event_id=event_id, contact_id=other.id, name="valid_until")
    )

    assert not result.found
    assert result.value is None


@pytest.mark.parametrize("event_id", [str(uuid.uuid4()), "not-a-uuid"], ids=["erased", "malformed"])
def test_a_missing_event_reads_as_not_found(engine, event_id: str) -> None:
    contact = make_contact(engine)

    result = read_event_property(
        engine, EventPropertyInput(event_id=event_id, contact_id=contact.id, name="valid_until")
    )

    assert not result.found
    assert result.value is None


def test_the_activity_is_registered_with_the_worker(engine) -> None:
    names = [fn.__temporal_activity_definition.name for fn in activities(engine).all()]  # type: ignore[attr-defined]
    assert names == ["send_step", "finish_enrollment", "event_property"]


# --- templates see the trigger's properties ------------------------------------------------------

SENDER = SenderIdentity("Li Wei", "li.wei@factory.example.cn", "88 Harbour Road, Ningbo")
CONTACT = Recipient("Anna", "Schmidt", "Hansa Import GmbH", "DE", None, {})


@pytest.mark.parametrize("language", [None, "de"])
def test_a_hostile_property_is_escaped_in_html_plain_in_text_and_one_line_in_subject(
    language: str | None,
) -> None:
    renderer = Renderer(TEMPLATES)
    contact = Recipient("Anna", "Schmidt", "Hansa Import GmbH", "DE", language, {})
    benign = renderer.render(
        "quote_followup/quote",
        contact,
        SENDER,
        unsubscribe_url="https://n.example/u/t",
        event={"product": "hex bolts", "quote_number": "Q-1", "valid_until": "2027-03-31"},
    )
    email = renderer.render(
        "quote_followup/quote",
        contact,
        SENDER,
        unsubscribe_url="https://n.example/u/t",
        event={"product": HOSTILE, "quote_number": HOSTILE, "valid_until": HOSTILE},
    )

    # HTML: the same elements as with benign values, the property's markup shown as text.
    assert email.html.count("<a ") == benign.html.count("<a ")
    assert 'href="https://evil.example"' not in email.html
    assert "&lt;a href=&#34;https://evil.example&#34;&gt;Verify&lt;/a&gt;" in email.html
    assert "\u202e" not in email.html
    # Text: as written, on one line.
    assert f"{HOSTILE_LINE}\n" in email.text
    assert "&lt;" not in email.text
    assert not any(line.startswith("Bcc:") for line in email.text.splitlines())
    # Subject: one clean header line.
    assert email.subject.endswith(f"{HOSTILE_LINE}: {HOSTILE_LINE}")
    assert "\r" not in email.subject
    assert "\n" not in email.subject
    assert "\u202e" not in email.subject


def test_event_properties_read_like_contact_fields() -> None:
    event = EventProperties({"product": "bolts\r\nBcc: x", "items": 3, "unit price": "1.20"})

    assert event.product == "bolts Bcc: x"
    assert event.items == 3  # a property, not a dict method
    assert event["unit price"] == "1.20"
    assert event.absent is None
    assert "product" in event
    assert event
    assert not EventProperties(None)
    assert "bolts" not in repr(event)  # names only: a repr may reach a log
    with pytest.raises(AttributeError):
        event.product = "x"


def test_a_link_may_not_be_named_event() -> None:
    with pytest.raises(ValueError, match="event"):
        Renderer(TEMPLATES).render_blocks(
            "quote_followup/quote", CONTACT, SENDER, links={"event": "https://x.example"}
        )


# --- through the real send step into the simulator -----------------------------------------------


def test_send_step_renders_the_trigger_events_properties(engine: sa.Engine, sim: Any) -> None:
    make_sender(engine)
    contact = make_contact(engine)
    event_id = store_event(
        engine, contact, product=HOSTILE, quote_number="Q-2026-0142", valid_until="2027-03-31"
    )
    step = step_input(
        contact,
        "quote",
        sequence="quote_followup",
        template="quote_followup/quote",
        trigger_event_id=event_id,
    )

    sending_service(engine, sim.url, SIM_API_KEY).send_step(step)

    [mail] = httpx.get(f"{sim.url}/_sim/messages").json()
    assert mail["subject"] == f"Your quote Q-2026-0142: {HOSTILE_LINE}"
    assert "Valid until: 2027-03-31" in mail["text"]
    assert 'href="https://evil.example"' not in mail["html"]
    assert "<li>Quote number: Q-2026-0142</li>" in mail["html"]


def test_another_contacts_trigger_event_is_not_rendered(engine: sa.Engine, sim: Any) -> None:
    make_sender(engine)
    contact, other = make_contact(engine), make_contact(engine)
    event_id = store_event(engine, other, product="their secret product", quote_number="Q-9")
    step = step_input(
        contact,
        "quote",
        sequence="quote_followup",
        template="quote_followup/quote",
        trigger_event_id=event_id,
    )

    sending_service(engine, sim.url, SIM_API_KEY).send_step(step)

    [mail] = httpx.get(f"{sim.url}/_sim/messages").json()
    assert mail["subject"] == "Your quote"
    assert "their secret product" not in mail["text"]
    assert "Q-9" not in mail["html"]
