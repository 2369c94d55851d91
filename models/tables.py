"""SQLModel tables: contacts, the consent ledger, suppression, senders, enrollments, messages, events.

Personal data lives only in `contact` (and rendered message bodies); everything else refers to
the contact by id, and suppression by address hash, so erasing a contact erases the person.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; nurture stores aware UTC datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def address_hash(email: str) -> str:
    """The suppression key of an address: SHA-256 of its normalised (trimmed, lower-case) form."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


# --- contacts and consent ---------------------------------------------------------------


class ContactBase(SQLModel):
    email: str = Field(max_length=320, unique=True, index=True)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=300)
    country: str | None = Field(default=None, max_length=2, description="ISO 3166-1 alpha-2")
    time_zone: str | None = Field(
        default=None, max_length=64, description="IANA zone, e.g. Europe/Berlin"
    )
    language: str | None = Field(default=None, max_length=16)


class Contact(ContactBase, table=True):
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    #: The caller's own id of the contact (the CRM's): business events and enrollments may
    #: name the contact by it.
    external_id: str | None = Field(default=None, max_length=200, unique=True, index=True)
    #: info@, sales@ …: kept, but flagged (they reach a team, not a person).
    role_account: bool = False
    custom: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ConsentAction(StrEnum):
    GRANTED = "granted"
    CONFIRMED = "confirmed"  # double opt-in confirmation
    WITHDRAWN = "withdrawn"


class ConsentBasis(StrEnum):
    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"
    CONTRACT = "contract"


class ConsentRecord(SQLModel, table=True):
    """Append-only consent ledger: the newest record of a contact decides."""

    __tablename__ = "consent_record"

    id: int | None = Field(default=None, primary_key=True)
    contact_id: UUID = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    action: ConsentAction = Field(sa_type=sa.String(16))
    basis: ConsentBasis | None = Field(default=None, sa_type=sa.String(32))
    source: str | None = Field(default=None, max_length=300)
    wording: str | None = None
    evidence: str | None = None
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SuppressionReason(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    COMPLAINT = "complaint"
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCES = "soft_bounces"
    ERASED = "erased"
    MANUAL = "manual"


class Suppression(SQLModel, table=True):
    """Addresses never mailed again, across sequences; keyed by `address_hash` so erasure keeps it."""

    address_hash: str = Field(primary_key=True, max_length=64)
    reason: SuppressionReason = Field(sa_type=sa.String(32))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# --- senders ---------------------------------------------------------------------------------


class SenderBase(SQLModel):
    from_email: str = Field(max_length=320)
    from_name: str = Field(max_length=200)
    postal_address: str = Field(description="Printed in every email (CAN-SPAM).")
    reply_domain: str | None = Field(
        default=None,
        max_length=253,
        description="Inbound Parse domain for replies; default NURTURE_INBOUND_DOMAIN",
    )
    time_zone: str = Field(
        default="UTC", max_length=64, description="Quota days and fallback send windows"
    )
    daily_cap: int = Field(
        default=200, ge=1, description="Never more than this many a day, warmed up or not"
    )
    warmup_start: int = Field(default=20, ge=1, description="Sends allowed on the ramp's first day")
    warmup_growth: float = Field(default=1.3, ge=1.0, description="Daily growth factor of the ramp")
    warmup_ceiling: int = Field(default=200, ge=1, description="Where the ramp stops growing")
    warmup_started_on: date = Field(default_factory=lambda: utcnow().date())
    domain_hourly_cap: int = Field(
        default=10, ge=1, description="At most this many per recipient domain per hour"
    )


class Sender(SenderBase, table=True):
    id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    paused_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    paused_reason: str | None = None
    #: The health figures that paused it (rates, counts, window), for ops to see.
    pause_figures: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)

    @property
    def domain(self) -> str:
        return self.from_email.rsplit("@", 1)[-1].lower()


class SenderCreate(SenderBase):
    """What ops give to create a sender (API body, CLI options)."""

    id: str = Field(min_length=1, max_length=64, regex=r"^[a-z0-9][a-z0-9_.-]*$")


class SenderUpdate(SQLModel):
    """A partial change to a sender's caps, ramp or identity."""

    from_name: str | None = None
    postal_address: str | None = None
    reply_domain: str | None = None
    time_zone: str | None = None
    daily_cap: int | None = Field(default=None, ge=1)
    warmup_start: int | None = Field(default=None, ge=1)
    warmup_growth: float | None = Field(default=None, ge=1.0)
    warmup_ceiling: int | None = Field(default=None, ge=1)
    warmup_started_on: date | None = None
    domain_hourly_cap: int | None = Field(default=None, ge=1)


class SenderDnsCheck(SQLModel, table=True):
    """The latest daily DNS re-check of a sender's domain (SPF, DKIM, DMARC, MX, blocklists):
    the dashboard's /senders page and /metrics show its failures."""

    __tablename__ = "sender_dns_check"

    sender_id: str = Field(
        foreign_key="sender.id", primary_key=True, max_length=64, ondelete="CASCADE"
    )
    domain: str = Field(max_length=253)
    checked_at: datetime = Field(sa_type=UtcDateTime)
    #: No check failed (warnings and checks DNS could not answer allowed).
    ok: bool
    #: Checks per status (`pass`, `warn`, `fail`, `error`).
    counts: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)
    #: The checks that did not pass: kind, name, status, summary, fix.
    problems: list[dict[str, str]] = Field(default_factory=list, sa_type=sa.JSON)


class SenderDayQuota(SQLModel, table=True):
    """Sends reserved per sender per local day; reserved atomically (`used < cap`)."""

    __tablename__ = "sender_day_quota"

    sender_id: str = Field(
        foreign_key="sender.id", primary_key=True, max_length=64, ondelete="CASCADE"
    )
    day: date = Field(primary_key=True)
    used: int = 0


class DomainHourQuota(SQLModel, table=True):
    """Sends reserved per sender, recipient domain and UTC hour (the per-domain throttle)."""

    __tablename__ = "domain_hour_quota"

    sender_id: str = Field(
        foreign_key="sender.id", primary_key=True, max_length=64, ondelete="CASCADE"
    )
    domain: str = Field(primary_key=True, max_length=253)
    hour: datetime = Field(primary_key=True, sa_type=UtcDateTime)
    used: int = 0


# --- enrollments, messages, events -------------------------------------------------------------


class Enrollment(SQLModel, table=True):
    """One contact in one sequence; mirrors the workflow for SQL queries (funnel, GDPR)."""

    workflow_id: str = Field(primary_key=True, max_length=300)
    sequence: str = Field(max_length=100, index=True)
    contact_id: UUID = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    cohort_id: str | None = Field(default=None, max_length=100, index=True)
    sender_id: str = Field(max_length=64)
    outcome: str | None = Field(default=None, max_length=32)
    #: The business event that ended it: the goal (`converted`) or the exit event (`exited`).
    outcome_event: str | None = Field(default=None, max_length=64)
    #: When it ended on a human reply: the reply's intent (`models.replies.ReplyIntent`).
    reply_intent: str | None = Field(default=None, max_length=32)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class MessageStatus(StrEnum):
    #: Row written, ESP not (yet) answered: a retry finding this does not call the ESP again.
    PENDING = "pending"
    SENT = "sent"
    #: A previous attempt's fate is unknown (crash between row and answer).
    UNKNOWN = "unknown"
    #: The ESP refused it for good.
    FAILED = "failed"
    #: The ESP certainly did not take it (429, 5xx, connection refused): a retry may send.
    NOT_SENT = "not_sent"


class Message(SQLModel, table=True):
    """One email of one enrollment step; written before the ESP call (at most once per step)."""

    #: /metrics counts messages per sender and status at every scrape: an index-only count.
    __table_args__ = (sa.Index("ix_message_sender_status", "sender_id", "status"),)

    id: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(max_length=300, index=True)
    contact_id: UUID = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    sequence: str = Field(max_length=100)
    step: str = Field(max_length=100)
    sender_id: str = Field(max_length=64)
    cohort_id: str | None = Field(default=None, max_length=100, index=True)
    status: MessageStatus = Field(sa_type=sa.String(16), default=MessageStatus.PENDING)
    attempts: int = 0
    esp_message_id: str | None = Field(default=None, max_length=200, index=True)
    rfc_message_id: str | None = Field(
        default=None, max_length=300, description="Message-ID header"
    )
    subject: str | None = None
    body_text: str | None = None
    body_html: str | None = None
    error: str | None = None
    #: The A/B variant sent (`control` or a `<step>@<variant>` template), None if not tested.
    variant: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    #: Funnel metrics (`activities.cohorts.event_metrics`) of this message's events that the
    #: retention prune deleted: funnels and A/B figures count them as if the events were there.
    pruned_metrics: list[str] | None = Field(default=None, sa_type=sa.JSON)


class CohortStatus(StrEnum):
    LAUNCHING = "launching"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class Cohort(SQLModel, table=True):
    """A group of contacts started on one sequence together; ops pause, resume and cancel it."""

    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    sequence: str = Field(max_length=100)
    sender_id: str = Field(foreign_key="sender.id", max_length=64)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    segment: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    #: Share of members held out (never mailed), so lift can be measured against them.
    holdout: float = 0.0
    status: CohortStatus = Field(default=CohortStatus.LAUNCHING, sa_type=sa.String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    launched_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class MemberStatus(StrEnum):
    PENDING = "pending"
    ENROLLED = "enrolled"
    SKIPPED = "skipped"
    #: In the cohort's holdout share: never enrolled, never mailed.
    HOLDOUT = "holdout"


class CohortMember(SQLModel, table=True):
    """One contact of a cohort: pending until the launch enrolls or skips it (with the reason)."""

    __tablename__ = "cohort_member"

    cohort_id: str = Field(
        foreign_key="cohort.id", primary_key=True, max_length=100, ondelete="CASCADE"
    )
    contact_id: UUID = Field(foreign_key="contact.id", primary_key=True, ondelete="CASCADE")
    status: MemberStatus = Field(default=MemberStatus.PENDING, sa_type=sa.String(16), index=True)
    reason: str | None = Field(default=None, max_length=300)
    workflow_id: str | None = Field(default=None, max_length=300)
    #: The A/B variant this member was assigned for the sample; None: the winner (or no test).
    variant: str | None = Field(default=None, max_length=64)


class AbTest(SQLModel, table=True):
    """A cohort's A/B test of one step, and its decision once called."""

    __tablename__ = "ab_test"

    cohort_id: str = Field(
        foreign_key="cohort.id", primary_key=True, max_length=100, ondelete="CASCADE"
    )
    step: str = Field(max_length=100)
    variants: list[str] = Field(sa_type=sa.JSON)
    sample_per_variant: int
    min_sample: int
    window_seconds: int
    winner: str | None = Field(default=None, max_length=64)
    reason: str | None = None
    #: Per variant at the decision: sent, replied_human, clicked and their rates.
    figures: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class EventSignal(StrEnum):
    """Which workflow signal an event row is forwarded as."""

    ENGAGEMENT = "engagement_event"
    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"


class Event(SQLModel, table=True):
    """An ESP event (or an unsubscribe, or a reply) as received, stored once per ESP event id.

    It is also the forwarding outbox: rows with a workflow and no `forwarded_at` are signalled
    to their workflow by the forwarder, retried until Temporal takes them.
    """

    id: int | None = Field(default=None, primary_key=True)
    esp_event_id: str = Field(max_length=200, unique=True)
    esp_type: str = Field(
        max_length=64, description="SendGrid's event name, or 'reply', 'unsubscribe_link'"
    )
    kind: str | None = Field(default=None, max_length=32, index=True)
    message_id: str | None = Field(default=None, max_length=64, index=True)
    workflow_id: str | None = Field(default=None, max_length=300, index=True)
    contact_id: UUID | None = Field(
        default=None, foreign_key="contact.id", index=True, ondelete="CASCADE"
    )
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    #: Indexed for the retention prune, which deletes the oldest rows in batches.
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    signal: EventSignal = Field(default=EventSignal.ENGAGEMENT, sa_type=sa.String(32))
    payload: dict[str, Any] | None = Field(
        default=None, sa_type=sa.JSON, description="The signal's argument"
    )
    forwarded_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    forward_attempts: int = 0
    forward_error: str | None = None
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    late: bool = False


# --- business events ----------------------------------------------------------------------------


class BusinessEvent(SQLModel, table=True):
    """A business event as posted (`POST /api/events`), stored once per caller's key. Its
    properties may be personal and stay here; workflows get `id`, `name` and `occurred_at`."""

    __tablename__ = "business_event"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    #: The caller's idempotency key: a re-post with the same key is a duplicate.
    key: str = Field(max_length=200, unique=True)
    name: str = Field(max_length=64, index=True)
    contact_id: UUID = Field(foreign_key="contact.id", index=True, ondelete="CASCADE")
    occurred_at: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    properties: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    #: Live enrollments of the contact it was queued to (the outbox rows say when delivered).
    forwarded_to: int = 0


class TriggerStatus(StrEnum):
    #: Queued in the event's commit; the trigger runner enrolls (or refuses) it.
    PENDING = "pending"
    ENROLLED = "enrolled"
    #: Not enrolled, for `reason` (no consent, suppressed, live in the sequence, re-enrollment).
    REFUSED = "refused"


class TriggerEnrollment(SQLModel, table=True):
    """One sequence a business event triggers for its contact: queued with the event, so an
    enrollment happens at most once per event id and survives an API restart mid-way."""

    __tablename__ = "trigger_enrollment"

    event_id: UUID = Field(foreign_key="business_event.id", primary_key=True, ondelete="CASCADE")
    sequence: str = Field(primary_key=True, max_length=100)
    status: TriggerStatus = Field(default=TriggerStatus.PENDING, sa_type=sa.String(16), index=True)
    reason: str | None = Field(default=None, max_length=300)
    workflow_id: str | None = Field(default=None, max_length=300)
    attempts: int = 0
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


# --- replies and notifications --------------------------------------------------------------


class Reply(SQLModel, table=True):
    """A reply as classified (docs/architecture.md, "Replies"): one per stored reply event.

    `text` is what the person wrote now (quoted history, signature and disclaimer removed,
    bounded): personal data, kept here for the inbox and erased with the contact. Workflows get
    the intent's label only. `effects_applied` lists the intents whose effects ran, so a
    correction applies a new intent's effects once.
    """

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", unique=True, ondelete="CASCADE")
    contact_id: UUID | None = Field(
        default=None, foreign_key="contact.id", index=True, ondelete="CASCADE"
    )
    workflow_id: str | None = Field(default=None, max_length=300, index=True)
    message_id: str | None = Field(default=None, max_length=64)
    received_at: datetime = Field(sa_type=UtcDateTime, index=True)
    intent: str = Field(max_length=32, index=True)
    confidence: float = 0.0
    cue: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=8)
    referred_email: str | None = Field(default=None, max_length=320)
    text: str = Field(default="", sa_type=sa.Text)
    #: The classifier's own verdict, kept when a person corrects `intent`.
    classified_intent: str = Field(max_length=32)
    corrected_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    effects_applied: list[str] = Field(default_factory=list, sa_type=sa.JSON)


class Notification(SQLModel, table=True):
    """The outgoing-webhook outbox: a signed POST to `NURTURE_NOTIFY_URL`, queued in the commit
    of what caused it, delivered at least once with backoff; `id` lets the receiver deduplicate.
    The payload carries ids, an intent and a dashboard link, never a reply's text."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    attempts: int = 0
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    last_error: str | None = Field(default=None, max_length=500)
    claimed_until: datetime | None = Field(default=None, sa_type=UtcDateTime)


__all__ = [
    "AbTest",
    "BusinessEvent",
    "Cohort",
    "CohortMember",
    "CohortStatus",
    "ConsentAction",
    "ConsentBasis",
    "ConsentRecord",
    "Contact",
    "ContactBase",
    "DomainHourQuota",
    "Enrollment",
    "Event",
    "EventSignal",
    "MemberStatus",
    "Message",
    "MessageStatus",
    "Notification",
    "Reply",
    "Sender",
    "SenderBase",
    "SenderCreate",
    "SenderDayQuota",
    "SenderDnsCheck",
    "SenderUpdate",
    "Suppression",
    "SuppressionReason",
    "TriggerEnrollment",
    "TriggerStatus",
    "UtcDateTime",
    "address_hash",
    "utcnow",
]
