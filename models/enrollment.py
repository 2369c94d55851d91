"""Plain models of one enrollment: workflow input and result, query state, and the send activity's I/O.

Everything here travels through Temporal payloads, so it holds opaque ids only
(contact id, message id, sender id): personal data stays in SQL.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from models.ab_test import AbAssignment
from models.calendar import ContactCalendar
from models.events import EngagementEvent
from models.replies import ReplyIntent


def enrollment_workflow_id(sequence: str, contact_id: UUID | str) -> str:
    """The workflow id of a contact's enrollment in a sequence: one live enrollment per pair."""
    return f"nurture/{sequence}/{contact_id}"


class Outcome(StrEnum):
    """How an enrollment ended."""

    COMPLETED = "completed"
    REPLIED = "replied"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"
    NO_CONSENT = "no_consent"
    #: A goal of the sequence happened (a business event in its `goals`): the result names it.
    CONVERTED = "converted"
    #: A business event in the sequence's `exit_on` happened (became a customer, do not contact).
    EXITED = "exited"


class EnrollmentStatus(StrEnum):
    """Where an enrollment is now (the `NurtureStatus` search attribute)."""

    RUNNING = "running"
    WAITING = "waiting"
    SENDING = "sending"
    #: Holding sends until an out-of-office contact is back.
    PAUSED = "paused"
    #: The sender's day, a recipient domain's hour or the contact's week is full.
    WAITING_FOR_QUOTA = "waiting_for_quota"
    #: The sender is paused (health or ops); the step goes once it is resumed.
    SENDER_PAUSED = "sender_paused"
    #: An A/B-tested step waits for the cohort's winner (the rest of the cohort after the sample).
    WAITING_FOR_WINNER = "waiting_for_winner"
    ENDED = "ended"


class TriggerRef(BaseModel):
    """The business event that started an enrollment (a sequence's `triggers`): opaque id, name
    and time only; a sequence reads its properties through `event_property`."""

    event_id: str
    name: str
    occurred_at: datetime


class EnrollmentInput(BaseModel):
    """Start input of every sequence workflow."""

    contact_id: UUID
    sender_id: str = Field("default", description="Which sending identity mails this contact.")
    cohort_id: str | None = None
    params: dict[str, Any] = Field(
        default_factory=dict, description="Sequence-specific timings etc."
    )
    calendar: ContactCalendar | None = Field(
        None,
        description="The contact's time zone and country for send windows and business days "
        "(not identities). None: no send windows (sends go when due).",
    )
    ab: AbAssignment | None = Field(
        None, description="The variant this contact gets at the cohort's A/B-tested step."
    )
    trigger: TriggerRef | None = Field(
        None, description="The business event that enrolled the contact, if one did."
    )


class SentStep(BaseModel):
    """A step the enrollment sent (or tried to: `status` says how it went)."""

    step: str
    message_id: str
    status: str
    variant: str | None = None


class EnrollmentResult(BaseModel):
    """What a closed enrollment's workflow returns."""

    outcome: Outcome
    steps_sent: list[SentStep] = Field(default_factory=list)
    reason: str | None = None
    #: For `converted`: the goal (business event name) that ended the enrollment.
    goal: str | None = None
    #: For `exited`: the `exit_on` business event that ended it.
    exit_event: str | None = None
    #: When a human reply ended it (`replied`, or `unsubscribed` by an opt-out reply): its intent.
    reply_intent: ReplyIntent | None = None


class EnrollmentState(BaseModel):
    """Answer of the `state` query."""

    sequence: str
    contact_id: UUID
    cohort_id: str | None
    current_step: str | None
    status: EnrollmentStatus
    outcome: Outcome | None
    steps_sent: list[SentStep]
    events_seen: list[EngagementEvent]
    paused_until: datetime | None = None
    paused_by_ops: bool = False
    #: For `converted`: the goal that ended it (as `EnrollmentResult.goal`).
    goal: str | None = None
    #: For `exited`: the `exit_on` business event that ended it.
    exit_event: str | None = None
    #: When a human reply ended it (`replied`, or `unsubscribed` by an opt-out reply): its intent.
    reply_intent: ReplyIntent | None = None


class SendStatus(StrEnum):
    """What became of one send attempt."""

    SENT = "sent"
    #: The row existed unfinished: a previous attempt may or may not have reached the ESP.
    UNKNOWN = "unknown"


class SendStepInput(BaseModel):
    """Input of the `send_step` activity."""

    message_id: str = Field(description="Chosen by the workflow, so every retry uses the same row.")
    workflow_id: str
    contact_id: UUID
    sequence: str
    step: str
    template: str = Field(description="Template name under templates/, e.g. trade_intro/intro.")
    sender_id: str = "default"
    cohort_id: str | None = None
    in_reply_to_message_id: str | None = Field(
        None, description="Send in the thread of this earlier message: Re: subject, In-Reply-To."
    )
    variant: str | None = Field(None, description="The A/B variant of the step to send.")
    await_winner: bool = Field(
        False, description="Send the cohort's A/B winner; deferred (WinnerPending) until decided."
    )
    trigger_event_id: str | None = Field(
        None,
        description="The business event that enrolled the contact (`TriggerRef.event_id`): the "
        "template sees its properties as `event`.",
    )


class SendStepResult(BaseModel):
    """Result of the `send_step` activity."""

    message_id: str
    status: SendStatus
    esp_message_id: str | None = None
    variant: str | None = None


class FinishEnrollmentInput(BaseModel):
    """Input of the `finish_enrollment` activity: the outcome, mirrored into SQL."""

    workflow_id: str
    outcome: Outcome
    reason: str | None = None
    #: The business event name that ended it (`converted`: the goal; `exited`: the exit event).
    outcome_event: str | None = None
    #: The intent of the human reply that ended it, if one did.
    reply_intent: ReplyIntent | None = None


class EventPropertyInput(BaseModel):
    """Input of the `event_property` activity: which property of which stored business event.
    `contact_id` is the enrollment's: an event about another contact is never read."""

    event_id: str
    contact_id: UUID
    name: str


class EventPropertyResult(BaseModel):
    """Result of the `event_property` activity: the property's JSON value, None when the event
    lacks it or is gone. It is kept in the workflow history: never a personal value."""

    value: Any = None
    #: Whether the event was found (for the enrollment's contact).
    found: bool = True
