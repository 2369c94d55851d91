"""The retention prune (docs/architecture.md, "Retention"): deletes ESP events, business events and
delivered notifications older than NURTURE_EVENT_RETENTION_DAYS, in bounded batches, one
transaction each, on SQLite and PostgreSQL alike.

Never deleted: suppression rows, the consent ledger, messages, enrollments, replies (and the reply
events they point at), an event the forwarder has still to signal, an undelivered notification, a
business event whose trigger is pending or whose contact has a live enrollment (the sequence may
still read its properties). Nothing younger than the sender-health window is deleted whatever the
setting says. Before an event of a message goes, the funnel metrics it counted toward are folded
into `message.pruned_metrics`, so cohort funnels and A/B figures stay exactly as they were.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col

from activities.cohorts.event_metrics import event_metrics
from activities.events.forwarder import UNFORWARDED
from models.db import session_scope
from models.maintenance import PruneRequest, PruneResult
from models.settings import Settings
from models.tables import (
    BusinessEvent,
    Enrollment,
    Event,
    Message,
    Notification,
    Reply,
    TriggerEnrollment,
    TriggerStatus,
    utcnow,
)

log = structlog.stdlib.get_logger(__name__)

#: Sender health's burst window: never prune what it still counts, whatever the settings say.
_BLOCK_WINDOW = timedelta(hours=1)


def retention_cutoff(
    settings: Settings, now: datetime, retention_days: int | None = None
) -> datetime:
    """The instant before which rows may go: the retention, but never inside the health window."""
    keep = max(
        timedelta(days=retention_days or settings.event_retention_days),
        timedelta(days=settings.health_window_days),
        _BLOCK_WINDOW,
    )
    return now - keep


def _expired_events(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(Event.received_at) < cutoff,
        col(Event.occurred_at) < cutoff,
        sa.not_(UNFORWARDED),  # the outbox: a row waiting for its signal stays
        ~sa.exists().where(col(Reply.event_id) == col(Event.id)),  # the inbox keeps replies
    )


def _expired_business_events(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(BusinessEvent.received_at) < cutoff,
        col(BusinessEvent.occurred_at) < cutoff,
        ~sa.exists().where(
            col(TriggerEnrollment.event_id) == col(BusinessEvent.id),
            col(TriggerEnrollment.status) == TriggerStatus.PENDING,
        ),
        ~sa.exists().where(
            col(Enrollment.contact_id) == col(BusinessEvent.contact_id),
            col(Enrollment.outcome).is_(None),
        ),
    )


def _expired_notifications(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(Notification.delivered_at).is_not(None),  # the outbox: undelivered ones stay
        col(Notification.delivered_at) < cutoff,
        col(Notification.created_at) < cutoff,
    )


class RetentionPruner:
    """Deletes what has outlived the retention; `progress` is called after each batch (the
    activity heartbeats there)."""

    def __init__(
        self, engine: sa.Engine, settings: Settings, *, progress: Callable[[], None] | None = None
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._progress = progress or (lambda: None)

    def prune(self, request: PruneRequest, now: datetime | None = None) -> PruneResult:
        cutoff = retention_cutoff(self._settings, now or utcnow(), request.retention_days)
        result = PruneResult(cutoff=cutoff)
        size = request.batch_size
        while True:
            deleted, folded = self._event_batch(cutoff, size)
            result.events += deleted
            result.messages_folded += folded
            self._progress()
            if deleted < size:
                break
        while (deleted := self._business_event_batch(cutoff, size)) > 0:
            result.business_events += deleted
            self._progress()
            if deleted < size:
                break
        while (deleted := self._notification_batch(cutoff, size)) > 0:
            result.notifications += deleted
            self._progress()
            if deleted < size:
                break
        log.info(
            "retention prune done",
            cutoff=cutoff.isoformat(),
            events=result.events,
            business_events=result.business_events,
            notifications=result.notifications,
            messages_folded=result.messages_folded,
        )
        return result

    def _event_batch(self, cutoff: datetime, size: int) -> tuple[int, int]:
        """Delete up to `size` expired events in one transaction, folding their funnel metrics
        into their messages first; (events deleted, messages folded)."""
        with session_scope(self._engine) as session:
            rows = session.execute(
                sa.select(
                    col(Event.id),
                    col(Event.message_id),
                    col(Event.kind),
                    col(Event.payload),
                    col(Event.details),
                )
                .where(_expired_events(cutoff))
                .order_by(col(Event.id))
                .limit(size)
            ).all()
            if not rows:
                return 0, 0
            metrics: dict[str, set[str]] = defaultdict(set)
            for _, message_id, kind, payload, details in rows:
                if message_id is not None:
                    metrics[message_id].update(event_metrics(kind, payload, details))
            folded = _fold_metrics(session, {m: s for m, s in metrics.items() if s})
            ids = [row[0] for row in rows]
            session.execute(sa.delete(Event).where(col(Event.id).in_(ids)))
            return len(ids), folded

    def _business_event_batch(self, cutoff: datetime, size: int) -> int:
        with session_scope(self._engine) as session:
            ids = list(
                session.execute(
                    sa.select(col(BusinessEvent.id))
                    .where(_expired_business_events(cutoff))
                    .order_by(col(BusinessEvent.received_at), col(BusinessEvent.id))
                    .limit(size)
                ).scalars()
            )
            if ids:
                session.execute(
                    sa.delete(TriggerEnrollment).where(col(TriggerEnrollment.event_id).in_(ids))
                )
                session.execute(sa.delete(BusinessEvent).where(col(BusinessEvent.id).in_(ids)))
            return len(ids)

    def _notification_batch(self, cutoff: datetime, size: int) -> int:
        with session_scope(self._engine) as session:
            ids = list(
                session.execute(
                    sa.select(col(Notification.id))
                    .where(_expired_notifications(cutoff))
                    .order_by(col(Notification.created_at), col(Notification.id))
                    .limit(size)
                ).scalars()
            )
            if ids:
                session.execute(sa.delete(Notification).where(col(Notification.id).in_(ids)))
            return len(ids)


def _fold_metrics(session: Session, metrics: dict[str, set[str]]) -> int:
    """Add `metrics` to each message's `pruned_metrics`; messages no longer there are skipped."""
    if not metrics:
        return 0
    current = session.execute(
        sa.select(col(Message.id), col(Message.pruned_metrics)).where(
            col(Message.id).in_(list(metrics))
        )
    ).all()
    changes = [
        {"id": message_id, "pruned_metrics": sorted(set(before or ()) | metrics[message_id])}
        for message_id, before in current
        if not metrics[message_id] <= set(before or ())
    ]
    if changes:
        session.execute(sa.update(Message), changes)
    return len(changes)


__all__ = ["RetentionPruner", "retention_cutoff"]
