"""The durable figures `/metrics` exposes, read from the database at scrape time in a few
aggregate queries: every worker and API replica writes there, so any replica can answer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from activities.deliverability.dns import CheckStatus
from activities.enrollment.quota import ramp_cap, sender_day
from activities.events.forwarder import OutboxState, outbox_state
from models.db import session_scope
from models.events import EventKind
from models.tables import (
    Event,
    EventSignal,
    Message,
    MessageStatus,
    Sender,
    SenderDayQuota,
    SenderDnsCheck,
)


class PauseCause(StrEnum):
    """Why a sender is paused, as a metric label (the stored reason is free text with figures)."""

    NONE = ""
    COMPLAINT_RATE = "complaint_rate"
    HARD_BOUNCE_RATE = "hard_bounce_rate"
    BLOCK_BURST = "block_burst"
    OPS = "ops"
    OTHER = "other"


def pause_cause(paused_reason: str | None, paused: bool) -> PauseCause:
    """The cause behind `Sender.paused_reason` (worded by activities/deliverability/sender_health.py `verdict`
    and activities/deliverability/senders.py `SenderService.pause`)."""
    if not paused:
        return PauseCause.NONE
    reason = (paused_reason or "").lower()
    if reason.startswith("paused by ops"):
        return PauseCause.OPS
    if reason.startswith("complaint rate"):
        return PauseCause.COMPLAINT_RATE
    if reason.startswith("hard-bounce rate"):
        return PauseCause.HARD_BOUNCE_RATE
    if " blocks in the last " in reason:
        return PauseCause.BLOCK_BURST
    return PauseCause.OTHER


@dataclass(frozen=True)
class SenderFigures:
    """One sender today: quota used and allowed in its local day, and whether it is paused."""

    sender_id: str
    quota_day: date
    quota_used: int
    quota_cap: int
    paused: bool
    pause_cause: PauseCause


@dataclass(frozen=True)
class SenderDnsFigures:
    """A sender's latest daily DNS re-check: whether any check failed, checks per status."""

    sender_id: str
    ok: bool
    counts: dict[str, int]
    checked_at: datetime


@dataclass(frozen=True)
class OpsFigures:
    #: Messages by (sender id, status), every status of every sender present (0 if none).
    messages: dict[tuple[str, str], int]
    #: Engagement events stored, by kind (every kind present, 0 if none).
    events: dict[str, int]
    outbox: OutboxState
    senders: list[SenderFigures]
    #: Senders whose DNS the daily re-check has checked (others have no figures yet).
    dns: list[SenderDnsFigures] = field(default_factory=list)


def message_counts(session: Session, sender_ids: list[str]) -> dict[tuple[str, str], int]:
    rows = session.execute(
        sa.select(col(Message.sender_id), col(Message.status), func.count()).group_by(
            col(Message.sender_id), col(Message.status)
        )
    ).all()
    counts = {(sender, status.value): 0 for sender in sender_ids for status in MessageStatus}
    for sender, status, n in rows:
        counts[(sender, str(status))] = int(n)
    return counts


def event_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(col(Event.kind), func.count())
        .where(col(Event.signal) == EventSignal.ENGAGEMENT, col(Event.kind).is_not(None))
        .group_by(col(Event.kind))
    ).all()
    counts: Counter[str] = Counter({kind.value: 0 for kind in EventKind})
    for kind, n in rows:
        counts[str(kind)] = int(n)
    return dict(counts)


def sender_figures(session: Session, now: datetime) -> list[SenderFigures]:
    senders = session.exec(select(Sender).order_by(col(Sender.id))).all()
    days = {sender.id: sender_day(sender, now) for sender in senders}
    used: dict[tuple[str, date], int] = {}
    if days:
        rows = session.execute(
            sa.select(
                col(SenderDayQuota.sender_id), col(SenderDayQuota.day), col(SenderDayQuota.used)
            ).where(col(SenderDayQuota.day).in_(set(days.values())))
        ).all()
        used = {(sender_id, day): n for sender_id, day, n in rows}
    return [
        SenderFigures(
            sender_id=sender.id,
            quota_day=days[sender.id],
            quota_used=used.get((sender.id, days[sender.id]), 0),
            quota_cap=ramp_cap(sender, days[sender.id]),
            paused=sender.paused_at is not None,
            pause_cause=pause_cause(sender.paused_reason, sender.paused_at is not None),
        )
        for sender in senders
    ]


def dns_figures(session: Session) -> list[SenderDnsFigures]:
    rows = session.execute(
        sa.select(
            col(SenderDnsCheck.sender_id),
            col(SenderDnsCheck.ok),
            col(SenderDnsCheck.counts),
            col(SenderDnsCheck.checked_at),
        ).order_by(col(SenderDnsCheck.sender_id))
    ).all()
    return [
        SenderDnsFigures(
            sender_id=sender_id,
            ok=bool(ok),
            counts={
                status.value: int((counts or {}).get(status.value, 0)) for status in CheckStatus
            },
            checked_at=checked_at,
        )
        for sender_id, ok, counts, checked_at in rows
    ]


def read_ops_figures(engine: sa.Engine, now: datetime) -> OpsFigures:
    """Everything in one read-only session (five or six aggregate queries)."""
    with session_scope(engine) as session:
        senders = sender_figures(session, now)
        return OpsFigures(
            messages=message_counts(session, [s.sender_id for s in senders]),
            events=event_counts(session),
            outbox=outbox_state(session),
            senders=senders,
            dns=dns_figures(session),
        )


__all__ = [
    "OpsFigures",
    "PauseCause",
    "SenderDnsFigures",
    "SenderFigures",
    "dns_figures",
    "event_counts",
    "message_counts",
    "pause_cause",
    "read_ops_figures",
    "sender_figures",
]
