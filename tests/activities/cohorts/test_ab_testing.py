"""A/B tests: variants from templates, deterministic assignment and holdout, figures that count
conversions, reply quality (interested replies for, not-interested and opt-out replies against)
and clicks (never opens, auto-replies or replies from the unsubscribed), the decision's timing and
its rules."""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import select

from activities.cohorts.ab_testing import (
    AbTestService,
    VariantFigures,
    assign_members,
    choose_winner,
    resolve_variants,
    summary,
)
from models.ab_test import AbTestSpec, variant_template
from models.db import session_scope
from models.errors import InvalidInput
from models.tables import (
    AbTest,
    Cohort,
    CohortMember,
    Enrollment,
    Event,
    MemberStatus,
    Message,
    MessageStatus,
    Reply,
    utcnow,
)
from tests.factories import make_contact, make_sender

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"


# --- variants ------------------------------------------------------------------------------------


def test_variants_are_the_control_and_every_step_at_variant_template() -> None:
    spec = AbTestSpec(step="intro")
    assert resolve_variants(spec, "trade_intro", TEMPLATES) == ["control", "question"]
    assert variant_template("trade_intro/intro", "question") == "trade_intro/intro@question"
    assert variant_template("trade_intro/intro", "control") == "trade_intro/intro"


def test_missing_step_or_variant_template_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no step template 'nope'"):
        resolve_variants(AbTestSpec(step="nope"), "trade_intro", TEMPLATES)
    with pytest.raises(InvalidInput, match=r"intro@shouting\.jinja"):
        resolve_variants(
            AbTestSpec(step="intro", variants=["control", "shouting"]), "trade_intro", TEMPLATES
        )
    shutil.copytree(TEMPLATES / "trade_intro", tmp_path / "trade_intro")
    (tmp_path / "trade_intro" / "intro@question.jinja").unlink()
    with pytest.raises(InvalidInput, match="needs two variants"):
        resolve_variants(AbTestSpec(step="intro"), "trade_intro", tmp_path)


def test_language_versions_of_a_variant_are_one_variant(tmp_path: Path) -> None:
    shutil.copytree(TEMPLATES / "trade_intro", tmp_path / "trade_intro")
    source = (tmp_path / "trade_intro" / "intro@question.jinja").read_text()
    (tmp_path / "trade_intro" / "intro@question.de.jinja").write_text(source)
    assert resolve_variants(AbTestSpec(step="intro"), "trade_intro", tmp_path) == [
        "control",
        "question",
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"step": "intro", "variants": ["a", "a"]},
        {"step": "intro", "variants": ["a b"]},
        {"step": "../intro"},
        {"step": "intro", "sample_per_variant": 0},
        {"step": "intro", "window": -5},
    ],
)
def test_bad_specs_are_refused(bad: dict) -> None:
    with pytest.raises(ValidationError):
        AbTestSpec(**bad)


def test_min_sample_defaults_to_half_the_sample() -> None:
    assert AbTestSpec(step="intro", sample_per_variant=40).min_sends == 20
    assert AbTestSpec(step="intro", sample_per_variant=1).min_sends == 1
    assert AbTestSpec(step="intro", sample_per_variant=40, min_sample=35).min_sends == 35


# --- assignment ------------------------------------------------------------------------------------


def test_assignment_is_deterministic_balanced_and_keeps_the_holdout_apart() -> None:
    ids = [uuid.uuid4() for _ in range(1000)]
    variants = ["control", "question", "short"]
    first = assign_members("c-1", ids, holdout=0.1, variants=variants, sample_per_variant=50)
    again = assign_members(
        "c-1", list(reversed(ids)), holdout=0.1, variants=variants, sample_per_variant=50
    )
    assert first == again  # the same cohort and contacts give the same assignment, any order
    held = [c for c, (status, _) in first.items() if status == MemberStatus.HOLDOUT]
    assert 60 <= len(held) <= 140  # ~10 %
    assert all(first[c][1] is None for c in held)
    sampled = [v for status, v in first.values() if v is not None]
    assert all(status == MemberStatus.PENDING for status, v in first.values() if v is not None)
    assert {v: sampled.count(v) for v in variants} == {"control": 50, "question": 50, "short": 50}
    other = assign_members("c-2", ids, holdout=0.1, variants=variants, sample_per_variant=50)
    assert other != first  # another cohort draws another sample


def test_small_cohort_is_all_sample_and_no_test_means_no_variants() -> None:
    ids = [uuid.uuid4() for _ in range(5)]
    small = assign_members("c", ids, holdout=0.0, variants=["a", "b"], sample_per_variant=10)
    assert sorted(v for _, v in small.values()) == ["a", "a", "a", "b", "b"]
    plain = assign_members("c", ids, holdout=0.0, variants=None)
    assert {v for _, v in plain.values()} == {None}
    assert {s for s, _ in plain.values()} == {MemberStatus.PENDING}


# --- the rules -------------------------------------------------------------------------------------


def figures(**by_variant: tuple[int, ...]) -> dict[str, VariantFigures]:
    """variant=(sent, reply score, clicks[, conversions])."""
    made = {}
    for v, (sent, score, clicks, *rest) in by_variant.items():
        converted = rest[0] if rest else 0
        made[v] = VariantFigures(
            sent=sent,
            converted=converted,
            replied_interested=max(score, 0),
            replied_negative=max(-score, 0),
            reply_score=score,
            clicked=clicks,
            conversion_rate=converted / sent if sent else 0.0,
            reply_quality=score / sent if sent else 0.0,
            click_rate=clicks / sent if sent else 0.0,
        )
    return made


def test_conversions_decide_before_replies_and_clicks() -> None:
    winner, why = choose_winner(
        ["control", "b"], figures(control=(20, 6, 9, 1), b=(20, 1, 0, 3)), 10
    )
    assert winner == "b"
    assert why == "b wins on conversions 3/20 (15.0%) against control 1/20 (5.0%)"


def test_replies_decide_when_conversions_tie() -> None:
    winner, why = choose_winner(
        ["control", "b"], figures(control=(20, 1, 9, 2), b=(20, 3, 0, 2)), 10
    )
    assert winner == "b"
    assert why == (
        "b wins on conversions tie at 10.0%; reply quality 3/20 (15.0%) against control 1/20 (5.0%)"
    )


def test_replies_decide_before_clicks() -> None:
    winner, why = choose_winner(["control", "b"], figures(control=(20, 1, 9), b=(20, 3, 0)), 10)
    assert winner == "b"
    assert "reply quality 3/20" in why


def test_clicks_break_a_tie_on_replies() -> None:
    winner, why = choose_winner(["control", "b"], figures(control=(20, 2, 1), b=(20, 2, 4)), 10)
    assert winner == "b"
    assert "clicks 4/20" in why


def test_a_thin_sample_or_nothing_to_go_on_keeps_the_control() -> None:
    winner, why = choose_winner(["control", "b"], figures(control=(20, 0, 0), b=(4, 3, 0)), 10)
    assert winner == "control"
    assert "minimum sample of 10" in why
    winner, why = choose_winner(["control", "b"], figures(control=(20, 0, 0), b=(20, 0, 0)), 10)
    assert winner == "control"
    assert "no conversions, interested replies or clicks" in why
    winner, _ = choose_winner(["control", "b"], figures(control=(20, 2, 2), b=(20, 2, 2)), 10)
    assert winner == "control"


def test_negative_replies_count_against_a_variant() -> None:
    # b drew more replies, but two asked to be left alone: 1 net against control's 2.
    winner, why = choose_winner(["control", "b"], figures(control=(20, 2, 0), b=(20, 1, 9)), 10)
    assert winner == "control"
    assert why == (
        "control wins on conversions tie at 0.0%; reply quality 2/20 (10.0%) against b 1/20 (5.0%)"
    )
    # Below zero is worse than nothing: a variant that only draws opt-outs loses to silence.
    winner, _ = choose_winner(["control", "b"], figures(control=(20, -2, 0), b=(20, 0, 0)), 10)
    assert winner == "b"


def test_control_can_win_outright() -> None:
    winner, why = choose_winner(["control", "b"], figures(control=(20, 4, 0), b=(20, 1, 9)), 10)
    assert winner == "control"
    assert why.startswith("control wins")


# --- the decision on stored sends and events ------------------------------------------------------


class Seeded:
    def __init__(self, engine, *, window: timedelta = timedelta(hours=1), per_variant: int = 4):
        self.engine = engine
        self.cohort_id = f"ab-{uuid.uuid4().hex[:6]}"
        self.messages: dict[str, list[str]] = {"control": [], "b": []}
        self.workflows: dict[str, str] = {}
        make_sender(engine)
        with session_scope(engine) as s:
            s.add(Cohort(id=self.cohort_id, name="ab", sequence="trade_intro", sender_id="default"))
            s.flush()
            s.add(
                AbTest(
                    cohort_id=self.cohort_id,
                    step="intro",
                    variants=["control", "b"],
                    sample_per_variant=per_variant,
                    min_sample=per_variant,
                    window_seconds=int(window.total_seconds()),
                )
            )
        for variant in ("control", "b"):
            for _ in range(per_variant):
                self.member(variant)
        self.rest = self.member(None)

    def member(self, variant: str | None) -> str:
        contact = make_contact(
            self.engine, email=f"{uuid.uuid4().hex[:8]}@x{uuid.uuid4().hex[:4]}.de"
        )
        workflow_id = f"nurture/trade_intro/{contact.id}"
        with session_scope(self.engine) as s:
            s.add(
                CohortMember(
                    cohort_id=self.cohort_id,
                    contact_id=contact.id,
                    status=MemberStatus.ENROLLED,
                    workflow_id=workflow_id,
                    variant=variant,
                )
            )
            s.add(
                Enrollment(
                    workflow_id=workflow_id,
                    sequence="trade_intro",
                    contact_id=contact.id,
                    cohort_id=self.cohort_id,
                    sender_id="default",
                )
            )
        self.workflows[workflow_id] = str(contact.id)
        return workflow_id

    def send_all(self, sent_at=None) -> None:
        with session_scope(self.engine) as s:
            members = s.exec(
                CohortMember.__table__.select().where(  # type: ignore[attr-defined]
                    CohortMember.cohort_id == self.cohort_id
                )
            ).all()
            for m in members:
                if m.variant is None:
                    continue
                message_id = uuid.uuid4().hex
                s.add(
                    Message(
                        id=message_id,
                        workflow_id=m.workflow_id,
                        contact_id=m.contact_id,
                        sequence="trade_intro",
                        step="intro",
                        sender_id="default",
                        cohort_id=self.cohort_id,
                        status=MessageStatus.SENT,
                        variant=m.variant,
                        sent_at=sent_at or utcnow(),
                    )
                )
                self.messages[m.variant].append(message_id)

    def event(self, message_id: str, kind: str, intent: str = "interested", **payload) -> None:
        """An event about `message_id`; a human reply is stored classified as `intent`."""
        with session_scope(self.engine) as s:
            event = Event(
                esp_event_id=uuid.uuid4().hex,
                esp_type=kind,
                kind=kind,
                message_id=message_id,
                occurred_at=utcnow(),
                payload={"kind": kind, **payload},
            )
            s.add(event)
            s.flush()
            if kind == "reply":
                auto = payload.get("auto_reply", False)
                s.add(
                    Reply(
                        event_id=event.id,
                        message_id=message_id,
                        received_at=utcnow(),
                        intent="auto_reply" if auto else intent,
                        classified_intent="auto_reply" if auto else intent,
                    )
                )


def test_more_opens_but_fewer_replies_loses(engine) -> None:
    ab = Seeded(engine)
    ab.send_all(sent_at=utcnow() - timedelta(hours=2))
    control, b = ab.messages["control"], ab.messages["b"]
    for message_id in control:  # every control mail opened, by people and by machines
        ab.event(message_id, "open")
        ab.event(message_id, "open", machine_open=True)
    ab.event(control[0], "reply")
    ab.event(b[0], "reply")
    ab.event(b[1], "reply")
    decision = AbTestService(engine).evaluate(ab.cohort_id)
    assert decision.decided, decision
    assert decision.winner == "b", decision
    with session_scope(engine) as s:
        stored = s.get(AbTest, ab.cohort_id)
        assert stored is not None
        assert stored.winner == "b"
        assert stored.decided_at is not None
        assert stored.figures["control"]["replied_human"] == 1
        shown = summary(s, ab.cohort_id)
    assert shown is not None
    assert shown.winner == "b"
    assert shown.figures["b"].reply_rate == 0.5


def test_auto_replies_and_replies_of_the_unsubscribed_do_not_count(engine) -> None:
    ab = Seeded(engine)
    ab.send_all(sent_at=utcnow() - timedelta(hours=2))
    control, b = ab.messages["control"], ab.messages["b"]
    for message_id in b[:3]:
        ab.event(message_id, "reply", auto_reply=True)  # out of office
    ab.event(b[3], "reply")
    ab.event(b[3], "unsubscribe")  # "take me off your list" — a reply, but not a good one
    ab.event(control[0], "reply")
    decision = AbTestService(engine).evaluate(ab.cohort_id)
    assert decision.winner == "control", decision
    with session_scope(engine) as s:
        shown = summary(s, ab.cohort_id)
    assert shown is not None
    assert shown.figures["b"].replied_human == 0


def test_stop_emailing_me_counts_against_the_variant_that_drew_it(engine) -> None:
    ab = Seeded(engine)
    ab.send_all(sent_at=utcnow() - timedelta(hours=2))
    control, b = ab.messages["control"], ab.messages["b"]
    ab.event(control[0], "reply", intent="interested")
    ab.event(b[0], "reply", intent="interested")
    ab.event(b[1], "reply", intent="interested")
    ab.event(b[2], "reply", intent="opt_out")  # "stop emailing me" is no win
    ab.event(b[3], "reply", intent="not_interested")
    for message_id in b:
        ab.event(message_id, "click")
    ab.event(control[1], "reply", intent="neutral")  # counts neither way

    decision = AbTestService(engine).evaluate(ab.cohort_id)

    assert decision.winner == "control", decision
    assert (
        decision.reason
        == "control wins on conversions tie at 0.0%; reply quality 1/4 (25.0%) against b 0/4 (0.0%)"
    )
    with session_scope(engine) as s:
        shown = summary(s, ab.cohort_id)
    assert shown is not None
    b_figures = shown.figures["b"]
    assert (b_figures.replied_human, b_figures.replied_interested, b_figures.replied_negative) == (
        4,
        2,
        2,
    )
    assert (b_figures.reply_score, b_figures.reply_quality) == (0, 0.0)
    assert shown.figures["control"].replied_human == 2


def test_nothing_is_decided_before_the_sample_is_sent_and_the_window_has_passed(engine) -> None:
    ab = Seeded(engine, window=timedelta(hours=1))
    service = AbTestService(engine)
    early = service.evaluate(ab.cohort_id)
    assert not early.decided
    assert "8 sample contacts not sent intro" in early.reason
    sent_at = utcnow()
    ab.send_all(sent_at=sent_at)
    ab.event(ab.messages["b"][0], "reply")
    waiting = service.evaluate(ab.cohort_id, now=sent_at + timedelta(minutes=20))
    assert not waiting.decided
    assert waiting.recheck_after_seconds == pytest.approx(40 * 60, abs=1)
    done = service.evaluate(ab.cohort_id, now=sent_at + timedelta(hours=1, seconds=1))
    assert done.decided
    assert done.winner == "b"
    # Once called, it stays called.
    ab.event(ab.messages["control"][0], "reply")
    ab.event(ab.messages["control"][1], "reply")
    assert service.evaluate(ab.cohort_id).winner == "b"


def test_an_enrollment_that_ended_before_the_step_does_not_hold_the_decision(engine) -> None:
    ab = Seeded(engine, per_variant=2)
    late = ab.member("b")  # enrolled, never sent: it replied to something else and ended
    ab.send_all(sent_at=utcnow() - timedelta(hours=2))
    with session_scope(engine) as s:
        for m in s.exec(Message.__table__.select().where(Message.workflow_id == late)).all():  # type: ignore[attr-defined]
            s.delete(s.get(Message, m.id))
    assert not AbTestService(engine).evaluate(ab.cohort_id).decided
    with session_scope(engine) as s:
        ended = s.get(Enrollment, late)
        assert ended is not None
        ended.outcome = "replied"
        s.add(ended)
    assert AbTestService(engine).evaluate(ab.cohort_id).decided


def test_rest_enrollments_are_the_ones_woken(engine) -> None:
    ab = Seeded(engine)
    assert AbTestService(engine).waiting_for_winner(ab.cohort_id) == [ab.rest]


def test_conversions_outrank_replies_on_stored_outcomes(engine) -> None:
    ab = Seeded(engine)
    ab.send_all(sent_at=utcnow() - timedelta(hours=2))
    control, b = ab.messages["control"], ab.messages["b"]
    for message_id in control[:3]:
        ab.event(message_id, "reply")  # three replies, nobody booked
    with session_scope(engine) as s:
        [workflow_id] = s.exec(select(Message.workflow_id).where(Message.id == b[0])).all()
        enrollment = s.get(Enrollment, workflow_id)
        assert enrollment is not None
        enrollment.outcome, enrollment.outcome_event = "converted", "meeting_booked"
        enrollment.ended_at = utcnow()
        s.add(enrollment)

    decision = AbTestService(engine).evaluate(ab.cohort_id)

    assert decision.winner == "b", decision
    assert decision.reason.startswith("b wins on conversions 1/4 (25.0%)")
    with session_scope(engine) as s:
        shown = summary(s, ab.cohort_id)
    assert shown is not None
    assert (shown.figures["b"].converted, shown.figures["control"].converted) == (1, 0)
