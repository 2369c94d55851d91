"""Which email a conversion is credited to: the last step an enrollment sent before it reached
a goal (outcome `converted`) — what the funnel counts per step and variant — and, for an A/B
test, which enrollments converted after receiving the tested step."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.enrollment import Outcome
from models.tables import Enrollment, Message, MessageStatus

#: Messages that may have reached the buyer: what a conversion can follow.
_DELIVERABLE = (MessageStatus.SENT, MessageStatus.UNKNOWN)


@dataclass(frozen=True)
class Conversion:
    workflow_id: str
    goal: str | None
    started_at: datetime
    converted_at: datetime | None


def conversions(session: Session, *, cohort_id: str) -> list[Conversion]:
    """The cohort's enrollments that ended `converted`, with their goal and time."""
    rows = session.exec(
        select(
            Enrollment.workflow_id,
            Enrollment.outcome_event,
            Enrollment.started_at,
            Enrollment.ended_at,
        ).where(Enrollment.cohort_id == cohort_id, Enrollment.outcome == Outcome.CONVERTED.value)
    ).all()
    return [Conversion(w, goal, started, ended) for w, goal, started, ended in rows]


def credited_messages(session: Session, converted: Iterable[Conversion]) -> dict[str, str]:
    """For each conversion, the message it is credited to (the enrollment's last step sent at
    or before the goal) → the goal's name; enrollments that sent nothing credit nothing."""
    by_workflow = {c.workflow_id: c for c in converted}
    if not by_workflow:
        return {}
    credited: dict[str, tuple[datetime, str, str]] = {}
    for message_id, workflow_id, created_at in session.exec(
        select(Message.id, Message.workflow_id, Message.created_at).where(
            col(Message.workflow_id).in_(list(by_workflow)),
            col(Message.status).in_(_DELIVERABLE),
        )
    ).all():
        conversion = by_workflow[workflow_id]
        if created_at < conversion.started_at:
            continue  # an earlier enrollment under the same workflow id (a re-enrollment)
        if conversion.converted_at is not None and created_at > conversion.converted_at:
            continue
        best = credited.get(workflow_id)
        if best is None or (created_at, message_id) > best[:2]:
            credited[workflow_id] = (created_at, message_id, conversion.goal or "")
    return {message_id: goal for _, message_id, goal in credited.values()}


def converted_after(session: Session, message_ids: Iterable[str]) -> set[str]:
    """Of `message_ids`, those whose enrollment later ended `converted` (an A/B variant's
    conversions: whatever was sent after the tested step, the buyer first got that variant)."""
    ids = list(message_ids)
    if not ids:
        return set()
    rows = session.exec(
        select(Message.id)
        .join(Enrollment, col(Enrollment.workflow_id) == col(Message.workflow_id))
        .where(
            col(Message.id).in_(ids),
            Enrollment.outcome == Outcome.CONVERTED.value,
            # Not a conversion of an earlier enrollment under the same workflow id.
            col(Message.created_at) >= col(Enrollment.started_at),
        )
    ).all()
    return set(rows)


__all__ = ["Conversion", "conversions", "converted_after", "credited_messages"]
