"""Factories for test data: contacts with consent, senders, services wired to the simulator."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid4

import sqlalchemy as sa

from activities.enrollment.quota import QuotaService
from activities.enrollment.rendering import Renderer
from activities.enrollment.sendgrid_transport import SendGridTransport
from activities.enrollment.sending import Links, SendingService
from models.db import session_scope
from models.enrollment import SendStepInput, enrollment_workflow_id
from models.settings import PROJECT_ROOT
from models.tables import (
    ConsentAction,
    ConsentBasis,
    ConsentRecord,
    Contact,
    Sender,
    Suppression,
    SuppressionReason,
    address_hash,
    utcnow,
)

SECRET = "test-secret"
PUBLIC_URL = "https://nurture.example.test"
INBOUND_DOMAIN = "in.example.test"
TEMPLATES = PROJECT_ROOT / "templates"


def make_sender(engine: sa.Engine, sender_id: str = "default", **kw: object) -> Sender:
    values = {
        "from_email": "li.wei@factory.example.cn",
        "from_name": "Li Wei, Ningbo Precision Parts",
        "postal_address": "88 Harbour Road, Beilun, Ningbo 315800, China",
    } | kw
    with session_scope(engine) as s:
        sender = Sender(id=sender_id, **values)
        s.add(sender)
    return sender


def make_contact(
    engine: sa.Engine, *, consent: ConsentAction | None = ConsentAction.GRANTED, **kw: object
) -> Contact:
    values: dict[str, object] = {
        "email": f"buyer-{uuid4().hex[:8]}@importer.example.de",
        "first_name": "Anna",
        "last_name": "Schmidt",
        "company": "Schmidt Maschinen GmbH",
        "country": "DE",
    } | kw
    with session_scope(engine) as s:
        contact = Contact(**values)  # type: ignore[arg-type]
        s.add(contact)
        s.flush()
        if consent is not None:
            s.add(
                ConsentRecord(
                    contact_id=contact.id,
                    action=consent,
                    basis=ConsentBasis.CONSENT,
                    source="trade fair Hannover 2026, badge scan",
                    wording="Yes, send me product news",
                    evidence="scan-0042",
                )
            )
    return contact


def withdraw_consent(engine: sa.Engine, contact_id: UUID, *, at: datetime | None = None) -> None:
    with session_scope(engine) as s:
        s.add(
            ConsentRecord(
                contact_id=contact_id,
                action=ConsentAction.WITHDRAWN,
                source="test",
                recorded_at=at or utcnow(),
            )
        )


def suppress(engine: sa.Engine, email: str, reason: SuppressionReason) -> None:
    with session_scope(engine) as s:
        s.add(Suppression(address_hash=address_hash(email), reason=reason))


def sending_service(
    engine: sa.Engine,
    sim_url: str,
    api_key: str,
    *,
    timeout_seconds: float = 5.0,
    templates: Path = TEMPLATES,
    contact_weekly_cap: int = 100,
) -> SendingService:
    return SendingService(
        engine,
        SendGridTransport(api_key=api_key, host=sim_url, timeout_seconds=timeout_seconds),
        Renderer(templates),
        Links(PUBLIC_URL, INBOUND_DOMAIN, SECRET),
        QuotaService(contact_weekly_cap=contact_weekly_cap),
    )


def step_input(contact: Contact, step: str = "intro", **kw: object) -> SendStepInput:
    values: dict[str, object] = {
        "message_id": str(uuid4()),
        "workflow_id": enrollment_workflow_id("trade_intro", contact.id),
        "contact_id": contact.id,
        "sequence": "trade_intro",
        "step": step,
        "template": f"trade_intro/{step}",
    } | kw
    return SendStepInput(**values)  # type: ignore[arg-type]


def make_enrollment(engine: sa.Engine, contact: Contact, sequence: str = "trade_intro") -> str:
    """A live enrollment row (the workflow itself is not started)."""
    from models.tables import Enrollment

    workflow_id = enrollment_workflow_id(sequence, contact.id)
    with session_scope(engine) as s:
        s.merge(
            Enrollment(
                workflow_id=workflow_id,
                sequence=sequence,
                contact_id=contact.id,
                sender_id="default",
            )
        )
    return workflow_id


def make_sent_message(
    engine: sa.Engine, contact: Contact, step: str = "intro", sequence: str = "trade_intro"
):
    """A message row as the send step leaves it after SendGrid accepted it."""
    from models.tables import Message, MessageStatus, utcnow

    workflow_id = make_enrollment(engine, contact, sequence)
    message_id = str(uuid4())
    with session_scope(engine) as s:
        message = Message(
            id=message_id,
            workflow_id=workflow_id,
            contact_id=contact.id,
            sequence=sequence,
            step=step,
            sender_id="default",
            status=MessageStatus.SENT,
            esp_message_id=f"X{uuid4().hex[:21]}",
            rfc_message_id=f"<{message_id}@factory.example.cn>",
            subject="Schmidt Maschinen GmbH: a reliable supplier",
            sent_at=utcnow(),
        )
        s.add(message)
    return message


def sendgrid_event(
    kind: str, message=None, *, email: str | None = None, custom_args: bool = True, **extra: object
) -> dict:
    """One Event Webhook item shaped like SendGrid's (custom args top-level)."""
    import time as _time

    event: dict[str, object] = {
        "event": kind,
        "timestamp": int(_time.time()),
        "sg_event_id": f"evt{uuid4().hex[:19]}",
        "email": email or "someone@example.com",
    }
    if message is not None:
        event["sg_message_id"] = (
            f"{message.esp_message_id}.filterdrecv-5645d9c87f-abcd-1-5F3D2C1B-2.0"
        )
        event["smtp-id"] = message.rfc_message_id
        if custom_args:
            event["nurture_message_id"] = message.id
            event["nurture_workflow_id"] = message.workflow_id
    event.update(extra)
    return event
