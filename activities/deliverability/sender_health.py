"""Sender health: complaint and hard-bounce rates over a rolling window and bursts of blocks.
When one crosses its bound the sender is paused — nothing more goes out from it, enrollments
wait — until ops resume it; the reason and the figures stay on the sender for them to see."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlmodel import Session, col, func, select

from models.events import BounceClass, EventKind
from models.settings import Settings
from models.tables import Event, Message, MessageStatus, Sender

log = structlog.stdlib.get_logger(__name__)


@dataclass(frozen=True)
class HealthPolicy:
    """The bounds (Gmail and Yahoo ask bulk senders to stay under 0.1 % complaints)."""

    window: timedelta = timedelta(days=30)
    max_complaint_rate: float = 0.001
    max_hard_bounce_rate: float = 0.02
    block_burst: int = 5
    block_window: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthPolicy:
        return cls(
            window=timedelta(days=settings.health_window_days),
            max_complaint_rate=settings.max_complaint_rate,
            max_hard_bounce_rate=settings.max_hard_bounce_rate,
            block_burst=settings.block_burst,
        )


@dataclass(frozen=True)
class HealthFigures:
    window_days: float
    sent: int
    complaints: int
    hard_bounces: int
    recent_blocks: int
    complaint_rate: float
    hard_bounce_rate: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def figures(session: Session, sender_id: str, now: datetime, policy: HealthPolicy) -> HealthFigures:
    since = now - policy.window
    sent = session.exec(
        select(func.count())
        .select_from(Message)
        .where(
            Message.sender_id == sender_id,
            col(Message.status).in_((MessageStatus.SENT, MessageStatus.UNKNOWN)),
            col(Message.created_at) > since,
        )
    ).one()

    def events(kind: EventKind, bounce_class: BounceClass | None, after: datetime) -> int:
        query = (
            select(func.count())
            .select_from(Event)
            .join(Message, col(Message.id) == col(Event.message_id))
            .where(
                Message.sender_id == sender_id,
                Event.kind == kind.value,
                col(Event.occurred_at) > after,
            )
        )
        if bounce_class is not None:
            query = query.where(
                col(Event.details)["bounce_class"].as_string() == bounce_class.value
            )
        return int(session.exec(query).one())

    complaints = events(EventKind.COMPLAINT, None, since)
    hard = events(EventKind.BOUNCE, BounceClass.HARD, since)
    blocks = events(EventKind.BOUNCE, BounceClass.BLOCK, now - policy.block_window)
    return HealthFigures(
        window_days=policy.window / timedelta(days=1),
        sent=int(sent),
        complaints=complaints,
        hard_bounces=hard,
        recent_blocks=blocks,
        complaint_rate=complaints / sent if sent else 0.0,
        hard_bounce_rate=hard / sent if sent else 0.0,
    )


def verdict(f: HealthFigures, policy: HealthPolicy) -> str | None:
    """Why the sender must pause, or None if it is healthy."""
    if f.complaints and f.complaint_rate >= policy.max_complaint_rate:
        return (
            f"complaint rate {f.complaint_rate:.2%} ≥ {policy.max_complaint_rate:.1%} "
            f"({f.complaints} of {f.sent} in {f.window_days:g} days)"
        )
    if f.hard_bounces and f.hard_bounce_rate >= policy.max_hard_bounce_rate:
        return (
            f"hard-bounce rate {f.hard_bounce_rate:.2%} ≥ {policy.max_hard_bounce_rate:.0%} "
            f"({f.hard_bounces} of {f.sent} in {f.window_days:g} days)"
        )
    if f.recent_blocks >= policy.block_burst:
        return f"{f.recent_blocks} blocks in the last {policy.block_window} (bound {policy.block_burst})"
    return None


def pause_if_unhealthy(
    session: Session, sender_id: str, now: datetime, policy: HealthPolicy
) -> str | None:
    """Evaluate the sender after a complaint, bounce or block; pause it if a bound is crossed."""
    sender = session.get(Sender, sender_id)
    if sender is None or sender.paused_at is not None:
        return None
    f = figures(session, sender_id, now, policy)
    reason = verdict(f, policy)
    if reason is not None:
        pause(session, sender, reason, now, f.as_dict())
        log.warning("sender paused", sender_id=sender_id, reason=reason)
    return reason


def pause(
    session: Session,
    sender: Sender,
    reason: str,
    now: datetime,
    pause_figures: dict[str, Any] | None = None,
) -> None:
    sender.paused_at = now
    sender.paused_reason = reason
    sender.pause_figures = pause_figures
    session.add(sender)


def resume(session: Session, sender: Sender) -> None:
    sender.paused_at = None
    sender.paused_reason = None
    sender.pause_figures = None
    session.add(sender)


__all__ = [
    "HealthFigures",
    "HealthPolicy",
    "figures",
    "pause",
    "pause_if_unhealthy",
    "resume",
    "verdict",
]
