"""Unsubscribing by link or by RFC 8058 one-click POST: a signed token names the message, the
message names the contact; consent is withdrawn, the address suppressed and the workflow
signalled, all in one commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from activities.events.ingest import EventIngestService, Incoming, correlation_of
from models.db import session_scope
from models.errors import InvalidToken, UnknownUnsubscribeToken
from models.events import EngagementEvent, EventKind
from models.tables import Contact, Message, utcnow
from models.tokens import TokenPurpose, verify


@dataclass(frozen=True)
class UnsubscribeTarget:
    message_id: str
    masked_email: str | None


def mask_email(email: str) -> str:
    """`a***@example.de`: enough to recognise one's address, not to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


class UnsubscribeService:
    def __init__(
        self, engine: sa.Engine, ingest: EventIngestService, secret_key: str | Sequence[str]
    ) -> None:
        """`secret_key`: the key tokens are verified with, or the current and previous keys."""
        self._engine = engine
        self._ingest = ingest
        self._secret = secret_key

    def target(self, token: str) -> UnsubscribeTarget:
        """The message a token names; `UnknownUnsubscribeToken` for anything else."""
        try:
            message_id = verify(self._secret, TokenPurpose.UNSUBSCRIBE, token)
        except InvalidToken as exc:
            raise UnknownUnsubscribeToken(str(exc)) from None
        with session_scope(self._engine) as session:
            message = session.get(Message, message_id)
            if message is None:
                raise UnknownUnsubscribeToken("no such message")
            contact = session.get(Contact, message.contact_id)
            masked = mask_email(contact.email) if contact is not None else None
        return UnsubscribeTarget(message_id=message_id, masked_email=masked)

    def unsubscribe(self, token: str, *, one_click: bool) -> UnsubscribeTarget:
        """Withdraw consent, suppress, and queue the signal. Repeating it changes nothing."""
        target = self.target(token)
        with session_scope(self._engine) as session:
            message = session.get(Message, target.message_id)
            assert message is not None
            correlation = correlation_of(message)
        kind = "one_click" if one_click else "link"
        now = utcnow()
        self._ingest.ingest(
            Incoming(
                # One per message: a second click (or a mail client's retry) is a duplicate.
                esp_event_id=f"unsubscribe-{target.message_id}",
                esp_type=f"unsubscribe_{kind}",
                occurred_at=now,
                event=EngagementEvent(
                    kind=EventKind.UNSUBSCRIBE,
                    occurred_at=now,
                    message_id=target.message_id,
                    esp_event_id=f"unsubscribe-{target.message_id}",
                ),
                correlation=correlation,
                details={"via": kind},
            )
        )
        return target


__all__ = ["UnsubscribeService", "UnsubscribeTarget", "mask_email"]
