"""Sending identities for ops: create, change, list with today's quota and health, pause and
resume. The CLI and the `/api/senders` routes both call `SenderService`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import select

from activities.contacts.store import normalise_email
from activities.deliverability.sender_health import HealthPolicy, figures, pause, resume
from activities.enrollment.quota import sender_day, today
from models.db import session_scope
from models.errors import InvalidInput, SenderNotFound
from models.tables import Sender, SenderCreate, SenderUpdate, utcnow


class SenderStatus(BaseModel):
    """A sender as ops see it: identity, limits, today's quota, health, pause."""

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


class SenderService:
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
        with session_scope(self._engine) as session:
            sender = self._get(session, sender_id)
            if sender.paused_at is None:
                pause(session, sender, f"paused by ops: {reason}", utcnow())
        return self.status(sender_id)

    def resume(self, sender_id: str) -> SenderStatus:
        with session_scope(self._engine) as session:
            resume(session, self._get(session, sender_id))
        return self.status(sender_id)

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
            raise SenderNotFound(sender_id)
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
        )


__all__ = ["SenderService", "SenderStatus", "ensure_sender"]
