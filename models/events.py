"""The engagement event: one normalised model for every ESP event, from webhook parser to workflow
signal — and for business events on their way to a workflow (kind `business`, with the event's
name and nurture's id of it).

It carries opaque ids only (message id, ESP ids, event ids): never an email address, a name or a
business event's properties, because it travels into workflow histories.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from models.replies import ReplyIntent


class EventKind(StrEnum):
    """What happened to a message, in nurture's words."""

    PROCESSED = "processed"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCE = "bounce"
    DROPPED = "dropped"
    OPEN = "open"
    CLICK = "click"
    REPLY = "reply"
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"
    #: A business event (meeting booked, order placed …) posted to `POST /api/events`: `name`
    #: says which, `event_id` is nurture's id of the stored event (its properties stay in SQL).
    BUSINESS = "business"


#: The kinds that can change what a workflow does: the forwarder signals only these (processed,
#: delivered, deferred and dropped stay in SQL for the funnel and sender health), and `wait_for`
#: refuses any other kind.
SIGNALLED_KINDS = frozenset(
    {
        EventKind.OPEN,
        EventKind.CLICK,
        EventKind.REPLY,
        EventKind.BOUNCE,
        EventKind.COMPLAINT,
        EventKind.UNSUBSCRIBE,
        EventKind.BUSINESS,
    }
)


class BounceClass(StrEnum):
    """Hard bounces suppress the recipient; soft ones may be retried; blocks count against the sender."""

    HARD = "hard"
    SOFT = "soft"
    BLOCK = "block"


class EngagementEvent(BaseModel):
    """One thing a contact (or their mailbox) did with one of our messages."""

    kind: EventKind
    occurred_at: datetime
    message_id: str | None = Field(None, description="nurture's message id, when correlated.")
    esp_event_id: str | None = Field(None, description="SendGrid sg_event_id, for deduplication.")
    bounce_class: BounceClass | None = None
    machine_open: bool = Field(
        False, description="Open by a proxy such as Apple MPP (sg_machine_open)."
    )
    auto_reply: bool = Field(False, description="RFC 3834 auto-reply or out-of-office.")
    url: str | None = Field(None, description="The clicked link, for clicks.")
    resume_at: datetime | None = Field(
        None, description="For an auto-reply: hold further sends until then (out of office)."
    )
    name: str | None = Field(None, description="For a business event: its name (`meeting_booked`).")
    reply_intent: ReplyIntent | None = Field(
        None,
        description="For a reply: what it means (`opt_out` ends the enrollment `unsubscribed`). "
        "The label only: the reply's text stays in SQL.",
    )
    event_id: str | None = Field(
        None,
        description="For a business event: nurture's id of the stored event, which an activity "
        "reads its properties by (never the caller's key, which may say who it is about).",
    )

    @property
    def is_human_open(self) -> bool:
        return self.kind == EventKind.OPEN and not self.machine_open

    @property
    def is_human_reply(self) -> bool:
        return self.kind == EventKind.REPLY and not self.auto_reply

    @property
    def is_opt_out(self) -> bool:
        """A human reply asking to be removed: an unsubscribe written in words."""
        return self.is_human_reply and self.reply_intent == ReplyIntent.OPT_OUT

    @property
    def is_business(self) -> bool:
        return self.kind == EventKind.BUSINESS
