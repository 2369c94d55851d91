"""The replies inbox: classified replies as the API (`GET /api/replies`) and the dashboard list
them, newest first, with intent, confidence and cue — and the reply's new text, which is
personal data and therefore shown to the bearer of the API token or a dashboard login only."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from models.db import session_scope
from models.errors import ReplyNotFound
from models.replies import ReplyIntent
from models.tables import Contact, Enrollment, Reply

#: Most replies one listing returns.
MAX_LISTED = 500


class ReplyView(BaseModel):
    """One classified reply."""

    id: int
    received_at: datetime
    intent: ReplyIntent
    #: What the classifier said, when a person corrected `intent` since.
    classified_intent: ReplyIntent
    corrected_at: datetime | None
    confidence: float
    cue: str | None
    language: str | None
    contact_id: UUID | None
    #: The contact's name or address, for the inbox (personal data).
    contact_label: str | None
    workflow_id: str | None
    sequence: str | None
    message_id: str | None
    #: An address a `wrong_person` reply names (stored, never enrolled automatically).
    referred_email: str | None
    #: What the person wrote now: quoted history, signature and disclaimer removed.
    text: str


def _label(contact: Contact) -> str:
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return name or contact.email


def _views(session: Session, rows: list[Reply]) -> list[ReplyView]:
    contact_ids = {r.contact_id for r in rows if r.contact_id}
    contacts = (
        {c.id: c for c in session.exec(select(Contact).where(col(Contact.id).in_(contact_ids)))}
        if contact_ids
        else {}
    )
    workflow_ids = {r.workflow_id for r in rows if r.workflow_id}
    sequences = (
        dict(
            session.exec(
                select(Enrollment.workflow_id, Enrollment.sequence).where(
                    col(Enrollment.workflow_id).in_(workflow_ids)
                )
            ).all()
        )
        if workflow_ids
        else {}
    )
    views = []
    for r in rows:
        assert r.id is not None
        contact = contacts.get(r.contact_id) if r.contact_id else None
        views.append(
            ReplyView(
                id=r.id,
                received_at=r.received_at,
                intent=ReplyIntent(r.intent),
                classified_intent=ReplyIntent(r.classified_intent),
                corrected_at=r.corrected_at,
                confidence=r.confidence,
                cue=r.cue,
                language=r.language,
                contact_id=r.contact_id,
                contact_label=_label(contact) if contact is not None else None,
                workflow_id=r.workflow_id,
                sequence=sequences.get(r.workflow_id) if r.workflow_id else None,
                message_id=r.message_id,
                referred_email=r.referred_email,
                text=r.text,
            )
        )
    return views


def list_replies(
    session: Session,
    *,
    intent: ReplyIntent | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[ReplyView]:
    """Replies newest first, of one intent and received at or after `since` if given."""
    query = select(Reply).order_by(col(Reply.received_at).desc(), col(Reply.id).desc())
    if intent is not None:
        query = query.where(Reply.intent == intent.value)
    if since is not None:
        query = query.where(col(Reply.received_at) >= since)
    rows = list(session.exec(query.limit(max(1, min(limit, MAX_LISTED)))).all())
    return _views(session, rows)


def reply_view(session: Session, reply_id: int) -> ReplyView:
    """One reply; `ReplyNotFound` when there is none with that id."""
    row = session.get(Reply, reply_id)
    if row is None:
        raise ReplyNotFound(f"no reply {reply_id}")
    return _views(session, [row])[0]


class ReplyInbox:
    """The inbox's reads, each in its own session."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def list(
        self,
        *,
        intent: ReplyIntent | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[ReplyView]:
        with session_scope(self._engine) as session:
            return list_replies(session, intent=intent, since=since, limit=limit)

    def get(self, reply_id: int) -> ReplyView:
        with session_scope(self._engine) as session:
            return reply_view(session, reply_id)


__all__ = ["MAX_LISTED", "ReplyInbox", "ReplyView", "list_replies", "reply_view"]
