"""The funnel of a cohort, per step: sent, delivered, opened (human / machine), clicked, replied
(human / auto), unsubscribed, bounced (hard / soft / block), complained, unknown — with rates over
sent — plus the enrollments' outcomes and the launch's enrolled / skipped counts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from models.events import BounceClass, EventKind
from models.tables import (
    Cohort,
    CohortMember,
    Enrollment,
    Event,
    MemberStatus,
    Message,
    MessageStatus,
)

STEP_METRICS = (
    "sent",
    "delivered",
    "opened_human",
    "opened_machine",
    "clicked",
    "replied_human",
    "replied_auto",
    "unsubscribed",
    "bounced_hard",
    "bounced_soft",
    "bounced_block",
    "complained",
    "unknown",
)


class StepFunnel(BaseModel):
    step: str
    counts: dict[str, int]
    rates: dict[str, float]


class CohortFunnel(BaseModel):
    cohort_id: str
    name: str
    sequence: str
    status: str
    members: int
    enrolled: int
    skipped: int
    pending: int
    skip_reasons: dict[str, int]
    outcomes: dict[str, int]
    steps: list[StepFunnel]


def _metrics_of(
    kind: str | None, payload: Mapping[str, Any] | None, details: Mapping[str, Any] | None
) -> list[str]:
    payload = payload or {}
    details = details or {}
    if kind == EventKind.DELIVERED:
        return ["delivered"]
    if kind == EventKind.OPEN:
        return ["opened_machine" if payload.get("machine_open") else "opened_human"]
    if kind == EventKind.CLICK:
        return ["clicked"]
    if kind == EventKind.REPLY:
        return ["replied_auto" if payload.get("auto_reply") else "replied_human"]
    if kind == EventKind.UNSUBSCRIBE:
        return ["unsubscribed"]
    if kind == EventKind.COMPLAINT:
        return ["complained"]
    if kind == EventKind.BOUNCE:
        cls = str(payload.get("bounce_class") or details.get("bounce_class") or "")
        if cls == BounceClass.HARD:
            return ["bounced_hard"]
        return ["bounced_block"] if cls == BounceClass.BLOCK else ["bounced_soft"]
    return []


def cohort_funnel(session: Session, cohort_id: str) -> CohortFunnel | None:
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        return None
    member_counts = dict(
        session.exec(
            select(CohortMember.status, func.count())
            .where(CohortMember.cohort_id == cohort_id)
            .group_by(col(CohortMember.status))
        ).all()
    )
    reasons = Counter(
        (reason or "").split(":", 1)[0]
        for reason in session.exec(
            select(CohortMember.reason).where(
                CohortMember.cohort_id == cohort_id, CohortMember.status == MemberStatus.SKIPPED
            )
        ).all()
    )
    outcomes = Counter(
        outcome or "running"
        for outcome in session.exec(
            select(Enrollment.outcome).where(Enrollment.cohort_id == cohort_id)
        ).all()
    )
    messages = session.exec(
        select(Message.id, Message.step, Message.status).where(Message.cohort_id == cohort_id)
    ).all()
    step_of = {message_id: step for message_id, step, _ in messages}
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    order: list[str] = []
    for message_id, step, status in messages:
        if step not in order:
            order.append(step)
        if status == MessageStatus.SENT:
            seen[step]["sent"].add(message_id)
        elif status == MessageStatus.UNKNOWN:
            seen[step]["unknown"].add(message_id)
    events = session.exec(
        select(Event.message_id, Event.kind, Event.payload, Event.details)
        .join(Message, col(Message.id) == col(Event.message_id))
        .where(Message.cohort_id == cohort_id)
    ).all()
    for event_message_id, kind, payload, details in events:
        if event_message_id is None:
            continue
        for metric in _metrics_of(kind, payload, details):
            seen[step_of[event_message_id]][metric].add(event_message_id)
    steps = []
    for step in order:
        counts = {metric: len(seen[step][metric]) for metric in STEP_METRICS}
        sent = counts["sent"] + counts["unknown"]
        rates = {
            m: round(counts[m] / sent, 4) if sent else 0.0
            for m in STEP_METRICS
            if m not in ("sent",)
        }
        steps.append(StepFunnel(step=step, counts=counts, rates=rates))
    return CohortFunnel(
        cohort_id=cohort.id,
        name=cohort.name,
        sequence=cohort.sequence,
        status=cohort.status,
        members=sum(member_counts.values()),
        enrolled=member_counts.get(MemberStatus.ENROLLED, 0),
        skipped=member_counts.get(MemberStatus.SKIPPED, 0),
        pending=member_counts.get(MemberStatus.PENDING, 0),
        skip_reasons=dict(reasons),
        outcomes=dict(outcomes),
        steps=steps,
    )


__all__ = ["STEP_METRICS", "CohortFunnel", "StepFunnel", "cohort_funnel"]
