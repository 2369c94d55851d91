"""Read-only queries behind the dashboard pages: the cohort list, a cohort's enrollments, recent
events and a contact's timeline. Plain models out, nothing written; the funnel itself comes from
`activities.cohorts.funnel` and sender health from `SenderService`, as the JSON API has them."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from activities.cohorts.funnel import CohortFunnel, cohort_funnel
from activities.contacts.consent import newest_consent
from models.db import session_scope
from models.tables import (
    Cohort,
    CohortMember,
    ConsentAction,
    ConsentRecord,
    Contact,
    Enrollment,
    Event,
    MemberStatus,
    Message,
    Suppression,
    address_hash,
)

#: Most rows a page lists; the page says when there are more.
MAX_ENROLLMENTS = 500
MAX_EVENTS = 1000


class CohortRow(BaseModel):
    """One line of the cohort list."""

    id: str
    name: str
    sequence: str
    sender_id: str
    status: str
    created_at: datetime
    launched_at: datetime | None
    members: int
    enrolled: int
    skipped: int
    pending: int
    live: int


class EnrollmentRow(BaseModel):
    workflow_id: str
    contact_id: UUID
    sequence: str
    cohort_id: str | None
    sender_id: str
    outcome: str | None
    started_at: datetime
    ended_at: datetime | None
    #: The contact's name (or company) for lists; None where the page is the contact's own.
    contact_label: str | None = None


class CohortDetail(BaseModel):
    """A cohort's funnel (as `GET /api/cohorts/{id}` answers it) and its enrollments."""

    funnel: CohortFunnel
    enrollments: list[EnrollmentRow]
    enrollments_total: int


class EventRow(BaseModel):
    id: int
    kind: str | None
    esp_type: str
    occurred_at: datetime
    received_at: datetime
    contact_id: UUID | None
    message_id: str | None
    workflow_id: str | None
    sequence: str | None
    step: str | None
    forwarded: bool
    late: bool
    details: dict[str, Any]
    contact_label: str | None = None


class TimelineKind(StrEnum):
    CONSENT = "consent"
    ENROLLED = "enrolled"
    MESSAGE = "message"
    EVENT = "event"
    ENDED = "ended"
    SUPPRESSED = "suppressed"


class TimelineEntry(BaseModel):
    at: datetime
    kind: TimelineKind
    #: A short label: the consent action, message status, event kind or outcome.
    label: str
    summary: str
    workflow_id: str | None = None


class ContactSummary(BaseModel):
    id: UUID
    #: The caller's own id of the contact (the CRM's), if one was given.
    external_id: str | None = None
    email: str
    first_name: str | None
    last_name: str | None
    company: str | None
    country: str | None
    time_zone: str | None
    language: str | None
    role_account: bool
    created_at: datetime


class ContactTimeline(BaseModel):
    contact: ContactSummary
    #: The newest consent record's action (it decides), or None if there is none.
    consent: str | None
    suppression: str | None
    enrollments: list[EnrollmentRow]
    entries: list[TimelineEntry]


def _enrollment_row(e: Enrollment, contact_label: str | None = None) -> EnrollmentRow:
    row = EnrollmentRow.model_validate(e, from_attributes=True)
    row.contact_label = contact_label
    return row


def _label(first_name: str | None, last_name: str | None, company: str | None) -> str | None:
    """How lists name a contact: first and last name, else the company."""
    name = " ".join(part for part in (first_name, last_name) if part)
    return name or company or None


def _labels(session: Session, contact_ids: set[UUID]) -> dict[UUID, str | None]:
    if not contact_ids:
        return {}
    rows = session.exec(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.company).where(
            col(Contact.id).in_(contact_ids)
        )
    ).all()
    return {contact_id: _label(first, last, company) for contact_id, first, last, company in rows}


def cohort_list(session: Session, limit: int = 500) -> list[CohortRow]:
    """Cohorts, newest first, with their member counts by status and live enrollments."""
    cohorts = session.exec(
        select(Cohort).order_by(col(Cohort.created_at).desc(), col(Cohort.id)).limit(limit)
    ).all()
    members: dict[str, dict[str, int]] = defaultdict(dict)
    for cohort_id, status, n in session.exec(
        select(CohortMember.cohort_id, CohortMember.status, func.count()).group_by(
            col(CohortMember.cohort_id), col(CohortMember.status)
        )
    ).all():
        members[cohort_id][status] = n
    live = dict(
        session.exec(
            select(Enrollment.cohort_id, func.count())
            .where(col(Enrollment.cohort_id).is_not(None), col(Enrollment.outcome).is_(None))
            .group_by(col(Enrollment.cohort_id))
        ).all()
    )
    return [
        CohortRow(
            id=c.id,
            name=c.name,
            sequence=c.sequence,
            sender_id=c.sender_id,
            status=c.status,
            created_at=c.created_at,
            launched_at=c.launched_at,
            members=sum(members[c.id].values()),
            enrolled=members[c.id].get(MemberStatus.ENROLLED, 0),
            skipped=members[c.id].get(MemberStatus.SKIPPED, 0),
            pending=members[c.id].get(MemberStatus.PENDING, 0),
            live=live.get(c.id, 0),
        )
        for c in cohorts
    ]


def cohort_detail(
    session: Session, cohort_id: str, limit: int = MAX_ENROLLMENTS
) -> CohortDetail | None:
    """The cohort's funnel and its first `limit` enrollments; None if there is no such cohort."""
    funnel = cohort_funnel(session, cohort_id)
    if funnel is None:
        return None
    where = Enrollment.cohort_id == cohort_id
    total = session.exec(select(func.count()).select_from(Enrollment).where(where)).one()
    rows = session.exec(
        select(Enrollment)
        .where(where)
        .order_by(col(Enrollment.started_at), col(Enrollment.workflow_id))
        .limit(limit)
    ).all()
    labels = _labels(session, {e.contact_id for e in rows})
    return CohortDetail(
        funnel=funnel,
        enrollments=[_enrollment_row(e, labels.get(e.contact_id)) for e in rows],
        enrollments_total=int(total),
    )


def recent_events(session: Session, limit: int = 100, kind: str | None = None) -> list[EventRow]:
    """The newest events as received (or only those of one kind), with their message's step."""
    query = (
        select(Event, Message.sequence, Message.step)
        .join(Message, col(Message.id) == col(Event.message_id), isouter=True)
        .order_by(col(Event.received_at).desc(), col(Event.id).desc())
        .limit(max(1, min(limit, MAX_EVENTS)))
    )
    if kind is not None:
        query = query.where(Event.kind == kind)
    rows = session.exec(query).all()
    labels = _labels(session, {event.contact_id for event, _, _ in rows if event.contact_id})
    return [
        EventRow(
            id=event.id or 0,
            kind=event.kind,
            esp_type=event.esp_type,
            occurred_at=event.occurred_at,
            received_at=event.received_at,
            contact_id=event.contact_id,
            message_id=event.message_id,
            workflow_id=event.workflow_id,
            sequence=sequence,
            step=step,
            forwarded=event.forwarded_at is not None,
            late=event.late,
            details=dict(event.details or {}),
            contact_label=labels.get(event.contact_id) if event.contact_id else None,
        )
        for event, sequence, step in rows
    ]


def _event_summary(event: Event, step: str | None) -> str:
    details = event.details or {}
    parts = [f"on {step}" if step else "", event.esp_type if event.esp_type != event.kind else ""]
    for key in ("bounce_class", "type", "status", "url", "reason"):
        if details.get(key) not in (None, ""):
            parts.append(f"{key}: {details[key]}")
    if details.get("sg_machine_open"):
        parts.append("machine open")
    if event.late:
        parts.append("late (enrollment had ended)")
    return " · ".join(p for p in parts if p)


#: ESP events carry whole seconds, so within one second entries are listed in causal order.
_CAUSAL_ORDER = [
    TimelineKind.CONSENT,
    TimelineKind.ENROLLED,
    TimelineKind.MESSAGE,
    TimelineKind.EVENT,
    "withdrawn",
    TimelineKind.SUPPRESSED,
    TimelineKind.ENDED,
]


def _rank(entry: TimelineEntry) -> int:
    if entry.kind == TimelineKind.CONSENT and entry.label == ConsentAction.WITHDRAWN:
        return _CAUSAL_ORDER.index("withdrawn")
    return _CAUSAL_ORDER.index(entry.kind)


def contact_timeline(session: Session, contact_id: UUID) -> ContactTimeline | None:
    """What happened to one contact, oldest first: consent, enrollments, messages, events."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return None
    consents = session.exec(
        select(ConsentRecord)
        .where(ConsentRecord.contact_id == contact_id)
        .order_by(col(ConsentRecord.recorded_at), col(ConsentRecord.id))
    ).all()
    enrollments = session.exec(
        select(Enrollment)
        .where(Enrollment.contact_id == contact_id)
        .order_by(col(Enrollment.started_at))
    ).all()
    messages = session.exec(
        select(Message).where(Message.contact_id == contact_id).order_by(col(Message.created_at))
    ).all()
    step_of = {m.id: m.step for m in messages}
    events = session.exec(
        select(Event)
        .where(
            sa.or_(
                col(Event.contact_id) == contact_id,
                col(Event.message_id).in_(list(step_of)) if step_of else sa.false(),
            )
        )
        .order_by(col(Event.occurred_at), col(Event.id))
    ).all()
    suppression = session.get(Suppression, address_hash(contact.email))

    entries: list[TimelineEntry] = []
    for c in consents:
        entries.append(
            TimelineEntry(
                at=c.recorded_at,
                kind=TimelineKind.CONSENT,
                label=str(c.action),
                summary=" · ".join(str(p) for p in (c.basis, c.source) if p),
            )
        )
    for e in enrollments:
        entries.append(
            TimelineEntry(
                at=e.started_at,
                kind=TimelineKind.ENROLLED,
                label=e.sequence,
                summary=f"enrolled in {e.sequence}"
                + (f" (cohort {e.cohort_id})" if e.cohort_id else ""),
                workflow_id=e.workflow_id,
            )
        )
        if e.ended_at is not None or e.outcome is not None:
            entries.append(
                TimelineEntry(
                    at=e.ended_at or e.started_at,
                    kind=TimelineKind.ENDED,
                    label=e.outcome or "ended",
                    summary=f"{e.sequence} ended {e.outcome or ''}".strip(),
                    workflow_id=e.workflow_id,
                )
            )
    for m in messages:
        entries.append(
            TimelineEntry(
                at=m.sent_at or m.created_at,
                kind=TimelineKind.MESSAGE,
                label=str(m.status),
                summary=f"{m.step}: {m.subject or '(no subject)'}",
                workflow_id=m.workflow_id,
            )
        )
    for ev in events:
        entries.append(
            TimelineEntry(
                at=ev.occurred_at,
                kind=TimelineKind.EVENT,
                label=ev.kind or ev.esp_type,
                summary=_event_summary(ev, step_of.get(ev.message_id or "")),
                workflow_id=ev.workflow_id,
            )
        )
    if suppression is not None:
        entries.append(
            TimelineEntry(
                at=suppression.created_at,
                kind=TimelineKind.SUPPRESSED,
                label=str(suppression.reason),
                summary="address suppressed: never mailed again",
            )
        )
    entries.sort(key=lambda entry: (entry.at.replace(microsecond=0), _rank(entry), entry.at))
    return ContactTimeline(
        contact=ContactSummary.model_validate(contact, from_attributes=True),
        consent=str(newest.action) if (newest := newest_consent(session, contact_id)) else None,
        suppression=str(suppression.reason) if suppression is not None else None,
        enrollments=[_enrollment_row(e) for e in enrollments],
        entries=entries,
    )


class DashboardQueries:
    """The reads above, each in its own session: what the dashboard routes call."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def cohorts(self) -> list[CohortRow]:
        with session_scope(self._engine) as session:
            return cohort_list(session)

    def cohort(self, cohort_id: str) -> CohortDetail | None:
        with session_scope(self._engine) as session:
            return cohort_detail(session, cohort_id)

    def events(self, limit: int = 100, kind: str | None = None) -> list[EventRow]:
        with session_scope(self._engine) as session:
            return recent_events(session, limit, kind)

    def contact(self, contact_id: UUID) -> ContactTimeline | None:
        with session_scope(self._engine) as session:
            return contact_timeline(session, contact_id)


__all__ = [
    "MAX_ENROLLMENTS",
    "MAX_EVENTS",
    "CohortDetail",
    "CohortRow",
    "ContactSummary",
    "ContactTimeline",
    "DashboardQueries",
    "EnrollmentRow",
    "EventRow",
    "TimelineEntry",
    "TimelineKind",
    "cohort_detail",
    "cohort_list",
    "contact_timeline",
    "recent_events",
]
