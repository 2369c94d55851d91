"""The funnel of a cohort, per step (and per variant of an A/B-tested step): sent, delivered,
opened (human / machine), clicked, replied (human / auto), converted (credited to the last step
sent before the goal), unsubscribed, bounced (hard / soft / block), complained, unknown — with
rates over sent — plus the enrollments' outcomes and goals reached, the launch's enrolled /
skipped / held-out counts and the A/B test's figures and decision."""

from __future__ import annotations

from collections import Counter, defaultdict

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from activities.cohorts.ab_testing import AbSummary, summary
from activities.cohorts.conversions import conversions, credited_messages
from activities.cohorts.event_metrics import STEP_METRICS, event_metrics
from models.tables import (
    Cohort,
    CohortMember,
    Enrollment,
    Event,
    MemberStatus,
    Message,
    MessageStatus,
)


class StepFunnel(BaseModel):
    step: str
    #: The A/B variant these figures are of; None for a step that is not tested.
    variant: str | None = None
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
    #: Members held out of the cohort (never mailed), the baseline for lift.
    holdout: int = 0
    skip_reasons: dict[str, int]
    outcomes: dict[str, int]
    #: Conversions per goal (the business event that ended the enrollment `converted`).
    goals: dict[str, int] = {}
    steps: list[StepFunnel]
    ab_test: AbSummary | None = None


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
    row_of, seen, order = _sends(session, cohort_id)
    events = session.exec(
        select(Event.message_id, Event.kind, Event.payload, Event.details)
        .join(Message, col(Message.id) == col(Event.message_id))
        .where(Message.cohort_id == cohort_id)
    ).all()
    for event_message_id, kind, payload, details in events:
        if event_message_id is None:
            continue
        for metric in event_metrics(kind, payload, details):
            seen[row_of[event_message_id]][metric].add(event_message_id)
    converted = conversions(session, cohort_id=cohort_id)
    for message_id in credited_messages(session, converted):
        if message_id in row_of:
            seen[row_of[message_id]]["converted"].add(message_id)
    steps = []
    first_seen = {step: i for i, (step, _) in reversed(list(enumerate(order)))}
    for step, variant in sorted(order, key=lambda r: (first_seen[r[0]], r[1] or "")):
        counts = {metric: len(seen[step, variant][metric]) for metric in STEP_METRICS}
        sent = counts["sent"] + counts["unknown"]
        rates = {
            m: round(counts[m] / sent, 4) if sent else 0.0
            for m in STEP_METRICS
            if m not in ("sent",)
        }
        steps.append(StepFunnel(step=step, variant=variant, counts=counts, rates=rates))
    return CohortFunnel(
        cohort_id=cohort.id,
        name=cohort.name,
        sequence=cohort.sequence,
        status=cohort.status,
        members=sum(member_counts.values()),
        enrolled=member_counts.get(MemberStatus.ENROLLED, 0),
        skipped=member_counts.get(MemberStatus.SKIPPED, 0),
        pending=member_counts.get(MemberStatus.PENDING, 0),
        holdout=member_counts.get(MemberStatus.HOLDOUT, 0),
        skip_reasons=dict(reasons),
        outcomes=dict(outcomes),
        goals=dict(Counter(c.goal or "unnamed" for c in converted)),
        steps=steps,
        ab_test=summary(session, cohort_id),
    )


#: A funnel row: a step, or (step, variant) where the step is A/B-tested.
_Row = tuple[str, str | None]


def _sends(
    session: Session, cohort_id: str
) -> tuple[dict[str, _Row], dict[_Row, dict[str, set[str]]], list[_Row]]:
    """The cohort's messages: each one's row, the messages seen per row and metric so far (sent,
    unknown, and what pruned events counted toward), and the rows in the order first sent."""
    messages = session.execute(
        sa.select(
            col(Message.id),
            col(Message.step),
            col(Message.variant),
            col(Message.status),
            col(Message.pruned_metrics),
        )
        .where(col(Message.cohort_id) == cohort_id)
        # Steps are listed in the order they were first sent, on every backend.
        .order_by(col(Message.created_at), col(Message.id))
    ).all()
    row_of: dict[str, _Row] = {}
    seen: dict[_Row, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    order: list[_Row] = []
    for message_id, step, variant, status, pruned in messages:
        row = (step, variant)
        row_of[message_id] = row
        if row not in order:
            order.append(row)
        if status == MessageStatus.SENT:
            seen[row]["sent"].add(message_id)
        elif status == MessageStatus.UNKNOWN:
            seen[row]["unknown"].add(message_id)
        # What its events counted toward before the retention prune deleted them.
        for metric in pruned or ():
            seen[row][metric].add(message_id)
    return row_of, seen, order


__all__ = ["STEP_METRICS", "CohortFunnel", "StepFunnel", "cohort_funnel"]
