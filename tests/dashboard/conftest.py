"""Dashboard fixtures: an app with an API token, a cohort seeded through the real webhook path
(signed SendGrid events into the live ingest), and a reader of the pages' `data-testid` values."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from activities.events.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from api.app import create_app
from models.db import get_engine, session_scope
from models.enrollment import enrollment_workflow_id
from models.settings import Settings
from models.tables import (
    Cohort,
    CohortMember,
    CohortStatus,
    Contact,
    Enrollment,
    MemberStatus,
    Message,
    MessageStatus,
    utcnow,
)
from tests.api.conftest import api_settings, webhook_keys
from tests.factories import (
    make_contact,
    make_sender,
    sendgrid_event,
)

#: The API tests' fixtures, shared (pytest finds fixtures of another folder's conftest only so).
__all__ = ["api_settings", "webhook_keys"]

API_TOKEN = "dash-token-0123456789"
TEMPORAL_UI = "http://temporal-ui.example.test:8233"


@pytest.fixture
def dash_settings(api_settings: Settings) -> Settings:
    """The API tests' settings (no Temporal: pages read the database only), with a token."""
    return api_settings.model_copy(update={"api_token": API_TOKEN, "temporal_ui_url": TEMPORAL_UI})


@pytest.fixture
def dash_engine(dash_settings: Settings) -> sa.Engine:
    return get_engine(dash_settings.effective_database_url)


@pytest.fixture
def dash_client(dash_settings: Settings) -> Iterator[TestClient]:
    """An anonymous client (no token, no cookie) that does not follow redirects."""
    with TestClient(create_app(dash_settings, run_forwarder=False), follow_redirects=False) as c:
        yield c


BEARER = {"Authorization": f"Bearer {API_TOKEN}"}


def post_events(client: TestClient, private_pem: str, events: list[dict]) -> None:
    """Post one Event Webhook batch signed as SendGrid signs it."""
    body = json.dumps(events).encode()
    ts = str(int(time.time()))
    response = client.post(
        "/webhooks/sendgrid/events",
        content=body,
        headers={
            SIGNATURE_HEADER: sign(private_pem, body, ts),
            TIMESTAMP_HEADER: ts,
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200, response.text


@dataclass
class SeededCohort:
    cohort_id: str
    name: str
    contacts: list[Contact]
    skipped: Contact
    intro: list[Message]


def seed_cohort(
    engine: sa.Engine,
    client: TestClient,
    private_pem: str,
    *,
    name: str = "DE machinery Q4",
    company: str = "Schmidt Maschinen GmbH",
) -> SeededCohort:
    """A running cohort of four enrolled contacts and one skipped: intro sent to all four,
    a case study to one; events posted through the signed webhook (delivered ×4, a human open
    and a click, a machine open, a hard bounce, an unsubscribe)."""
    make_sender(engine)
    contacts = [
        make_contact(engine, email=f"buyer{i}@importer{i}.example.de", company=company)
        for i in range(4)
    ]
    skipped = make_contact(engine, consent=None, email="noconsent@importer.example.de")
    cohort_id = f"cohort-{uuid.uuid4().hex[:8]}"
    now = utcnow()
    intro: list[Message] = []
    with session_scope(engine) as s:
        s.add(
            Cohort(
                id=cohort_id,
                name=name,
                sequence="trade_intro",
                sender_id="default",
                status=CohortStatus.RUNNING,
                launched_at=now,
            )
        )
        s.flush()
        for i, contact in enumerate(contacts):
            workflow_id = enrollment_workflow_id("trade_intro", contact.id)
            s.add(
                CohortMember(
                    cohort_id=cohort_id,
                    contact_id=contact.id,
                    status=MemberStatus.ENROLLED,
                    workflow_id=workflow_id,
                )
            )
            s.add(
                Enrollment(
                    workflow_id=workflow_id,
                    sequence="trade_intro",
                    contact_id=contact.id,
                    cohort_id=cohort_id,
                    sender_id="default",
                    outcome="bounced" if i == 2 else None,
                    started_at=now,
                    ended_at=now if i == 2 else None,
                )
            )
            message = Message(
                id=str(uuid.uuid4()),
                workflow_id=workflow_id,
                contact_id=contact.id,
                sequence="trade_intro",
                step="intro",
                sender_id="default",
                cohort_id=cohort_id,
                status=MessageStatus.SENT,
                esp_message_id=f"X{uuid.uuid4().hex[:21]}",
                rfc_message_id=f"<{uuid.uuid4()}@factory.example.cn>",
                subject=f"{company}: a reliable supplier",
                created_at=now + timedelta(milliseconds=1),
                sent_at=now + timedelta(milliseconds=1),
            )
            s.add(message)
            intro.append(message)
        s.add(
            Message(
                id=str(uuid.uuid4()),
                workflow_id=intro[0].workflow_id,
                contact_id=contacts[0].id,
                sequence="trade_intro",
                step="case_study",
                sender_id="default",
                cohort_id=cohort_id,
                status=MessageStatus.SENT,
                subject="How a German OEM cut lead times",
                sent_at=now + timedelta(milliseconds=2),
            )
        )
        s.add(
            CohortMember(
                cohort_id=cohort_id,
                contact_id=skipped.id,
                status=MemberStatus.SKIPPED,
                reason="no_consent: no consent evidence",
            )
        )
    events = [
        sendgrid_event("delivered", m, email=c.email) for m, c in zip(intro, contacts, strict=True)
    ]
    events += [
        sendgrid_event("open", intro[0], email=contacts[0].email),
        sendgrid_event(
            "click", intro[0], email=contacts[0].email, url="https://example.com/specifications"
        ),
        sendgrid_event("open", intro[1], email=contacts[1].email, sg_machine_open=True),
        sendgrid_event("bounce", intro[2], email=contacts[2].email, status="5.1.1", type="bounce"),
        sendgrid_event("unsubscribe", intro[3], email=contacts[3].email),
    ]
    for event in events:  # a second after the sends, so timelines read in order
        event["timestamp"] = int(time.time()) + 1
    post_events(client, private_pem, events)
    return SeededCohort(cohort_id, name, contacts, skipped, intro)


@pytest.fixture
def seeded(
    dash_engine: sa.Engine, dash_client: TestClient, webhook_keys: tuple[str, str]
) -> SeededCohort:
    return seed_cohort(dash_engine, dash_client, webhook_keys[0])
