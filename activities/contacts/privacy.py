"""GDPR rights of a contact: export everything we hold on them (Art. 15/20), and erase them
(Art. 17) while keeping the address suppressed by its hash, so they are never mailed again.

An unknown contact is `models.errors.ContactNotFound` on export; erase reports it in its
result instead.

Erasure is one transaction: a durable cancel is queued in the forwarding outbox for every live
enrollment (rows without a contact, so they outlive it), the address is suppressed by hash, and
the contact row is deleted — its external id with it, so another contact may take that id; ON
DELETE CASCADE takes its consent ledger, enrollments, messages (the rendered bodies), cohort
memberships, events and business events (their properties) with it. Events that name one of its
messages or enrollments without naming the contact are deleted too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
import structlog
from pydantic import BaseModel
from sqlmodel import Session, col, delete, func, select

from activities.contacts.store import normalise_email
from activities.events.ingest import insert_once
from models.db import session_scope
from models.errors import ContactNotFound
from models.tables import (
    BusinessEvent,
    CohortMember,
    ConsentRecord,
    Contact,
    Enrollment,
    Event,
    EventSignal,
    Message,
    Reply,
    Suppression,
    SuppressionReason,
    address_hash,
    utcnow,
)

log = structlog.stdlib.get_logger(__name__)

ERASURE_REASON = "contact erased (GDPR)"


class ErasureReport(BaseModel):
    """What one erasure did. `erased` is False when there was no such contact (nothing changed)."""

    contact_id: UUID | None
    erased: bool
    enrollments_cancelled: int = 0
    enrollments_deleted: int = 0
    consent_records_deleted: int = 0
    messages_deleted: int = 0
    events_deleted: int = 0
    business_events_deleted: int = 0
    replies_deleted: int = 0
    cohort_memberships_deleted: int = 0
    #: True if this erasure added the suppression; False if the address was already suppressed.
    suppression_added: bool = False


def _replies_of(contact_id: UUID, message_ids: list[str]) -> Any:
    """Replies from the contact, or to one of its messages (a colleague answering its mail)."""
    return sa.or_(
        col(Reply.contact_id) == contact_id,
        col(Reply.message_id).in_(message_ids) if message_ids else sa.false(),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class PrivacyService:
    """Export and erasure of one contact. Plain object: the API, the CLI and tests call it."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    # -- lookup ---------------------------------------------------------------------------------

    def _find(self, session: Session, contact: UUID | str) -> Contact | None:
        """The contact by id, or by address (normalised like contact import)."""
        if isinstance(contact, UUID):
            return session.get(Contact, contact)
        try:
            return session.get(Contact, UUID(contact))
        except ValueError:
            pass
        address = normalise_email(contact)
        return session.exec(select(Contact).where(Contact.email == address)).first()

    # -- export ---------------------------------------------------------------------------------

    @staticmethod
    def _not_found(contact: UUID | str) -> ContactNotFound:
        """The error for an unknown contact; an address is not repeated (errors reach logs)."""
        try:
            return ContactNotFound(f"no contact {UUID(str(contact))} (never held, or erased)")
        except ValueError:
            return ContactNotFound("no contact with that address (never held, or erased)")

    def export(self, contact: UUID | str) -> dict[str, Any]:
        """Everything held on the person, JSON-serialisable; `ContactNotFound` if none."""
        with session_scope(self._engine) as session:
            row = self._find(session, contact)
            if row is None:
                raise self._not_found(contact)
            consents = session.exec(
                select(ConsentRecord)
                .where(ConsentRecord.contact_id == row.id)
                .order_by(col(ConsentRecord.recorded_at), col(ConsentRecord.id))
            ).all()
            suppression = session.get(Suppression, address_hash(row.email))
            enrollments = session.exec(
                select(Enrollment)
                .where(Enrollment.contact_id == row.id)
                .order_by(col(Enrollment.started_at))
            ).all()
            messages = session.exec(
                select(Message)
                .where(Message.contact_id == row.id)
                .order_by(col(Message.created_at))
            ).all()
            message_ids = [m.id for m in messages]
            events = session.exec(
                select(Event)
                .where(
                    sa.or_(
                        col(Event.contact_id) == row.id,
                        col(Event.message_id).in_(message_ids) if message_ids else sa.false(),
                    )
                )
                .order_by(col(Event.occurred_at), col(Event.id))
            ).all()
            cohorts = session.exec(
                select(CohortMember).where(CohortMember.contact_id == row.id)
            ).all()
            business_events = session.exec(
                select(BusinessEvent)
                .where(BusinessEvent.contact_id == row.id)
                .order_by(col(BusinessEvent.occurred_at), col(BusinessEvent.key))
            ).all()
            replies = session.exec(
                select(Reply)
                .where(_replies_of(row.id, message_ids))
                .order_by(col(Reply.received_at), col(Reply.id))
            ).all()
            return {
                "generated_at": utcnow().isoformat(),
                "contact": {
                    "id": str(row.id),
                    "external_id": row.external_id,
                    "email": row.email,
                    "first_name": row.first_name,
                    "last_name": row.last_name,
                    "company": row.company,
                    "country": row.country,
                    "time_zone": row.time_zone,
                    "language": row.language,
                    "role_account": row.role_account,
                    "custom": dict(row.custom or {}),
                    "created_at": _iso(row.created_at),
                    "updated_at": _iso(row.updated_at),
                },
                "consents": [
                    {
                        "action": c.action,
                        "basis": c.basis,
                        "source": c.source,
                        "wording": c.wording,
                        "evidence": c.evidence,
                        "recorded_at": _iso(c.recorded_at),
                    }
                    for c in consents
                ],
                "suppression": {
                    "suppressed": suppression is not None,
                    "reason": suppression.reason if suppression is not None else None,
                    "since": _iso(suppression.created_at) if suppression is not None else None,
                },
                "enrollments": [
                    {
                        "workflow_id": e.workflow_id,
                        "sequence": e.sequence,
                        "cohort_id": e.cohort_id,
                        "sender_id": e.sender_id,
                        "outcome": e.outcome,
                        "started_at": _iso(e.started_at),
                        "ended_at": _iso(e.ended_at),
                    }
                    for e in enrollments
                ],
                "cohorts": [
                    {"cohort_id": m.cohort_id, "status": m.status, "reason": m.reason}
                    for m in cohorts
                ],
                "messages": [
                    {
                        "id": m.id,
                        "sequence": m.sequence,
                        "step": m.step,
                        "status": m.status,
                        "subject": m.subject,
                        "body_text": m.body_text,
                        "created_at": _iso(m.created_at),
                        "sent_at": _iso(m.sent_at),
                    }
                    for m in messages
                ],
                "events": [
                    {
                        "kind": ev.kind,
                        "type": ev.esp_type,
                        "message_id": ev.message_id,
                        "occurred_at": _iso(ev.occurred_at),
                        "details": dict(ev.details or {}),
                    }
                    for ev in events
                ],
                "replies": [
                    {
                        "received_at": _iso(r.received_at),
                        "intent": r.intent,
                        "classified_intent": r.classified_intent,
                        "confidence": r.confidence,
                        "cue": r.cue,
                        "text": r.text,
                        "referred_email": r.referred_email,
                    }
                    for r in replies
                ],
                "business_events": [
                    {
                        "key": b.key,
                        "name": b.name,
                        "occurred_at": _iso(b.occurred_at),
                        "received_at": _iso(b.received_at),
                        "properties": dict(b.properties or {}),
                    }
                    for b in business_events
                ],
            }

    # -- erasure --------------------------------------------------------------------------------

    def erase(self, contact: UUID | str) -> ErasureReport:
        """Erase the contact (by id or address) in one transaction; see the module docstring.

        An unknown contact (or a second erasure) changes nothing and reports `erased=False`.
        An address that is not an address at all raises `InvalidInput`.
        """
        with session_scope(self._engine) as session:
            row = self._find(session, contact)
            if row is None:
                return ErasureReport(
                    contact_id=contact if isinstance(contact, UUID) else None, erased=False
                )
            # Serialise with a concurrent erase or update of the same person (PostgreSQL).
            session.exec(select(Contact).where(Contact.id == row.id).with_for_update()).first()
            report = self._erase(session, row)
        log.info(
            "contact erased",
            contact_id=str(report.contact_id),
            enrollments_cancelled=report.enrollments_cancelled,
            messages_deleted=report.messages_deleted,
        )
        return report

    def _erase(self, session: Session, contact: Contact) -> ErasureReport:
        contact_id = contact.id
        now = utcnow()
        workflow_ids = list(
            session.exec(select(Enrollment.workflow_id).where(Enrollment.contact_id == contact_id))
        )
        live = list(
            session.exec(
                select(Enrollment.workflow_id).where(
                    Enrollment.contact_id == contact_id, col(Enrollment.outcome).is_(None)
                )
            )
        )
        message_ids = list(session.exec(select(Message.id).where(Message.contact_id == contact_id)))

        def count(model: Any, where: Any) -> int:
            return int(session.exec(select(func.count()).select_from(model).where(where)).one())

        report = ErasureReport(
            contact_id=contact_id,
            erased=True,
            enrollments_deleted=len(workflow_ids),
            consent_records_deleted=count(ConsentRecord, ConsentRecord.contact_id == contact_id),
            messages_deleted=len(message_ids),
            cohort_memberships_deleted=count(CohortMember, CohortMember.contact_id == contact_id),
            business_events_deleted=count(BusinessEvent, BusinessEvent.contact_id == contact_id),
            replies_deleted=count(Reply, _replies_of(contact_id, message_ids)),
        )

        # Events naming one of its messages or enrollments but not the contact (correlated
        # late, or by workflow id alone). Queued cancels for other reasons carry no personal data.
        orphans = sa.or_(
            col(Event.message_id).in_(message_ids) if message_ids else sa.false(),
            sa.and_(
                col(Event.workflow_id).in_(workflow_ids) if workflow_ids else sa.false(),
                col(Event.signal) == EventSignal.ENGAGEMENT,
            ),
        )
        tied = sa.or_(
            col(Event.contact_id) == contact_id, sa.and_(col(Event.contact_id).is_(None), orphans)
        )
        report.events_deleted = count(Event, tied)
        # Replies to its messages from an address that is not the contact's (a colleague's
        # answer): their words are about this person's mail. Rows tied to an event go with it.
        if message_ids:
            session.exec(delete(Reply).where(col(Reply.message_id).in_(message_ids)))
        session.exec(delete(Event).where(col(Event.contact_id).is_(None), orphans))

        # (1) Durable cancels: no contact on the row, so the cascade below leaves them queued.
        for workflow_id in live:
            inserted = insert_once(
                session,
                esp_event_id=f"erase-{contact_id}-{workflow_id}"[:200],
                esp_type="erasure",
                kind=None,
                message_id=None,
                workflow_id=workflow_id,
                contact_id=None,
                occurred_at=now,
                details={"reason": ERASURE_REASON},
                signal=EventSignal.CANCEL,
                payload={"reason": ERASURE_REASON},
                forwarded_at=None,
            )
            if inserted is not None:
                report.enrollments_cancelled += 1

        # (2) Never mailed again, without keeping the address.
        key = address_hash(contact.email)
        if session.get(Suppression, key) is None:
            session.add(Suppression(address_hash=key, reason=SuppressionReason.ERASED))
            report.suppression_added = True
        session.flush()

        # (3) The person (and its external id): ON DELETE CASCADE takes consents, enrollments,
        # messages, events, business events, members.
        session.expunge(contact)
        session.exec(delete(Contact).where(col(Contact.id) == contact_id))
        return report


__all__ = ["ERASURE_REASON", "ErasureReport", "PrivacyService"]
