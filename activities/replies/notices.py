"""Telling a person about a reply worth their time: an `interested` or `wrong_person` reply queues
one signed notification (activities/notifications) in the commit that stores or corrects it.

The notification names the contact, the enrollment and the intent, and links to the reply in the
dashboard; the reply's text and any address it names stay in SQL (docs/architecture.md, Replies).
"""

from __future__ import annotations

from uuid import UUID

from sqlmodel import Session

from activities.notifications.outbox import queue_notification
from models.replies import NOTIFIED_INTENTS, ReplyIntent
from models.tables import Enrollment, Reply

#: The notification's `kind`.
REPLY_NOTIFICATION = "reply"


class ReplyNotices:
    """Queues reply notifications; built only when `NURTURE_NOTIFY_URL` is set."""

    def __init__(self, public_url: str) -> None:
        self._public_url = public_url.rstrip("/")

    def link(self, reply_id: int) -> str:
        return f"{self._public_url}/replies/{reply_id}"

    def queue(self, session: Session, reply: Reply) -> UUID | None:
        """Queue the notification `reply`'s intent asks for (None when it asks for none)."""
        if reply.id is None or ReplyIntent(reply.intent) not in NOTIFIED_INTENTS:
            return None
        enrollment = session.get(Enrollment, reply.workflow_id) if reply.workflow_id else None
        return queue_notification(
            session,
            kind=REPLY_NOTIFICATION,
            payload={
                "reply_id": reply.id,
                "intent": reply.intent,
                "confidence": reply.confidence,
                "contact_id": str(reply.contact_id) if reply.contact_id else None,
                "enrollment": reply.workflow_id,
                "sequence": enrollment.sequence if enrollment is not None else None,
                "received_at": reply.received_at.isoformat(),
                "link": self.link(reply.id),
            },
        )


__all__ = ["REPLY_NOTIFICATION", "ReplyNotices"]
