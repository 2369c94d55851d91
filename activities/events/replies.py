"""Replies from Inbound Parse: find the message answered (the signed `reply+token` address, else
In-Reply-To / References, else the sender's address), tell a human reply from an out-of-office,
classify what the person wrote now (activities/replies), and store it — the `reply` engagement
event for the enrollment's workflow, carrying the intent's label, and the classified reply beside
it in one commit (its effects: docs/architecture.md, "Replies")."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
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
from activities.replies.extraction import reply_body
from activities.replies.intents import classify_new_text
from models.db import session_scope
from models.errors import InvalidToken
from models.events import EngagementEvent, EventKind
from models.inbound import InboundMessage
from models.replies import Classification, ReplyClassifier, ReplyIntent
from models.tables import Message, Reply
from models.tokens import TokenPurpose, verify

#: An out-of-office without a readable return date holds sends this long.
DEFAULT_AWAY_DAYS = 7

#: The most of a reply's new text kept for the inbox (characters).
STORED_TEXT_MAX = 10_000


@dataclass(frozen=True)
class ReplyRecorded:
    correlated: bool
    duplicate: bool
    auto_reply: bool
    workflow_id: str | None
    intent: ReplyIntent


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
        secret_key: str | Sequence[str],
        *,
        default_away_days: int = DEFAULT_AWAY_DAYS,
        classifier: ReplyClassifier | None = None,
    ) -> None:
        self._engine = engine
        self._ingest = ingest
        self._secret = secret_key
        self._default_away_days = default_away_days
        self._classifier = classifier

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

    def classify(self, inbound: InboundMessage) -> Classification:
        """The reply's intent: `auto_reply` for an out-of-office (its own handling), else what the
        classifier makes of the new text (never raises: a failing classifier gives `neutral`)."""
        if inbound.auto_reply:
            return Classification(
                intent=ReplyIntent.AUTO_REPLY,
                confidence=1.0,
                cue=(inbound.auto_reply_reason or "auto-reply")[:200],
            )
        return classify_new_text(
            new_text_of(inbound), subject=inbound.subject, classifier=self._classifier
        )

    def record(self, inbound: InboundMessage, *, received: datetime) -> ReplyRecorded:
        with session_scope(self._engine) as session:
            correlation = self.correlate(session, inbound)
        classification = self.classify(inbound)
        event = EngagementEvent(
            kind=EventKind.REPLY,
            occurred_at=received,
            message_id=correlation.message_id,
            esp_event_id=reply_event_id(inbound),
            auto_reply=inbound.auto_reply,
            reply_intent=classification.intent,
            resume_at=resume_at(inbound.return_date, received, default_days=self._default_away_days)
            if inbound.auto_reply
            else None,
        )
        details: dict[str, str | int | bool] = {
            "auto_reply": inbound.auto_reply,
            "intent": classification.intent.value,
        }
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
                reply=Reply(
                    event_id=0,  # set by the ingest once the event row exists
                    contact_id=correlation.contact_id,
                    workflow_id=correlation.workflow_id,
                    message_id=correlation.message_id,
                    received_at=received,
                    intent=classification.intent.value,
                    classified_intent=classification.intent.value,
                    confidence=classification.confidence,
                    cue=classification.cue,
                    language=classification.language,
                    referred_email=classification.referred_email,
                    text=new_text_of(inbound)[:STORED_TEXT_MAX],
                    # The ingest applies them in the same commit.
                    effects_applied=[classification.intent.value],
                ),
            )
        )
        return ReplyRecorded(
            correlated=correlation.workflow_id is not None,
            duplicate=result.duplicates > 0,
            auto_reply=inbound.auto_reply,
            workflow_id=correlation.workflow_id,
            intent=classification.intent,
        )


def new_text_of(inbound: InboundMessage) -> str:
    """What the person wrote now: the parser's `new_text`, or extracted here for a message built
    without the parser (empty either way when the mail held nothing but quotes)."""
    return inbound.new_text or reply_body(inbound.text)


def reply_event_id(inbound: InboundMessage) -> str:
    """The reply's own Message-ID identifies it (Inbound Parse may post it twice); else a digest."""
    basis = inbound.message_id or "|".join(
        [inbound.from_email or "", inbound.subject, inbound.text[:2000]]
    )
    return "reply-" + hashlib.sha256(basis.encode()).hexdigest()[:40]


__all__ = [
    "DEFAULT_AWAY_DAYS",
    "STORED_TEXT_MAX",
    "ReplyRecorded",
    "ReplyService",
    "reply_event_id",
    "resume_at",
]
