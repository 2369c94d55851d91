"""A person corrects a reply's intent (`PATCH /api/replies/{id}`): the reply takes the new intent
and that intent's effects run once, in the same commit — a correction to `opt_out` unsubscribes
(consent withdrawn with the reply as evidence, suppression, every live enrollment of the contact
ends `unsubscribed`, the same path as the unsubscribe link), to `interested` or `wrong_person`
notifies a person; `not_interested` blocks re-enrollment through the stored intent itself.
Correcting away from `opt_out` never re-subscribes: consent comes back only from the contact.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from sqlmodel import Session

from activities.events.ingest import Correlation, EventIngestService, Incoming
from activities.replies.inbox import ReplyView, reply_view
from activities.replies.notices import ReplyNotices
from models.db import session_scope
from models.errors import ReplyNotFound
from models.events import EngagementEvent, EventKind
from models.replies import ReplyIntent
from models.tables import Enrollment, Reply, utcnow

log = structlog.stdlib.get_logger(__name__)


@dataclass(frozen=True)
class Corrected:
    reply: ReplyView
    #: False when the reply already had that intent (nothing changed).
    changed: bool
    #: Outbox rows (workflow signals) the correction queued: wake the forwarder when any.
    signals: int


class ReplyCorrections:
    def __init__(
        self, engine: sa.Engine, ingest: EventIngestService, notices: ReplyNotices | None
    ) -> None:
        self._engine = engine
        self._ingest = ingest
        self._notices = notices

    def correct(self, reply_id: int, intent: ReplyIntent) -> Corrected:
        """Set the reply's intent; apply the new intent's effects unless they ran before."""
        with session_scope(self._engine) as session:
            reply = session.get(Reply, reply_id, with_for_update=True)
            if reply is None:
                raise ReplyNotFound(f"no reply {reply_id}")
            if reply.intent == intent.value:
                return Corrected(reply_view(session, reply_id), changed=False, signals=0)
            previous = reply.intent
            reply.intent = intent.value
            reply.corrected_at = utcnow()
            signals = 0
            if intent.value not in reply.effects_applied:
                signals = self._apply(session, reply, intent)
                reply.effects_applied = [*reply.effects_applied, intent.value]
            session.add(reply)
            self._mirror(session, reply)
            session.flush()
            log.info(
                "reply intent corrected",
                reply_id=reply_id,
                previous=previous,
                intent=intent.value,
            )
            return Corrected(reply_view(session, reply_id), changed=True, signals=signals)

    def _apply(self, session: Session, reply: Reply, intent: ReplyIntent) -> int:
        if intent == ReplyIntent.OPT_OUT:
            now = utcnow()
            key = f"reply-opt-out-{reply.id}"
            result = self._ingest.store(
                session,
                Incoming(
                    esp_event_id=key,
                    esp_type="unsubscribe_reply",
                    occurred_at=now,
                    event=EngagementEvent(
                        kind=EventKind.UNSUBSCRIBE,
                        occurred_at=now,
                        message_id=reply.message_id,
                        esp_event_id=key,
                    ),
                    correlation=Correlation(reply.message_id, reply.workflow_id, reply.contact_id),
                    details={"via": "reply corrected to opt_out", "reply_id": reply.id},
                ),
            )
            return len(result.event_ids)
        if self._notices is not None:
            self._notices.queue(session, reply)
        return 0

    @staticmethod
    def _mirror(session: Session, reply: Reply) -> None:
        """The enrollment the reply ended shows the corrected intent."""
        if reply.workflow_id is None:
            return
        enrollment = session.get(Enrollment, reply.workflow_id)
        if enrollment is not None and enrollment.reply_intent is not None:
            enrollment.reply_intent = reply.intent
            session.add(enrollment)


__all__ = ["Corrected", "ReplyCorrections"]
