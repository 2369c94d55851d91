"""Replies from Inbound Parse: find the message answered (the signed `reply+token` address, else
In-Reply-To / References, else the sender's address), tell a human reply from an out-of-office,
and store it as a `reply` engagement event for the enrollment's workflow."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from activities.events.ingest import (
    Correlation,
    EventIngestService,
    Incoming,
    correlate_by_email,
    correlation_of,
)
from models.db import session_scope
from models.errors import InvalidToken
from models.events import EngagementEvent, EventKind
from models.inbound import InboundMessage
from models.tables import Message
from models.tokens import TokenPurpose, verify

#: An out-of-office without a readable return date holds sends this long.
DEFAULT_AWAY_DAYS = 7


@dataclass(frozen=True)
class ReplyRecorded:
    correlated: bool
    duplicate: bool
    auto_reply: bool
    workflow_id: str | None


def resume_at(return_date: date | None, received: datetime, *, default_days: int) -> datetime:
    """When to send again to someone away: the day after their stated return (their first day
    back goes to the backlog), else `default_days` after the auto-reply arrived."""
    if return_date is None:
        return received + timedelta(days=default_days)
    return datetime.combine(return_date + timedelta(days=1), time(0, 0), tzinfo=UTC)


class ReplyService:
    def __init__(
        self,
        engine: sa.Engine,
        ingest: EventIngestService,
        secret_key: str,
        *,
        default_away_days: int = DEFAULT_AWAY_DAYS,
    ) -> None:
        self._engine = engine
        self._ingest = ingest
        self._secret = secret_key
        self._default_away_days = default_away_days

    def correlate(self, session: Session, inbound: InboundMessage) -> Correlation:
        for token in inbound.reply_tokens:
            try:
                message_id = verify(self._secret, TokenPurpose.REPLY, token)
            except InvalidToken:
                continue  # forged or mangled: try the headers instead
            message = session.get(Message, message_id)
            if message is not None:
                return correlation_of(message)
        referenced = inbound.referenced_message_ids()
        if referenced:
            rows = session.exec(
                select(Message).where(Message.rfc_message_id.in_(referenced))  # type: ignore[union-attr]
            ).all()
            by_id = {m.rfc_message_id: m for m in rows}
            for message_id in referenced:  # nearest reference first
                if message_id in by_id:
                    return correlation_of(by_id[message_id])
        if inbound.from_email:
            return correlate_by_email(session, inbound.from_email)
        return Correlation()

    def record(self, inbound: InboundMessage, *, received: datetime) -> ReplyRecorded:
        with session_scope(self._engine) as session:
            correlation = self.correlate(session, inbound)
        event = EngagementEvent(
            kind=EventKind.REPLY,
            occurred_at=received,
            message_id=correlation.message_id,
            esp_event_id=reply_event_id(inbound),
            auto_reply=inbound.auto_reply,
            resume_at=resume_at(inbound.return_date, received, default_days=self._default_away_days)
            if inbound.auto_reply
            else None,
        )
        details: dict[str, str | int | bool] = {"auto_reply": inbound.auto_reply}
        if inbound.auto_reply_reason:
            details["auto_reply_reason"] = inbound.auto_reply_reason[:200]
        if inbound.return_date:
            details["return_date"] = inbound.return_date.isoformat()
        result = self._ingest.ingest(
            Incoming(
                esp_event_id=event.esp_event_id or "",
                esp_type="reply",
                occurred_at=received,
                event=event,
                correlation=correlation,
                email=inbound.from_email,
                details=details,
            )
        )
        return ReplyRecorded(
            correlated=correlation.workflow_id is not None,
            duplicate=result.duplicates > 0,
            auto_reply=inbound.auto_reply,
            workflow_id=correlation.workflow_id,
        )


def reply_event_id(inbound: InboundMessage) -> str:
    """The reply's own Message-ID identifies it (Inbound Parse may post it twice); else a digest."""
    basis = inbound.message_id or "|".join(
        [inbound.from_email or "", inbound.subject, inbound.text[:2000]]
    )
    return "reply-" + hashlib.sha256(basis.encode()).hexdigest()[:40]


__all__ = ["DEFAULT_AWAY_DAYS", "ReplyRecorded", "ReplyService", "reply_event_id", "resume_at"]
