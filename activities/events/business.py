"""Business events as callers post them (`POST /api/events`, `nurture events send | import`):
validated item by item, stored once per caller's key (`business_event`), and in the same commit
queued to every live enrollment of the contact through the event outbox and to every sequence
they trigger (`trigger_enrollment`, run by `activities.events.triggers`).

Properties and the caller's key stay in `business_event` (either may be personal): the outbox
payload — what a workflow receives — carries the stored event's id, its name and its time only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
import structlog
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from activities.contacts.store import find_contact
from activities.events.ingest import insert_once
from activities.events.triggers import LEASE as TRIGGER_LEASE
from activities.events.triggers import TriggerLookup, registered_triggers
from models.business_events import BusinessEventIn
from models.db import session_scope
from models.errors import InvalidInput
from models.events import EngagementEvent, EventKind
from models.tables import (
    BusinessEvent,
    Enrollment,
    EventSignal,
    TriggerEnrollment,
    TriggerStatus,
    utcnow,
)

log = structlog.stdlib.get_logger(__name__)

#: `esp_type` of a business event's outbox rows.
BUSINESS_ESP_TYPE = "business"


class ItemStatus(StrEnum):
    STORED = "stored"
    #: An event with that key was stored before (by this batch or an earlier post).
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass
class ItemResult:
    """What became of one posted item (`index` is its place in the batch, from 0)."""

    index: int
    #: The caller's key, when the item had one (a string).
    key: str | None
    status: ItemStatus
    #: Why it was rejected (the field and the fault); never logged: it may quote the input.
    reason: str | None = None
    #: Rejected because the contact is unknown (not done), rather than malformed (bad input).
    unknown_contact: bool = False
    #: nurture's id of the stored event (for a duplicate: of the one stored before).
    event_id: UUID | None = None
    #: Live enrollments the event was queued to (stored items only).
    forwarded_to: int = 0
    #: Sequences whose trigger was queued (stored items only).
    triggers: list[str] = field(default_factory=list)


@dataclass
class StoreReport:
    results: list[ItemResult] = field(default_factory=list)

    def _count(self, status: ItemStatus) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def stored(self) -> int:
        return self._count(ItemStatus.STORED)

    @property
    def duplicates(self) -> int:
        return self._count(ItemStatus.DUPLICATE)

    @property
    def rejected(self) -> int:
        return self._count(ItemStatus.REJECTED)

    @property
    def signals_queued(self) -> int:
        """Outbox rows this store queued: wake the forwarder when there are any."""
        return sum(r.forwarded_to for r in self.results)

    @property
    def triggered_event_ids(self) -> list[UUID]:
        """Stored events with trigger rows queued (claimed for the caller to run)."""
        return [r.event_id for r in self.results if r.triggers and r.event_id is not None]

    @property
    def known_event_ids(self) -> list[UUID]:
        """Events stored now or before (stored and duplicate items)."""
        return [r.event_id for r in self.results if r.event_id is not None]


def parse_item(item: object) -> BusinessEventIn | str:
    """One posted item as an event, or why it is not one (`field: fault; ...`)."""
    if not isinstance(item, dict):
        return "each event must be a JSON object"
    try:
        event = BusinessEventIn.model_validate(item)
    except ValidationError as exc:
        return validation_reason(exc)
    for where, text in (
        ("id", event.id),
        ("contact.external_id", event.contact.external_id),
        ("contact.email", event.contact.email),
    ):
        if text is not None and any(unicodedata.category(ch) == "Cc" for ch in text):
            return f"{where}: control characters are not allowed"
    return event


def validation_reason(exc: ValidationError) -> str:
    """A pydantic error as `field: fault; field: fault` (no input values repeated)."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


class BusinessEventService:
    """Stores posted business events and queues their signals and triggers; the API and the
    CLI both call it. `triggers` says which sequences an event name enrolls in."""

    def __init__(self, engine: sa.Engine, triggers: TriggerLookup = registered_triggers) -> None:
        self._engine = engine
        self._triggers = triggers

    def store(self, items: Sequence[object]) -> StoreReport:
        """Validate each item (a posted JSON value, or a `BusinessEventIn`) and store the valid
        ones in one transaction, committed before this returns; invalid ones and those naming
        an unknown contact come back `rejected` with the reason and create nothing. The trigger
        rows queued are leased to the caller, who runs them (`TriggerRunner.run_for`)."""
        report = StoreReport()
        now = utcnow()
        with session_scope(self._engine) as session:
            live: dict[UUID, list[str]] = {}
            for index, item in enumerate(items):
                parsed = item if isinstance(item, BusinessEventIn) else parse_item(item)
                if isinstance(parsed, str):
                    key = item.get("id") if isinstance(item, dict) else None
                    report.results.append(
                        ItemResult(
                            index,
                            key if isinstance(key, str) else None,
                            ItemStatus.REJECTED,
                            parsed,
                        )
                    )
                    continue
                report.results.append(self._store_one(session, index, parsed, now, live))
        log.info(
            "business events stored",
            stored=report.stored,
            duplicates=report.duplicates,
            rejected=report.rejected,
            signals=report.signals_queued,
            triggers=sum(len(r.triggers) for r in report.results),
        )
        return report

    def _store_one(
        self,
        session: Session,
        index: int,
        event: BusinessEventIn,
        now: datetime,
        live: dict[UUID, list[str]],
    ) -> ItemResult:
        try:
            contact = find_contact(session, event.contact)
        except InvalidInput as exc:
            return ItemResult(index, event.id, ItemStatus.REJECTED, f"contact.{exc}")
        if contact is None:
            reason = f"unknown {event.contact.describe()}: add the contact first"
            return ItemResult(index, event.id, ItemStatus.REJECTED, reason, unknown_contact=True)
        if contact.id not in live:
            live[contact.id] = _live_enrollments(session, contact.id)
        workflow_ids = live[contact.id]
        occurred_at = event.occurred_at or now
        event_id = _insert_event_once(
            session,
            id=uuid4(),
            key=event.id,
            name=event.name,
            contact_id=contact.id,
            occurred_at=occurred_at,
            received_at=now,
            properties=event.properties,
            forwarded_to=len(workflow_ids),
        )
        if event_id is None:
            before = session.exec(select(BusinessEvent.id).where(BusinessEvent.key == event.id))
            return ItemResult(index, event.id, ItemStatus.DUPLICATE, event_id=before.one())
        signal = EngagementEvent(
            kind=EventKind.BUSINESS,
            name=event.name,
            event_id=str(event_id),
            occurred_at=occurred_at,
            esp_event_id=f"business:{event_id}",
        ).model_dump(mode="json")
        for workflow_id in workflow_ids:
            insert_once(
                session,
                esp_event_id=f"business:{event_id}:{workflow_id}",
                esp_type=BUSINESS_ESP_TYPE,
                kind=EventKind.BUSINESS.value,
                message_id=None,
                workflow_id=workflow_id,
                contact_id=contact.id,
                occurred_at=occurred_at,
                details={},
                signal=EventSignal.ENGAGEMENT,
                payload=signal,
                forwarded_at=None,
            )
        sequences = [t.sequence for t in self._triggers(event.name)]
        for sequence in sequences:
            session.add(
                TriggerEnrollment(
                    event_id=event_id,
                    sequence=sequence,
                    status=TriggerStatus.PENDING,
                    # The storing caller runs it at once; others only once this lease ends.
                    claimed_until=now + TRIGGER_LEASE,
                    updated_at=now,
                )
            )
        return ItemResult(
            index,
            event.id,
            ItemStatus.STORED,
            event_id=event_id,
            forwarded_to=len(workflow_ids),
            triggers=sequences,
        )


def _live_enrollments(session: Session, contact_id: UUID) -> list[str]:
    return list(
        session.exec(
            select(Enrollment.workflow_id)
            .where(Enrollment.contact_id == contact_id, col(Enrollment.outcome).is_(None))
            .order_by(col(Enrollment.workflow_id))
        ).all()
    )


_INSERT_ONCE: dict[str, Any] = {}


def _insert_event_once(session: Session, **values: Any) -> UUID | None:
    """Insert a business event unless its key exists; its id, or None (a duplicate)."""
    dialect = session.get_bind().dialect.name
    stmt = _INSERT_ONCE.get(dialect)
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = BusinessEvent.__table__  # type: ignore[attr-defined]
        stmt = insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)
        _INSERT_ONCE[dialect] = stmt
    found: UUID | None = session.execute(stmt, values).scalar_one_or_none()
    return found


__all__ = [
    "BUSINESS_ESP_TYPE",
    "BusinessEventService",
    "ItemResult",
    "ItemStatus",
    "StoreReport",
    "parse_item",
    "validation_reason",
]
