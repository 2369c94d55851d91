"""The dashboard's business events page, read-only: the newest business events as stored, what
each was delivered to (its outbox rows) and the enrollments it triggered, with the reasons."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from api.dashboard.queries import MAX_EVENTS, _labels
from models.db import session_scope
from models.events import EventKind
from models.tables import BusinessEvent, Event, TriggerEnrollment


class TriggerRow(BaseModel):
    """A sequence a business event triggers, and how it went."""

    sequence: str
    status: str
    reason: str | None
    workflow_id: str | None


class BusinessEventRow(BaseModel):
    """A business event as stored, what it was delivered to, and what it triggered."""

    id: UUID
    #: The caller's idempotency key.
    key: str
    name: str
    contact_id: UUID
    contact_label: str | None
    occurred_at: datetime
    received_at: datetime
    #: Live enrollments it was queued to, and of those: signalled, or late (already ended).
    forwarded_to: int
    delivered: int
    late: int
    properties: dict[str, Any]
    triggers: list[TriggerRow]


def _deliveries(session: Session, events: list[BusinessEvent]) -> dict[str, tuple[int, int]]:
    """Per business event id: its outbox rows signalled, and those found late."""
    found: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    contacts = list({e.contact_id for e in events})
    if not contacts:
        return found
    since = min(e.received_at for e in events)
    rows = session.exec(
        select(Event.esp_event_id, Event.forwarded_at, Event.late).where(
            Event.kind == EventKind.BUSINESS.value,
            col(Event.contact_id).in_(contacts),
            col(Event.received_at) >= since,
            col(Event.forwarded_at).is_not(None),
        )
    ).all()
    for esp_event_id, _, late in rows:
        event_id = esp_event_id.split(":")[1]  # business:{event id}:{workflow id}
        delivered, late_ones = found[event_id]
        found[event_id] = (delivered + (not late), late_ones + bool(late))
    return found


def recent_business_events(
    session: Session, limit: int = 100, name: str | None = None
) -> list[BusinessEventRow]:
    """The newest business events as received (or only those of one name), with their
    deliveries and triggers."""
    query = (
        select(BusinessEvent)
        .order_by(col(BusinessEvent.received_at).desc(), col(BusinessEvent.id))
        .limit(max(1, min(limit, MAX_EVENTS)))
    )
    if name is not None:
        query = query.where(BusinessEvent.name == name)
    events = list(session.exec(query).all())
    labels = _labels(session, {e.contact_id for e in events})
    deliveries = _deliveries(session, events)
    triggers: dict[UUID, list[TriggerRow]] = defaultdict(list)
    if events:
        for t in session.exec(
            select(TriggerEnrollment)
            .where(col(TriggerEnrollment.event_id).in_([e.id for e in events]))
            .order_by(col(TriggerEnrollment.sequence))
        ).all():
            triggers[t.event_id].append(
                TriggerRow(
                    sequence=t.sequence, status=t.status, reason=t.reason, workflow_id=t.workflow_id
                )
            )
    return [
        BusinessEventRow(
            id=e.id,
            key=e.key,
            name=e.name,
            contact_id=e.contact_id,
            contact_label=labels.get(e.contact_id),
            occurred_at=e.occurred_at,
            received_at=e.received_at,
            forwarded_to=e.forwarded_to,
            delivered=deliveries[str(e.id)][0],
            late=deliveries[str(e.id)][1],
            properties=dict(e.properties or {}),
            triggers=triggers[e.id],
        )
        for e in events
    ]


class BusinessEventQueries:
    """The page's read, in its own session."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def recent(self, limit: int = 100, name: str | None = None) -> list[BusinessEventRow]:
        with session_scope(self._engine) as session:
            return recent_business_events(session, limit, name)


__all__ = [
    "BusinessEventQueries",
    "BusinessEventRow",
    "TriggerRow",
    "recent_business_events",
]
