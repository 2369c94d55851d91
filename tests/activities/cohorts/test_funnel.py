"""cohort_funnel on stored messages and events (stored by the ingest, as in production): per step
and per A/B variant sent, delivered, human and machine opens, clicks, human and auto replies,
bounces by class, complaints and unsubscribes, each message counted once per metric, rates over
what was (or may have been) sent; members, skip reasons and the enrollments' outcomes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from activities.cohorts.funnel import STEP_METRICS, CohortFunnel, StepFunnel, cohort_funnel
from activities.events.esp_events import parse_event_batch
from activities.events.ingest import EventIngestService, Incoming, correlation_of
from models.db import session_scope
from models.events import EngagementEvent, EventKind
from models.replies import ReplyIntent
from models.tables import (
    AbTest,
    Cohort,
    CohortMember,
    Enrollment,
    MemberStatus,
    Message,
    MessageStatus,
    utcnow,
)
from tests.factories import make_contact, make_sender, sendgrid_event


@dataclass
class CohortBuilder:
    """A cohort's members, enrollments, messages and events, written as the engine writes them."""

    engine: sa.Engine
    cohort_id: str = field(default_factory=lambda: f"fair-{uuid.uuid4().hex[:6]}")

    def __post_init__(self) -> None:
        self.ingest = EventIngestService(self.engine)
        with session_scope(self.engine) as s:
            s.add(
                Cohort(
                    id=self.cohort_id,
                    name="Hannover 2026",
                    sequence="trade_intro",
                    sender_id="default",
                )
            )

    def member(
        self,
        status: MemberStatus = MemberStatus.ENROLLED,
        *,
        reason: str | None = None,
        outcome: str | None = None,
    ) -> str:
        contact = make_contact(self.engine)
        workflow_id = f"nurture/trade_intro/{contact.id}"
        with session_scope(self.engine) as s:
            s.add(
                CohortMember(
                    cohort_id=self.cohort_id,
                    contact_id=contact.id,
                    status=status,
                    reason=reason,
                    workflow_id=workflow_id if status == MemberStatus.ENROLLED else None,
                )
            )
            if status == MemberStatus.ENROLLED:
                s.add(
                    Enrollment(
                        workflow_id=workflow_id,
                        sequence="trade_intro",
                        contact_id=contact.id,
                        cohort_id=self.cohort_id,
                        sender_id="default",
                        outcome=outcome,
                    )
                )
        return workflow_id

    def message(
        self,
        workflow_id: str,
        step: str,
        variant: str | None = None,
        status: MessageStatus = MessageStatus.SENT,
    ) -> Message:
        message_id = str(uuid.uuid4())
        with session_scope(self.engine) as s:
            enrollment = s.get(Enrollment, workflow_id)
            assert enrollment is not None
            message = Message(
                id=message_id,
                workflow_id=workflow_id,
                contact_id=enrollment.contact_id,
                sequence="trade_intro",
                step=step,
                sender_id="default",
                cohort_id=enrollment.cohort_id,
                status=status,
                variant=variant,
                esp_message_id=f"X{uuid.uuid4().hex[:21]}",
                rfc_message_id=f"<{message_id}@factory.example.cn>",
                sent_at=utcnow() if status == MessageStatus.SENT else None,
            )
            s.add(message)
        return message

    def esp(self, message: Message, kind: str, **extra: Any) -> None:
        """One Event Webhook item about `message`, through the parser and the ingest."""
        item = sendgrid_event(kind, message, **extra)
        self.ingest.ingest_esp_events(parse_event_batch(json.dumps([item]).encode()))

    def reply(
        self, message: Message, *, auto: bool = False, intent: ReplyIntent | None = None
    ) -> None:
        now = utcnow()
        self.ingest.ingest(
            Incoming(
                esp_event_id=f"reply-{uuid.uuid4()}",
                esp_type="reply",
                occurred_at=now,
                event=EngagementEvent(
                    kind=EventKind.REPLY,
                    occurred_at=now,
                    message_id=message.id,
                    auto_reply=auto,
                    reply_intent=intent,
                ),
                correlation=correlation_of(message),
            )
        )

    def funnel(self) -> CohortFunnel:
        with session_scope(self.engine) as s:
            funnel = cohort_funnel(s, self.cohort_id)
        assert funnel is not None
        return funnel


HARD = {"status": "5.1.1", "type": "bounce"}
SOFT = {"status": "4.2.2", "type": "bounce"}
BLOCK = {"status": "5.7.1", "type": "blocked"}


@pytest.fixture
def cohort(engine: sa.Engine) -> CohortBuilder:
    make_sender(engine)
    return CohortBuilder(engine)


def row(funnel: CohortFunnel, step: str, variant: str | None = None) -> StepFunnel:
    [found] = [r for r in funnel.steps if (r.step, r.variant) == (step, variant)]
    return found


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {metric: n for metric, n in counts.items() if n}


# --- one step ------------------------------------------------------------------------------------


def test_each_metric_counts_messages_not_events(cohort) -> None:
    a, b, c, d = (cohort.message(cohort.member(), "intro") for _ in range(4))
    cohort.esp(a, "delivered")
    cohort.esp(a, "open")
    cohort.esp(a, "open")  # a second human open of the same mail is the same reader
    cohort.esp(a, "open", sg_machine_open=True)
    cohort.esp(a, "click", url="https://example.com/catalogue")
    cohort.esp(a, "click", url="https://example.com/prices")
    cohort.reply(a)
    cohort.esp(b, "delivered")
    cohort.esp(b, "open", sg_machine_open=True)  # Apple MPP only: nobody read it
    cohort.reply(b, auto=True)
    cohort.esp(c, "delivered")
    cohort.esp(c, "spamreport")
    cohort.esp(c, "unsubscribe")
    cohort.esp(d, "bounce", **HARD)

    [intro] = cohort.funnel().steps

    assert (intro.step, intro.variant) == ("intro", None)
    assert list(intro.counts) == list(STEP_METRICS)
    assert nonzero(intro.counts) == {
        "sent": 4,
        "delivered": 3,
        "opened_human": 1,
        "opened_machine": 2,
        "clicked": 1,
        "replied_human": 1,
        "replied_auto": 1,
        "unsubscribed": 1,
        "bounced_hard": 1,
        "complained": 1,
    }
    assert intro.rates["delivered"] == 0.75
    assert intro.rates["opened_human"] == 0.25
    assert intro.rates["replied_auto"] == 0.25
    assert intro.rates["bounced_hard"] == 0.25
    assert "sent" not in intro.rates


def test_an_opt_out_reply_counts_as_a_reply_and_an_unsubscribe(cohort) -> None:
    asks_to_be_removed, interested = (cohort.message(cohort.member(), "intro") for _ in range(2))
    cohort.reply(asks_to_be_removed, intent=ReplyIntent.OPT_OUT)
    cohort.reply(interested, intent=ReplyIntent.INTERESTED)

    [intro] = cohort.funnel().steps

    assert nonzero(intro.counts) == {"sent": 2, "replied_human": 2, "unsubscribed": 1}


def test_bounces_are_counted_by_class(cohort) -> None:
    hard, soft, block, deferred = (cohort.message(cohort.member(), "intro") for _ in range(4))
    cohort.esp(hard, "bounce", **HARD)
    cohort.esp(soft, "bounce", **SOFT)
    cohort.esp(block, "bounce", **BLOCK)
    cohort.esp(deferred, "deferred")  # a delay, not a bounce

    [intro] = cohort.funnel().steps

    assert nonzero(intro.counts) == {
        "sent": 4,
        "bounced_hard": 1,
        "bounced_soft": 1,
        "bounced_block": 1,
    }


def test_rates_are_over_what_was_or_may_have_been_sent(cohort) -> None:
    sent = cohort.message(cohort.member(), "intro")
    unknown = cohort.message(cohort.member(), "intro", status=MessageStatus.UNKNOWN)
    cohort.message(cohort.member(), "intro", status=MessageStatus.FAILED)
    cohort.message(cohort.member(), "intro", status=MessageStatus.NOT_SENT)
    cohort.esp(sent, "delivered")
    cohort.esp(unknown, "delivered")  # it went out after all

    [intro] = cohort.funnel().steps

    assert (intro.counts["sent"], intro.counts["unknown"], intro.counts["delivered"]) == (1, 1, 2)
    assert intro.rates["delivered"] == 1.0
    assert intro.rates["unknown"] == 0.5


def test_a_step_with_nothing_sent_has_zero_rates_not_an_error(cohort) -> None:
    cohort.message(cohort.member(), "intro", status=MessageStatus.FAILED)
    [intro] = cohort.funnel().steps
    assert nonzero(intro.counts) == {}
    assert set(intro.rates.values()) == {0.0}


def test_events_of_other_cohorts_and_uncorrelated_events_do_not_count(engine, cohort) -> None:
    ours = cohort.message(cohort.member(), "intro")
    other = CohortBuilder(engine)
    theirs = other.message(other.member(), "intro")
    other.esp(theirs, "open")
    other.reply(theirs)
    cohort.esp(ours, "delivered")
    cohort.ingest.ingest_esp_events(
        parse_event_batch(json.dumps([sendgrid_event("open", None, email="x@y.example")]).encode())
    )

    [intro] = cohort.funnel().steps
    assert nonzero(intro.counts) == {"sent": 1, "delivered": 1}
    assert nonzero(row(other.funnel(), "intro").counts) == {
        "sent": 1,
        "opened_human": 1,
        "replied_human": 1,
    }


# --- steps and variants --------------------------------------------------------------------------


def test_steps_in_send_order_and_a_tested_step_per_variant(engine, cohort) -> None:
    with session_scope(engine) as s:
        s.add(
            AbTest(
                cohort_id=cohort.cohort_id,
                step="intro",
                variants=["control", "question"],
                sample_per_variant=2,
                min_sample=2,
                window_seconds=3600,
            )
        )
    members = [cohort.member() for _ in range(4)]
    question = [cohort.message(m, "intro", "question") for m in members[:2]]
    control = [cohort.message(m, "intro", "control") for m in members[2:]]
    follow_ups = [cohort.message(m, "follow_up") for m in members[1:]]
    cohort.reply(question[0])
    cohort.reply(question[1], auto=True)
    cohort.esp(control[0], "click", url="https://example.com/catalogue")
    cohort.esp(follow_ups[0], "delivered")

    funnel = cohort.funnel()

    assert [(r.step, r.variant) for r in funnel.steps] == [
        ("intro", "control"),
        ("intro", "question"),
        ("follow_up", None),
    ]
    assert nonzero(row(funnel, "intro", "question").counts) == {
        "sent": 2,
        "replied_human": 1,
        "replied_auto": 1,
    }
    assert row(funnel, "intro", "question").rates["replied_human"] == 0.5
    assert nonzero(row(funnel, "intro", "control").counts) == {"sent": 2, "clicked": 1}
    assert nonzero(row(funnel, "follow_up").counts) == {"sent": 3, "delivered": 1}
    # The A/B figures shown with the funnel read the same events the same way.
    assert funnel.ab_test is not None
    assert funnel.ab_test.figures["question"].replied_human == 1
    assert funnel.ab_test.figures["control"].clicked == 1


# --- members and outcomes ------------------------------------------------------------------------


def test_members_skip_reasons_holdout_and_outcomes(cohort) -> None:
    cohort.member(outcome="replied")
    cohort.member(outcome="replied")
    cohort.member(outcome="bounced")
    cohort.member()  # still running
    cohort.member(MemberStatus.SKIPPED, reason="suppressed: hard bounce on 2026-10-02")
    cohort.member(MemberStatus.SKIPPED, reason="suppressed: complaint")
    cohort.member(MemberStatus.SKIPPED, reason="no consent")
    cohort.member(MemberStatus.PENDING)
    cohort.member(MemberStatus.HOLDOUT)

    funnel = cohort.funnel()

    assert (funnel.members, funnel.enrolled, funnel.skipped, funnel.pending, funnel.holdout) == (
        9,
        4,
        3,
        1,
        1,
    )
    assert funnel.skip_reasons == {"suppressed": 2, "no consent": 1}
    assert funnel.outcomes == {"replied": 2, "bounced": 1, "running": 1}
    assert (funnel.name, funnel.sequence, funnel.steps, funnel.ab_test) == (
        "Hannover 2026",
        "trade_intro",
        [],
        None,
    )


def test_an_unknown_cohort_has_no_funnel(engine) -> None:
    with Session(engine) as s:
        assert cohort_funnel(s, "no-such-cohort") is None


# --- conversions -----------------------------------------------------------------------------------


def convert(engine: sa.Engine, workflow_id: str, goal: str) -> None:
    """End the enrollment `converted` on `goal`, as `finish_enrollment` records it."""
    with session_scope(engine) as s:
        enrollment = s.get(Enrollment, workflow_id)
        assert enrollment is not None
        enrollment.outcome, enrollment.outcome_event = "converted", goal
        enrollment.ended_at = utcnow()
        s.add(enrollment)


def test_a_conversion_is_credited_to_the_last_step_sent_before_the_goal(cohort, engine) -> None:
    after_case_study = cohort.member()
    cohort.message(after_case_study, "intro")
    cohort.message(after_case_study, "case_study")
    convert(engine, after_case_study, "meeting_booked")
    after_intro = cohort.member()
    cohort.message(after_intro, "intro")
    convert(engine, after_intro, "order_placed")
    before_any_mail = cohort.member()
    convert(engine, before_any_mail, "meeting_booked")
    still_running = cohort.member()
    cohort.message(still_running, "intro")
    cohort.message(still_running, "case_study")

    funnel = cohort.funnel()

    assert row(funnel, "intro").counts["converted"] == 1
    assert row(funnel, "intro").rates["converted"] == round(1 / 3, 4)
    assert row(funnel, "case_study").counts["converted"] == 1
    assert funnel.goals == {"meeting_booked": 2, "order_placed": 1}
    assert funnel.outcomes == {"converted": 3, "running": 1}


def test_a_conversion_after_an_ab_tested_step_counts_for_the_variant_sent(cohort, engine) -> None:
    first = cohort.member()
    cohort.message(first, "intro", variant="control")
    second = cohort.member()
    cohort.message(second, "intro", variant="b")
    convert(engine, second, "meeting_booked")

    funnel = cohort.funnel()

    assert row(funnel, "intro", "b").counts["converted"] == 1
    assert row(funnel, "intro", "control").counts["converted"] == 0
