"""Sending identities for ops: create, change, list with today's quota and health, pause and
resume (resuming also wakes the enrollments the pause held). The CLI and the `/api/senders`
routes both call `SenderService`, so each action does the same through either door."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import structlog
from pydantic import BaseModel
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.service import RPCError

from activities.contacts.store import normalise_email
from activities.deliverability.sender_health import HealthPolicy, figures, pause, resume
from activities.enrollment.quota import sender_day, today
from models.db import session_scope
from models.enrollment import EnrollmentStatus
from models.errors import InvalidInput, SenderNotFound
from models.tables import (
    Enrollment,
    Sender,
    SenderCreate,
    SenderDnsCheck,
    SenderUpdate,
    utcnow,
)
from models.wire import SENDER_RESUMED_SIGNAL

log = structlog.stdlib.get_logger(__name__)

#: The running enrollments whose step waits on a paused sender (Temporal visibility).
HELD_BY_PAUSED_SENDER = (
    f"NurtureStatus = '{EnrollmentStatus.SENDER_PAUSED.value}' AND ExecutionStatus = 'Running'"
)
#: Gives the Temporal client when called, or None while Temporal is unreachable.
TemporalConnector = Callable[[], Awaitable[Client | None]]
#: Signals in flight at once when a resume wakes the held enrollments.
WAKE_CONCURRENCY = 32
#: Workflow ids per `IN (...)` when matching held enrollments to the resumed sender.
_ID_CHUNK = 500


class SenderDnsStatus(BaseModel):
    """The sender's latest daily DNS re-check (`activities.maintenance.dns_recheck`)."""

    domain: str
    checked_at: datetime
    #: No check failed (warnings, and checks DNS could not answer, allowed).
    ok: bool
    counts: dict[str, int]
    #: The checks that did not pass, worst first: kind, name, status, summary, fix.
    problems: list[dict[str, str]]


class SenderStatus(BaseModel):
    """A sender as ops see it: identity, limits, today's quota, health, pause, DNS."""

    id: str
    from_email: str
    from_name: str
    postal_address: str
    reply_domain: str | None
    time_zone: str
    daily_cap: int
    domain_hourly_cap: int
    warmup: dict[str, Any]
    quota_today: dict[str, Any]
    health: dict[str, Any]
    paused: bool
    paused_at: datetime | None
    paused_reason: str | None
    pause_figures: dict[str, Any] | None
    #: None until the daily DNS re-check has run for this sender.
    dns: SenderDnsStatus | None = None


def _check_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "time_zone", f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)"
        ) from None


def ensure_sender(engine: sa.Engine, sender_id: str, **fields: Any) -> Sender:
    """Create the sender if it does not exist yet; an existing one is left as it is."""
    data = SenderCreate(id=sender_id, **fields)
    _check_zone(data.time_zone)
    with session_scope(engine) as session:
        sender = session.get(Sender, sender_id)
        if sender is None:
            sender = Sender(
                **(data.model_dump() | {"from_email": normalise_email(data.from_email)})
            )
            if "warmup_started_on" not in data.model_fields_set:
                # The ramp's first day is the sender's own today (quota days are local), not UTC's.
                sender.warmup_started_on = sender_day(sender, utcnow())
            session.add(sender)
    return sender


@dataclass(frozen=True)
class SenderResumed:
    """A resume: the sender now, and how many held enrollments were told to try again (None:
    Temporal was unreachable or would not list them, so they go on at their own recheck, within
    30 minutes)."""

    sender: SenderStatus
    woken: int | None


class SenderService:
    """Every ops action on senders, for the CLI and the API alike."""

    def __init__(self, engine: sa.Engine, policy: HealthPolicy) -> None:
        self._engine = engine
        self._policy = policy

    def create(self, data: SenderCreate) -> SenderStatus:
        with session_scope(self._engine) as session:
            if session.get(Sender, data.id) is not None:
                raise InvalidInput("id", f"sender {data.id!r} exists already")
        ensure_sender(self._engine, data.id, **data.model_dump(exclude={"id"}, exclude_unset=True))
        return self.status(data.id)

    def update(self, sender_id: str, change: SenderUpdate) -> SenderStatus:
        values = change.model_dump(exclude_unset=True, exclude_none=True)
        if "time_zone" in values:
            _check_zone(values["time_zone"])
        with session_scope(self._engine) as session:
            sender = self._get(session, sender_id)
            for key, value in values.items():
                setattr(sender, key, value)
            session.add(sender)
        return self.status(sender_id)

    def pause(self, sender_id: str, reason: str) -> SenderStatus:
        """Stop the sender's sends (a sender already paused keeps its first reason)."""
        if not reason.strip():
            raise InvalidInput("reason", "say why the sender is paused (it is kept on the sender)")
        with session_scope(self._engine) as session:
            sender = self._get(session, sender_id)
            if sender.paused_at is None:
                pause(session, sender, f"paused by ops: {reason}", utcnow())
        return self.status(sender_id)

    async def resume(self, sender_id: str, temporal: TemporalConnector) -> SenderResumed:
        """Let the sender send again, then signal `sender_resumed` to its enrollments that a
        step holds, so they send at once. `temporal` gives the client (None: unreachable); it is
        called only once the sender is resumed. Held enrollments also recheck every 30 minutes
        by themselves: without Temporal, or if a signal fails, they are late; nothing is lost."""
        status = await asyncio.to_thread(self._resume, sender_id)
        client = await temporal()
        woken = await self._wake_held(sender_id, client) if client is not None else None
        return SenderResumed(sender=status, woken=woken)

    def _resume(self, sender_id: str) -> SenderStatus:
        with session_scope(self._engine) as session:
            resume(session, self._get(session, sender_id))
        return self.status(sender_id)

    async def _wake_held(self, sender_id: str, client: Client) -> int | None:
        try:
            held = [
                execution.id async for execution in client.list_workflows(HELD_BY_PAUSED_SENDER)
            ]
        except RPCError as exc:
            log.warning("held enrollments not listed; they recheck on their own", error=str(exc))
            return None
        mine = await asyncio.to_thread(self._live_enrollments_of, sender_id, held)
        slots = asyncio.Semaphore(WAKE_CONCURRENCY)

        async def wake(workflow_id: str) -> bool:
            async with slots:
                try:
                    await client.get_workflow_handle(workflow_id).signal(SENDER_RESUMED_SIGNAL)
                except RPCError as exc:  # closed meanwhile, or Temporal went away
                    log.info("held enrollment not woken", workflow_id=workflow_id, error=str(exc))
                    return False
                return True

        woken = sum(await asyncio.gather(*(wake(w) for w in mine)))
        log.info("sender resumed", sender=sender_id, held=len(mine), woken=woken)
        return woken

    def _live_enrollments_of(self, sender_id: str, workflow_ids: Iterable[str]) -> list[str]:
        """The given workflows that are this sender's live enrollments (others stay held)."""
        ids = list(dict.fromkeys(workflow_ids))
        found: list[str] = []
        with session_scope(self._engine) as session:
            for start in range(0, len(ids), _ID_CHUNK):
                found.extend(
                    session.exec(
                        select(Enrollment.workflow_id).where(
                            Enrollment.sender_id == sender_id,
                            col(Enrollment.outcome).is_(None),
                            col(Enrollment.workflow_id).in_(ids[start : start + _ID_CHUNK]),
                        )
                    ).all()
                )
        return found

    def status(self, sender_id: str) -> SenderStatus:
        with session_scope(self._engine) as session:
            return self._status(session, self._get(session, sender_id))

    def list(self) -> list[SenderStatus]:
        with session_scope(self._engine) as session:
            return [
                self._status(session, s)
                for s in session.exec(select(Sender).order_by(Sender.id)).all()
            ]

    def _get(self, session: Any, sender_id: str) -> Sender:
        sender = session.get(Sender, sender_id)
        if sender is None:
            raise SenderNotFound(f"no sender {sender_id!r}")
        return sender

    def _status(self, session: Any, sender: Sender) -> SenderStatus:
        now = utcnow()
        use = today(session, sender, now)
        return SenderStatus(
            id=sender.id,
            from_email=sender.from_email,
            from_name=sender.from_name,
            postal_address=sender.postal_address,
            reply_domain=sender.reply_domain,
            time_zone=sender.time_zone,
            daily_cap=sender.daily_cap,
            domain_hourly_cap=sender.domain_hourly_cap,
            warmup={
                "start": sender.warmup_start,
                "growth": sender.warmup_growth,
                "ceiling": sender.warmup_ceiling,
                "started_on": sender.warmup_started_on.isoformat(),
                "day": use.ramp_day,
            },
            quota_today={
                "day": use.day.isoformat(),
                "cap": use.cap,
                "used": use.used,
                "remaining": use.remaining,
            },
            health=figures(session, sender.id, now, self._policy).as_dict(),
            paused=sender.paused_at is not None,
            paused_at=sender.paused_at,
            paused_reason=sender.paused_reason,
            pause_figures=sender.pause_figures,
            dns=_dns_status(session.get(SenderDnsCheck, sender.id)),
        )


def _dns_status(check: SenderDnsCheck | None) -> SenderDnsStatus | None:
    if check is None:
        return None
    return SenderDnsStatus(
        domain=check.domain,
        checked_at=check.checked_at,
        ok=check.ok,
        counts=dict(check.counts),
        problems=list(check.problems),
    )


__all__ = [
    "HELD_BY_PAUSED_SENDER",
    "SenderDnsStatus",
    "SenderResumed",
    "SenderService",
    "SenderStatus",
    "TemporalConnector",
    "ensure_sender",
]
