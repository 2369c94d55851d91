"""Sender quotas, reserved atomically in the database so any number of workers stay within them:
a daily cap with a warm-up ramp per sender (counted in the sender's local day), a per-recipient-
domain hourly throttle, and a cross-sequence weekly cap per contact.

A reservation is an `INSERT … ON CONFLICT DO UPDATE SET used = used + 1 WHERE used < cap` on a
counter row: the row lock (PostgreSQL) or the single writer (SQLite) makes check and increment
one step. It is made in the same transaction that claims the message row, so a rolled-back send
gives the quota back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from models.errors import QuotaExhausted
from models.tables import Contact, DomainHourQuota, Message, MessageStatus, Sender, SenderDayQuota

#: Messages that count towards a contact's weekly cap (sent, or possibly sent).
_COUNTED = (MessageStatus.PENDING, MessageStatus.SENT, MessageStatus.UNKNOWN)


def ramp_cap(sender: Sender, day: date) -> int:
    """Sends allowed on `day`: the warm-up ramp (start × growth^days, up to its ceiling), never
    above the sender's daily cap. Before the ramp starts, the ramp's first day applies."""
    days = max(0, (day - sender.warmup_started_on).days)
    # Compare in logs to avoid huge powers after a long ramp.
    if days * math.log(sender.warmup_growth or 1.0) > math.log(max(sender.warmup_ceiling, 1)):
        ramp = sender.warmup_ceiling
    else:
        ramp = min(
            sender.warmup_ceiling, math.floor(sender.warmup_start * sender.warmup_growth**days)
        )
    return max(0, min(sender.daily_cap, ramp))


def sender_zone(sender: Sender) -> ZoneInfo:
    try:
        return ZoneInfo(sender.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def sender_day(sender: Sender, now: datetime) -> date:
    """The sender's local calendar day at `now` (quota days turn over at local midnight)."""
    return now.astimezone(sender_zone(sender)).date()


def next_sender_day_start(sender: Sender, now: datetime) -> datetime:
    zone = sender_zone(sender)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0, 0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class QuotaUse:
    """Where a sender stands today."""

    day: date
    ramp_day: int
    cap: int
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.cap - self.used)


class QuotaService:
    """Reserves a send against every limit, inside the caller's transaction."""

    def __init__(self, *, contact_weekly_cap: int) -> None:
        self._contact_weekly_cap = contact_weekly_cap

    def reserve(self, session: Session, sender: Sender, contact: Contact, now: datetime) -> None:
        """Take one send from each limit, or raise `QuotaExhausted` saying when to retry."""
        self._check_contact_week(session, contact, now)
        day = sender_day(sender, now)
        cap = ramp_cap(sender, day)
        if not _increment(session, SenderDayQuota, {"sender_id": sender.id, "day": day}, cap):
            raise QuotaExhausted(
                f"sender {sender.id} used its {cap} sends for {day}",
                retry_at=next_sender_day_start(sender, now),
                scope="sender_day",
            )
        domain = contact.email.rsplit("@", 1)[-1].lower()
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        key = {"sender_id": sender.id, "domain": domain, "hour": hour}
        if not _increment(session, DomainHourQuota, key, sender.domain_hourly_cap):
            raise QuotaExhausted(
                f"sender {sender.id} reached {sender.domain_hourly_cap} sends to {domain} this hour",
                retry_at=hour + timedelta(hours=1),
                scope="recipient_domain",
            )

    def release(
        self, session: Session, sender: Sender, contact: Contact, reserved_at: datetime
    ) -> None:
        """Give back a reservation whose mail certainly did not go (ESP refused or unreachable)."""
        day = sender_day(sender, reserved_at)
        hour = reserved_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        domain = contact.email.rsplit("@", 1)[-1].lower()
        session.execute(
            sa.update(SenderDayQuota)
            .where(col(SenderDayQuota.sender_id) == sender.id, col(SenderDayQuota.day) == day)
            .where(col(SenderDayQuota.used) > 0)
            .values(used=SenderDayQuota.used - 1)
        )
        session.execute(
            sa.update(DomainHourQuota)
            .where(
                col(DomainHourQuota.sender_id) == sender.id,
                col(DomainHourQuota.domain) == domain,
                col(DomainHourQuota.hour) == hour,
                col(DomainHourQuota.used) > 0,
            )
            .values(used=DomainHourQuota.used - 1)
        )

    def _check_contact_week(self, session: Session, contact: Contact, now: datetime) -> None:
        # Serialise concurrent sends to one contact (other sequences, other workers).
        session.execute(
            sa.select(col(Contact.id)).where(col(Contact.id) == contact.id).with_for_update()
        )
        since = now - timedelta(days=7)
        recent = session.exec(
            select(Message.created_at)
            .where(
                Message.contact_id == contact.id,
                col(Message.created_at) > since,
                col(Message.status).in_(_COUNTED),
            )
            .order_by(col(Message.created_at))
        ).all()
        if len(recent) >= self._contact_weekly_cap:
            oldest_that_must_age_out = recent[len(recent) - self._contact_weekly_cap]
            raise QuotaExhausted(
                f"contact {contact.id} already got {len(recent)} emails in 7 days",
                retry_at=oldest_that_must_age_out + timedelta(days=7, seconds=1),
                scope="contact_week",
            )


def today(session: Session, sender: Sender, now: datetime) -> QuotaUse:
    day = sender_day(sender, now)
    used = session.exec(
        select(SenderDayQuota.used).where(
            SenderDayQuota.sender_id == sender.id, SenderDayQuota.day == day
        )
    ).first()
    return QuotaUse(
        day=day,
        ramp_day=max(0, (day - sender.warmup_started_on).days) + 1,
        cap=ramp_cap(sender, day),
        used=used or 0,
    )


def _increment(session: Session, table: type, key: dict[str, object], cap: int) -> bool:
    """Add one to the counter row `key` (creating it at 1) if it stays within `cap`; False if
    it would not. One statement: the upsert locks the row and checks the cap on its latest
    value (PostgreSQL), or runs under the single writer (SQLite)."""
    if cap <= 0:
        return False
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    used = table.used  # type: ignore[attr-defined]
    statement = (
        insert(table)
        .values(**key, used=1)
        .on_conflict_do_update(index_elements=list(key), set_={"used": used + 1}, where=used < cap)
        # A row back: inserted or counted; none: the cap held. (Not rowcount: psycopg reports
        # none for an upsert.)
        .returning(used)
    )
    return session.execute(statement).first() is not None


__all__ = [
    "QuotaService",
    "QuotaUse",
    "next_sender_day_start",
    "ramp_cap",
    "sender_day",
    "today",
]
