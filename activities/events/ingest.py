"""Stores what the ESP, mailboxes and recipients tell us — webhook events, replies, unsubscribes —
once each, finds the enrollment each belongs to, applies the effects that must not wait for a
workflow (consent withdrawal, suppression), and queues the workflow signal in the same commit.

Correlation, in order (docs/architecture.md, Identity and correlation): the `nurture_message_id`
custom arg → message; SendGrid's `sg_message_id` (its X-Message-Id prefix) or `smtp-id` (our
Message-ID) → message; the `nurture_workflow_id` custom arg; else the address → the newest
message to that contact in a live enrollment. What finds no enrollment is kept and counted as
uncorrelated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from activities.contacts.freemail import is_free_mail
from activities.deliverability.sender_health import HealthPolicy, pause_if_unhealthy
from activities.events.esp_events import sg_message_id_prefix
from activities.replies.notices import ReplyNotices
from models.db import session_scope
from models.esp_events import EspEvent
from models.events import SIGNALLED_KINDS, BounceClass, EngagementEvent, EventKind
from models.tables import (
    ConsentAction,
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

#: Soft bounces of one contact after which the address is suppressed.
SOFT_BOUNCE_LIMIT = 3

#: Kinds that change more than the event table (suppression, consent, sender health); a human
#: reply too. The rest (opens, clicks, deliveries) are stored and signalled, nothing else.
_KINDS_WITH_EFFECTS = frozenset(
    {EventKind.BOUNCE, EventKind.COMPLAINT, EventKind.UNSUBSCRIBE, EventKind.DROPPED}
)

#: Ids per `IN (...)` when a batch's rows are loaded at once.
_IN_CHUNK = 500

#: SendGrid drops mail to addresses on its own suppression lists; mirror them.
_DROP_REASONS = {
    "bounced address": SuppressionReason.HARD_BOUNCE,
    "invalid": SuppressionReason.HARD_BOUNCE,
    "unsubscribed address": SuppressionReason.UNSUBSCRIBE,
    "spam reporting address": SuppressionReason.COMPLAINT,
}


@dataclass(frozen=True)
class Correlation:
    message_id: str | None = None
    workflow_id: str | None = None
    contact_id: UUID | None = None


@dataclass
class IngestResult:
    """What one batch did: stored anew, already known, without an enrollment."""

    stored: int = 0
    duplicates: int = 0
    uncorrelated: int = 0
    ignored: int = 0
    event_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Incoming:
    """One thing to store: an ESP event, a reply, or an unsubscribe click."""

    esp_event_id: str
    esp_type: str
    occurred_at: datetime
    event: EngagementEvent | None
    correlation: Correlation
    email: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    #: For a reply: its classification and text, stored beside the event row (same commit).
    reply: Reply | None = None


class EventIngestService:
    """Stores incoming events exactly once and queues their signals (the forwarding outbox)."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        soft_bounce_limit: int = SOFT_BOUNCE_LIMIT,
        stops_company_on_reply: Callable[[str], bool] | None = None,
        health_policy: HealthPolicy | None = None,
        reply_notices: ReplyNotices | None = None,
    ) -> None:
        self._engine = engine
        #: Queues the notification of an interested / wrong-person reply (None: nobody to tell).
        self._notices = reply_notices
        self._soft_bounce_limit = soft_bounce_limit
        self._health = health_policy or HealthPolicy()
        self._stops_company = stops_company_on_reply or (lambda sequence: False)

    # -- entry points -----------------------------------------------------------------------

    def ingest_esp_events(self, events: list[EspEvent]) -> IngestResult:
        """Store a webhook batch in one transaction (committed before the webhook answers)."""
        result = IngestResult()
        with session_scope(self._engine) as session:
            # Held for the whole batch: the session's identity map only keeps what is referenced.
            known = _load_referenced(session, events)  # noqa: F841
            for esp in events:
                correlation = correlate(session, esp)
                event = esp.event
                if event is not None and correlation.message_id and event.message_id is None:
                    event = event.model_copy(update={"message_id": correlation.message_id})
                esp_event_id = esp.esp_event_id or _fallback_event_id(esp)
                self._store(
                    session,
                    Incoming(
                        esp_event_id=esp_event_id,
                        esp_type=esp.esp_type,
                        occurred_at=esp.occurred_at,
                        event=event,
                        correlation=correlation,
                        email=esp.email,
                        details=dict(esp.details),
                    ),
                    result,
                )
        return result

    def ingest(self, incoming: Incoming) -> IngestResult:
        """Store one reply or unsubscribe (same path as webhook events)."""
        with session_scope(self._engine) as session:
            return self.store(session, incoming)

    def store(self, session: Session, incoming: Incoming) -> IngestResult:
        """Store one item in the caller's transaction (a reply's correction to `opt_out`)."""
        result = IngestResult()
        self._store(session, incoming, result)
        return result

    # -- storing ----------------------------------------------------------------------------

    def _store(self, session: Session, item: Incoming, result: IngestResult) -> None:
        c = item.correlation
        # Only what can change what a workflow does is signalled; processed, delivered, deferred
        # and dropped stay in SQL for the funnel and sender health (docs/architecture.md).
        forwardable = (
            item.event is not None
            and c.workflow_id is not None
            and item.event.kind in SIGNALLED_KINDS
        )
        details = dict(item.details)
        if item.event is not None and item.event.bounce_class is not None:
            details["bounce_class"] = item.event.bounce_class.value
        row_id = insert_once(
            session,
            esp_event_id=item.esp_event_id,
            esp_type=item.esp_type,
            kind=item.event.kind.value if item.event else None,
            message_id=c.message_id,
            workflow_id=c.workflow_id,
            contact_id=c.contact_id,
            occurred_at=item.occurred_at,
            details=details,
            signal=EventSignal.ENGAGEMENT,
            payload=item.event.model_dump(mode="json") if forwardable and item.event else None,
            # Nothing to signal: mark it done so the forwarder never looks at it.
            forwarded_at=None if forwardable else utcnow(),
        )
        if row_id is None:
            result.duplicates += 1
            return
        result.stored += 1
        if item.event is None:
            result.ignored += 1
        elif c.workflow_id is None:
            result.uncorrelated += 1
        if forwardable:
            result.event_ids.append(row_id)
        if item.reply is not None:
            item.reply.event_id = row_id
            session.add(item.reply)
            session.flush()
        if item.event is not None:
            self._apply_effects(session, item, result)

    def _apply_effects(self, session: Session, item: Incoming, result: IngestResult) -> None:
        event = item.event
        assert event is not None
        if event.kind not in _KINDS_WITH_EFFECTS and not event.is_human_reply:
            return  # opens, clicks, deliveries: nothing to do besides storing and signalling
        contact = (
            session.get(Contact, item.correlation.contact_id)
            if item.correlation.contact_id
            else None
        )
        email = contact.email if contact is not None else item.email
        unsubscribes = event.kind == EventKind.UNSUBSCRIBE or event.is_opt_out
        if unsubscribes and contact is not None:
            session.add(
                ConsentRecord(
                    contact_id=contact.id,
                    action=ConsentAction.WITHDRAWN,
                    source=f"unsubscribe ({item.esp_type})"
                    if event.kind == EventKind.UNSUBSCRIBE
                    else "reply asking to be removed (opt_out)",
                    evidence=_evidence(item),
                )
            )
        reason = self._suppression_reason(session, item, contact)
        if reason is not None:
            _suppress(session, email, reason)
        if unsubscribes and contact is not None:
            end_live_enrollments(session, contact.id, item, result)
        if event.is_human_reply and contact is not None and item.correlation.workflow_id:
            self._stop_colleagues(session, contact, item, result)
        if item.reply is not None and self._notices is not None:
            self._notices.queue(session, item.reply)
        if event.kind == EventKind.COMPLAINT or (
            event.kind == EventKind.BOUNCE
            and event.bounce_class in (BounceClass.HARD, BounceClass.BLOCK)
        ):
            self._count_against_sender(session, item)

    def _suppression_reason(
        self, session: Session, item: Incoming, contact: Contact | None
    ) -> SuppressionReason | None:
        """Why this event keeps the address from ever being mailed again, if it does."""
        event = item.event
        assert event is not None
        if event.kind == EventKind.BOUNCE:
            if event.bounce_class == BounceClass.HARD:
                return SuppressionReason.HARD_BOUNCE
            soft_limit_reached = (
                event.bounce_class == BounceClass.SOFT
                and contact is not None
                and self._soft_bounces(session, contact.id) >= self._soft_bounce_limit
            )
            return SuppressionReason.SOFT_BOUNCES if soft_limit_reached else None
        if event.kind == EventKind.COMPLAINT:
            return SuppressionReason.COMPLAINT
        if event.kind == EventKind.UNSUBSCRIBE or event.is_opt_out:
            return SuppressionReason.UNSUBSCRIBE
        if event.kind == EventKind.DROPPED:
            dropped_because = str(item.details.get("reason", "")).lower()
            return next(
                (why for text, why in _DROP_REASONS.items() if text in dropped_because), None
            )
        return None

    def _count_against_sender(self, session: Session, item: Incoming) -> None:
        """Complaints, hard bounces and blocks are the sender's health: pause it past a bound."""
        if item.correlation.message_id is None:
            return
        message = session.get(Message, item.correlation.message_id)
        if message is not None:
            session.flush()
            pause_if_unhealthy(session, message.sender_id, utcnow(), self._health)

    def _soft_bounces(self, session: Session, contact_id: UUID) -> int:
        rows = session.exec(
            select(Event.details).where(
                Event.contact_id == contact_id, Event.kind == EventKind.BOUNCE.value
            )
        ).all()
        return sum(
            (details or {}).get("bounce_class") == BounceClass.SOFT.value for details in rows
        )

    def _stop_colleagues(
        self, session: Session, contact: Contact, item: Incoming, result: IngestResult
    ) -> None:
        """A human reply at a company: stop the other live enrollments there, if the sequence says so."""
        enrollment = session.get(Enrollment, item.correlation.workflow_id)
        if enrollment is None or not self._stops_company(enrollment.sequence):
            return
        domain = contact.email.rsplit("@", 1)[-1].lower()
        if is_free_mail(domain):
            return
        colleagues = session.exec(
            select(Enrollment.workflow_id)
            .join(Contact, col(Contact.id) == col(Enrollment.contact_id))
            .where(
                col(Enrollment.outcome).is_(None),
                Enrollment.contact_id != contact.id,
                col(Contact.email).like(f"%@{domain}"),
            )
        ).all()
        for workflow_id in colleagues:
            row_id = insert_once(
                session,
                esp_event_id=f"company-stop:{item.esp_event_id}:{workflow_id}"[:200],
                esp_type="company_stop",
                kind=None,
                message_id=None,
                workflow_id=workflow_id,
                contact_id=None,
                occurred_at=item.occurred_at,
                details={"reason": "a colleague at the same company replied"},
                signal=EventSignal.CANCEL,
                payload={"reason": "a colleague at the same company replied"},
                forwarded_at=None,
            )
            if row_id is not None:
                result.event_ids.append(row_id)
        if colleagues:
            log.info(
                "reply stops colleague enrollments",
                workflow_id=item.correlation.workflow_id,
                colleagues=len(colleagues),
            )


def end_live_enrollments(
    session: Session, contact_id: UUID, item: Incoming, result: IngestResult
) -> None:
    """An unsubscribe (link, one-click, opt-out reply) ends every live enrollment of the contact,
    not only the one whose mail it came from: each gets an `unsubscribe` event in this commit
    (the one the item itself is signalled to is left out)."""
    live = session.exec(
        select(Enrollment.workflow_id).where(
            Enrollment.contact_id == contact_id, col(Enrollment.outcome).is_(None)
        )
    ).all()
    for workflow_id in live:
        if workflow_id == item.correlation.workflow_id and item.event is not None:
            continue
        event_key = f"unsubscribe-all:{item.esp_event_id}:{workflow_id}"[:200]
        row_id = insert_once(
            session,
            esp_event_id=event_key,
            esp_type="unsubscribe_other_enrollment",
            # Not counted as an unsubscribe of its own in funnels: the item is that.
            kind=None,
            message_id=None,
            workflow_id=workflow_id,
            contact_id=None,
            occurred_at=item.occurred_at,
            details={"because": item.esp_type},
            signal=EventSignal.ENGAGEMENT,
            payload=EngagementEvent(
                kind=EventKind.UNSUBSCRIBE, occurred_at=item.occurred_at, esp_event_id=event_key
            ).model_dump(mode="json"),
            forwarded_at=None,
        )
        if row_id is not None:
            result.event_ids.append(row_id)


def _evidence(item: Incoming) -> str | None:
    """What a consent withdrawal points to: the reply (its event key), else the message."""
    if item.event is not None and item.event.kind == EventKind.REPLY:
        return f"reply {item.esp_event_id}"
    if "reply_id" in item.details:  # a reply a person corrected to opt_out
        return f"reply {item.details['reply_id']}"
    if item.correlation.message_id:
        return f"message {item.correlation.message_id}"
    return None


# -- correlation ---------------------------------------------------------------------------------


def correlate(session: Session, esp: EspEvent) -> Correlation:
    """Find the message, workflow and contact an ESP event belongs to (docs/architecture.md)."""
    message = None
    if esp.message_id:
        message = session.get(Message, esp.message_id)
    if message is None and esp.sg_message_id:
        prefix = sg_message_id_prefix(esp.sg_message_id)
        message = session.exec(select(Message).where(Message.esp_message_id == prefix)).first()
    if message is None and esp.smtp_id:
        message = session.exec(select(Message).where(Message.rfc_message_id == esp.smtp_id)).first()
    if message is not None:
        return correlation_of(message)
    if esp.workflow_id:
        enrollment = session.get(Enrollment, esp.workflow_id)
        return Correlation(
            workflow_id=esp.workflow_id,
            contact_id=enrollment.contact_id if enrollment is not None else None,
        )
    if esp.email:
        return correlate_by_email(session, esp.email)
    return Correlation()


def correlation_of(message: Message) -> Correlation:
    return Correlation(message.id, message.workflow_id, message.contact_id)


def correlate_by_email(session: Session, email: str) -> Correlation:
    """The newest message to this address in a live enrollment (else in any enrollment)."""
    contact = session.exec(select(Contact).where(Contact.email == email.strip().lower())).first()
    if contact is None:
        return Correlation()
    live = (
        select(Message)
        .join(Enrollment, col(Enrollment.workflow_id) == col(Message.workflow_id))
        .where(Message.contact_id == contact.id, col(Enrollment.outcome).is_(None))
        .order_by(col(Message.created_at).desc())
    )
    message = session.exec(live).first()
    if message is None:
        message = session.exec(
            select(Message)
            .where(Message.contact_id == contact.id)
            .order_by(col(Message.created_at).desc())
        ).first()
    if message is None:
        return Correlation(contact_id=contact.id)
    return correlation_of(message)


# -- rows ------------------------------------------------------------------------------------------


#: One INSERT … ON CONFLICT DO NOTHING RETURNING id per dialect, built once: the values travel
#: as parameters, so each event skips building and caching a statement of its own.
_INSERT_ONCE: dict[str, Any] = {}


def insert_once(session: Session, **values: Any) -> int | None:
    """Insert an event row unless its `esp_event_id` exists; the new row's id, or None."""
    dialect = session.get_bind().dialect.name
    stmt = _INSERT_ONCE.get(dialect)
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = Event.__table__  # type: ignore[attr-defined]
        stmt = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["esp_event_id"])
            .returning(table.c.id)
        )
        _INSERT_ONCE[dialect] = stmt
    row = {"received_at": utcnow(), "forward_attempts": 0, "late": False, **values}
    return session.execute(stmt, row).scalar_one_or_none()


def _load_referenced(session: Session, events: list[EspEvent]) -> list[Any]:
    """Load the messages and enrollments a batch names by id in a few queries, so that
    `correlate`'s `session.get` finds them in the identity map; the caller keeps the result."""
    loaded: list[Any] = []
    message_ids = list({e.message_id for e in events if e.message_id})
    for start in range(0, len(message_ids), _IN_CHUNK):
        chunk = message_ids[start : start + _IN_CHUNK]
        loaded += session.exec(select(Message).where(col(Message.id).in_(chunk))).all()
    found = {m.id for m in loaded}
    # An enrollment is looked up only for events whose message is unknown.
    workflow_ids = list(
        {e.workflow_id for e in events if e.workflow_id and e.message_id not in found}
    )
    for start in range(0, len(workflow_ids), _IN_CHUNK):
        chunk = workflow_ids[start : start + _IN_CHUNK]
        loaded += session.exec(
            select(Enrollment).where(col(Enrollment.workflow_id).in_(chunk))
        ).all()
    return loaded


def _suppress(session: Session, email: str | None, reason: SuppressionReason) -> None:
    if not email:
        return
    key = address_hash(email)
    if session.get(Suppression, key) is None:
        session.add(Suppression(address_hash=key, reason=reason))
        session.flush()


def _fallback_event_id(esp: EspEvent) -> str:
    """Events without `sg_event_id` still deduplicate: a digest of what identifies them."""
    basis = "|".join(
        str(x)
        for x in (
            esp.esp_type,
            esp.sg_message_id,
            esp.message_id,
            esp.email,
            esp.occurred_at.isoformat(),
        )
    )
    return "digest-" + hashlib.sha256(basis.encode()).hexdigest()[:40]


__all__ = [
    "SOFT_BOUNCE_LIMIT",
    "Correlation",
    "EventIngestService",
    "Incoming",
    "IngestResult",
    "correlate",
    "correlate_by_email",
    "correlation_of",
    "end_live_enrollments",
    "insert_once",
]
