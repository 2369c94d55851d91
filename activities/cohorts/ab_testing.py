"""A/B tests of one step per cohort: the variants a test may use, who is held out and who gets
which variant (deterministic per cohort and contact), the figures per variant and the decision
(the `decide_ab_winner` activity in `activities.cohorts.activities` runs it until a winner is
called).

The winner is the variant with the most conversions per send (enrollments that reached a goal of
the sequence after receiving the variant), then the best reply quality per send — `interested`
replies count for it, `not_interested` and `opt_out` replies against it, each by its current
(maybe corrected) intent; neutral replies, auto-replies and referrals count neither way — then
the most clicks on messages not unsubscribed from or complained about. Opens never count: machine opens (Apple MPP, scanners) make them noise. Until every
variant has its minimum sample of sends, and the window for answers has passed since the
sample's last send, nothing is decided; if a variant misses its minimum, the control is kept.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from activities.cohorts.conversions import converted_after
from activities.cohorts.event_metrics import event_metrics
from models.ab_test import (
    CONTROL_VARIANT,
    AbDecision,
    AbTestSpec,
    variant_template,
)
from models.db import session_scope
from models.errors import InvalidInput
from models.replies import ReplyIntent
from models.tables import (
    AbTest,
    CohortMember,
    Enrollment,
    Event,
    MemberStatus,
    Message,
    MessageStatus,
    Reply,
    utcnow,
)

#: Longest pause between two looks at an undecided test.
RECHECK_AT_MOST = timedelta(hours=1)
#: Engagement that disqualifies a message's reply or click from counting.
_NEGATIVE = frozenset({"unsubscribed", "complained"})
#: Reply intents that count against a variant.
_NEGATIVE_INTENTS = frozenset({ReplyIntent.NOT_INTERESTED.value, ReplyIntent.OPT_OUT.value})


# --- setting a test up ---------------------------------------------------------------------------


def resolve_variants(spec: AbTestSpec, sequence: str, templates_dir: Path) -> list[str]:
    """The test's variants, control first; InvalidInput if a template is missing."""
    folder = templates_dir / sequence
    if not (folder / f"{spec.step}.jinja").is_file():
        raise InvalidInput("ab_test.step", f"{sequence} has no step template {spec.step!r}")
    found = sorted(
        p.name.removesuffix(".jinja").split("@", 1)[1].split(".", 1)[0]
        for p in folder.glob(f"{spec.step}@*.jinja")
    )
    variants = list(spec.variants) or [CONTROL_VARIANT, *dict.fromkeys(found)]
    for name in variants:
        if name != CONTROL_VARIANT and name not in found:
            raise InvalidInput(
                "ab_test.variants",
                f"no template {sequence}/{variant_template(spec.step, name)}.jinja",
            )
    if len(variants) < 2:
        raise InvalidInput(
            "ab_test.variants",
            f"an A/B test needs two variants; add {sequence}/{spec.step}@<variant>.jinja",
        )
    return variants


def _rank(cohort_id: str, contact_id: UUID) -> float:
    """A uniform number in [0, 1) fixed by cohort and contact: the same on every run."""
    digest = hashlib.sha256(f"{cohort_id}:{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_members(
    cohort_id: str,
    contact_ids: list[UUID],
    *,
    holdout: float,
    variants: list[str] | None,
    sample_per_variant: int = 0,
) -> dict[UUID, tuple[MemberStatus, str | None]]:
    """Each member's start: held out (`holdout`), or pending with its sample variant (None: the
    winner, or no test). Deterministic: ranks come from a hash of cohort and contact, the lowest
    `holdout` share is held out, and the next `len(variants) × sample_per_variant` take the
    variants in turn, so the sample is balanced and random-like."""
    ranked = sorted(contact_ids, key=lambda c: _rank(cohort_id, c))
    held = {c for c in ranked if _rank(cohort_id, c) < holdout}
    assigned: dict[UUID, tuple[MemberStatus, str | None]] = {
        c: (MemberStatus.HOLDOUT, None) for c in held
    }
    rest = [c for c in ranked if c not in held]
    sample = len(variants) * sample_per_variant if variants else 0
    for i, contact_id in enumerate(rest):
        variant = variants[i % len(variants)] if variants and i < sample else None
        assigned[contact_id] = (MemberStatus.PENDING, variant)
    return assigned


def record_test(session: Session, cohort_id: str, spec: AbTestSpec, variants: list[str]) -> AbTest:
    test = AbTest(
        cohort_id=cohort_id,
        step=spec.step,
        variants=variants,
        sample_per_variant=spec.sample_per_variant,
        min_sample=spec.min_sends,
        window_seconds=int(spec.window.total_seconds()),
    )
    session.add(test)
    return test


# --- figures and the decision --------------------------------------------------------------------


class VariantFigures(BaseModel):
    sent: int = 0
    #: Enrollments sent this variant that then reached a goal (outcome `converted`).
    converted: int = 0
    replied_human: int = 0
    #: Human replies classified (or corrected to) `interested`.
    replied_interested: int = 0
    #: Human replies classified `not_interested` or `opt_out`: they count against the variant.
    replied_negative: int = 0
    #: `replied_interested - replied_negative`: what the ranking reads.
    reply_score: int = 0
    clicked: int = 0
    conversion_rate: float = 0.0
    reply_rate: float = 0.0
    reply_quality: float = 0.0
    click_rate: float = 0.0


class AbSummary(BaseModel):
    """A cohort's A/B test as ops see it (funnel, API, CLI)."""

    step: str
    variants: list[str]
    sample_per_variant: int
    min_sample: int
    window_seconds: int
    winner: str | None
    reason: str | None
    decided_at: datetime | None
    figures: dict[str, VariantFigures]


def variant_figures(session: Session, test: AbTest) -> dict[str, VariantFigures]:
    """Per variant: sends of the tested step, and the conversions, human replies and clicks they
    drew."""
    messages = session.exec(
        select(Message.id, Message.variant, Message.status, Message.pruned_metrics).where(
            Message.cohort_id == test.cohort_id,
            Message.step == test.step,
            col(Message.variant).is_not(None),
        )
    ).all()
    variant_of = {m_id: variant for m_id, variant, _, _ in messages}
    figures = {v: VariantFigures() for v in test.variants}
    sent = [m_id for m_id, variant, status, _ in messages if status == MessageStatus.SENT]
    for sent_id in sent:
        figures.setdefault(str(variant_of[sent_id]), VariantFigures()).sent += 1
    for converted_id in converted_after(session, sent):
        figures[str(variant_of[converted_id])].converted += 1
    # What pruned events counted toward (the retention prune folds them into the message).
    metrics: dict[str, set[str]] = defaultdict(set)
    for m_id, _, _, pruned in messages:
        if pruned:
            metrics[m_id].update(pruned)
    for message_id, kind, payload, details in session.exec(
        select(Event.message_id, Event.kind, Event.payload, Event.details).where(
            col(Event.message_id).in_(list(variant_of))
        )
    ).all():
        if message_id is not None:
            metrics[message_id].update(event_metrics(kind, payload, details))
    for message_id, seen in metrics.items():
        if seen & _NEGATIVE:
            continue
        counted = figures.setdefault(str(variant_of[message_id]), VariantFigures())
        counted.replied_human += "replied_human" in seen
        counted.clicked += "clicked" in seen
    for message_id, intent in session.exec(
        select(Reply.message_id, Reply.intent).where(col(Reply.message_id).in_(list(variant_of)))
    ).all():
        counted = figures.setdefault(str(variant_of[str(message_id)]), VariantFigures())
        counted.replied_interested += intent == ReplyIntent.INTERESTED
        counted.replied_negative += intent in _NEGATIVE_INTENTS
    for counted in figures.values():
        counted.reply_score = counted.replied_interested - counted.replied_negative
        if counted.sent:
            counted.conversion_rate = round(counted.converted / counted.sent, 4)
            counted.reply_rate = round(counted.replied_human / counted.sent, 4)
            counted.reply_quality = round(counted.reply_score / counted.sent, 4)
            counted.click_rate = round(counted.clicked / counted.sent, 4)
    return figures


#: What a variant is ranked by, most important first: (figure, its rate, how it reads).
_RANKING = (
    ("converted", "conversion_rate", "conversions"),
    ("reply_score", "reply_quality", "reply quality"),
    ("clicked", "click_rate", "clicks"),
)


def _ranking_key(figures: VariantFigures) -> tuple[float, ...]:
    return tuple(getattr(figures, rate) for _, rate, _ in _RANKING)


def _why_ahead(best: str, top: VariantFigures, runner_up: str, other: VariantFigures) -> str:
    """The first figure `best` leads `runner_up` on, as ops read it; the ties before it named."""
    tied: list[str] = []
    for count, rate, label in _RANKING:
        mine, theirs = getattr(top, rate), getattr(other, rate)
        if mine == theirs:
            tied.append(f"{label} tie at {mine:.1%}")
            continue
        lead = (
            f"{label} {getattr(top, count)}/{top.sent} ({mine:.1%}) against {runner_up} "
            f"{getattr(other, count)}/{other.sent} ({theirs:.1%})"
        )
        return "; ".join([*tied, lead])
    return "; ".join(tied)


def choose_winner(
    variants: list[str], figures: dict[str, VariantFigures], min_sends: int
) -> tuple[str, str]:
    """(winner, why): most conversions per send, then the best reply quality per send, then most
    clicks per send; ties and thin samples keep the first variant (the control). Opens are not
    looked at."""
    control = variants[0]
    thin = [v for v in variants if figures[v].sent < min_sends]
    if thin:
        shown = ", ".join(f"{v} {figures[v].sent} sent" for v in thin)
        return control, f"minimum sample of {min_sends} sends not reached ({shown}): {control} kept"

    def key(v: str) -> tuple[float, ...]:
        return _ranking_key(figures[v])

    best = max(variants, key=key)  # the first of equals: the control, if it is among them
    if not any(any(key(v)) for v in variants):  # nothing but zeros: nothing to go on
        return (
            control,
            f"no conversions, interested replies or clicks in any variant: {control} kept",
        )
    runner_up = max((v for v in variants if v != best), key=key)
    if key(best) == key(runner_up):
        return (
            best,
            f"{best} ties {runner_up} on conversions, replies and clicks: the earlier variant, "
            f"{best}, kept",
        )
    return best, f"{best} wins on {_why_ahead(best, figures[best], runner_up, figures[runner_up])}"


def winner_of(session: Session, cohort_id: str | None, step: str) -> str | None:
    """The decided winner of the cohort's test of `step`, or None while undecided."""
    if cohort_id is None:
        return None
    test = session.get(AbTest, cohort_id)
    if test is None or test.step != step:
        return None
    return test.winner


def summary(session: Session, cohort_id: str) -> AbSummary | None:
    test = session.get(AbTest, cohort_id)
    if test is None:
        return None
    return AbSummary(
        step=test.step,
        variants=list(test.variants),
        sample_per_variant=test.sample_per_variant,
        min_sample=test.min_sample,
        window_seconds=test.window_seconds,
        winner=test.winner,
        reason=test.reason,
        decided_at=test.decided_at,
        figures=variant_figures(session, test),
    )


class AbTestService:
    """Decides a cohort's test once its sample has answered; plain object, tests call it."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def evaluate(self, cohort_id: str, now: datetime | None = None) -> AbDecision:
        """Decide if the sample is complete and the window has passed; else say when to look again."""
        now = now or utcnow()
        with session_scope(self._engine) as session:
            test = session.get(AbTest, cohort_id)
            if test is None:
                return AbDecision(decided=True, reason="no A/B test")
            if test.winner is not None:
                return AbDecision(decided=True, winner=test.winner, reason=test.reason or "")
            window = timedelta(seconds=test.window_seconds)
            unresolved, last_send = self._sample_state(session, test)
            if unresolved:
                return AbDecision(
                    decided=False,
                    reason=f"{unresolved} sample contacts not sent {test.step} yet",
                    recheck_after_seconds=_recheck(window / 4),
                )
            if last_send is not None and now < last_send + window:
                return AbDecision(
                    decided=False,
                    reason=f"counting answers until {(last_send + window).isoformat()}",
                    recheck_after_seconds=_recheck(last_send + window - now),
                )
            figures = variant_figures(session, test)
            winner, reason = choose_winner(list(test.variants), figures, test.min_sample)
            test.winner, test.reason, test.decided_at = winner, reason, now
            test.figures = {v: f.model_dump() for v, f in figures.items()}
            session.add(test)
            return AbDecision(decided=True, winner=winner, reason=reason)

    def _sample_state(self, session: Session, test: AbTest) -> tuple[int, datetime | None]:
        """How many sample members have neither been sent the step nor ended; the last send."""
        members = session.exec(
            select(CohortMember.status, CohortMember.workflow_id).where(
                CohortMember.cohort_id == test.cohort_id, col(CohortMember.variant).is_not(None)
            )
        ).all()
        workflow_ids = [w for status, w in members if status == MemberStatus.ENROLLED and w]
        sends = dict(
            session.exec(
                select(Message.workflow_id, Message.sent_at).where(
                    Message.cohort_id == test.cohort_id,
                    Message.step == test.step,
                    col(Message.status).in_(
                        [MessageStatus.SENT, MessageStatus.UNKNOWN, MessageStatus.FAILED]
                    ),
                )
            ).all()
        )
        ended = set(
            session.exec(
                select(Enrollment.workflow_id).where(
                    col(Enrollment.workflow_id).in_(workflow_ids),
                    col(Enrollment.outcome).is_not(None),
                )
            ).all()
        )
        unresolved = sum(1 for status, _ in members if status == MemberStatus.PENDING)
        unresolved += sum(1 for w in workflow_ids if w not in sends and w not in ended)
        times = [sends[w] for w in workflow_ids if sends.get(w) is not None]
        return unresolved, max(times, default=None)  # type: ignore[type-var]

    def waiting_for_winner(self, cohort_id: str) -> list[str]:
        """Live enrollments of the cohort that get the winner (not in the sample)."""
        with session_scope(self._engine) as session:
            return list(
                session.exec(
                    select(Enrollment.workflow_id)
                    .join(
                        CohortMember,
                        sa.and_(
                            col(CohortMember.workflow_id) == col(Enrollment.workflow_id),
                            col(CohortMember.cohort_id) == cohort_id,
                        ),
                    )
                    .where(
                        col(CohortMember.variant).is_(None),
                        col(Enrollment.outcome).is_(None),
                    )
                ).all()
            )


def _recheck(after: timedelta) -> float:
    return min(max(after, timedelta(seconds=1)), RECHECK_AT_MOST).total_seconds()


__all__ = [
    "AbSummary",
    "AbTestService",
    "VariantFigures",
    "assign_members",
    "choose_winner",
    "record_test",
    "resolve_variants",
    "summary",
    "variant_figures",
    "winner_of",
]
