"""trade_intro on the time-skipping server: every branch, exits while sleeping, blocked sends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from models.ab_test import AbAssignment
from models.enrollment import EnrollmentStatus, Outcome
from models.events import BounceClass, EventKind
from models.replies import ReplyIntent
from models.wire import AB_DECIDED_SIGNAL
from tests.workflows.scenarios import Enrollment, FakeSender
from workflows.trade_intro import TradeIntroParams

Enroll = Callable[..., Awaitable[Enrollment]]


def sent_steps(result) -> list[str]:
    return [s.step for s in result.steps_sent]


async def test_no_engagement_sends_intro_bump_case_study_offer_and_completes(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll()
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert sent_steps(result) == ["intro", "bump", "case_study", "offer"]
    assert sender.steps == ["intro", "bump", "case_study", "offer"]
    assert [s.template for s in sender.sent] == [
        "trade_intro/intro",
        "trade_intro/bump",
        "trade_intro/case_study",
        "trade_intro/offer",
    ]
    # Default timings: bump at the end of the 2-day open window, case study 4 days after the
    # intro, offer 4 days after the case study.
    assert sender.days_after_start("bump") == pytest.approx(2, abs=0.01)
    assert sender.days_after_start("case_study") == pytest.approx(4, abs=0.01)
    assert sender.days_after_start("offer") == pytest.approx(8, abs=0.01)


async def test_send_inputs_carry_ids_and_thread_the_bump(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(cohort_id="cohort-7")
    result = await e.result()

    intro, bump = sender.input_of("intro"), sender.input_of("bump")
    for sent in sender.sent:
        assert sent.contact_id == e.contact_id
        assert sent.workflow_id == e.handle.id == f"nurture/trade_intro/{e.contact_id}"
        assert sent.sequence == "trade_intro"
        assert sent.cohort_id == "cohort-7"
        assert sent.sender_id == "default"
    assert bump.in_reply_to_message_id == intro.message_id
    assert all(s.in_reply_to_message_id is None for s in sender.sent if s.step != "bump")
    assert len({s.message_id for s in sender.sent}) == 4
    assert [s.message_id for s in result.steps_sent] == [s.message_id for s in sender.sent]
    assert all(s.status == "sent" for s in result.steps_sent)


async def test_human_open_skips_the_bump(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(hours=12)
    await e.event(EventKind.OPEN, "intro")
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert sender.steps == ["intro", "case_study", "offer"]
    assert sender.days_after_start("case_study") == pytest.approx(4, abs=0.01)
    assert sender.days_after_start("offer") == pytest.approx(8, abs=0.01)


async def test_machine_open_only_still_sends_the_bump(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(hours=1)
    await e.event(EventKind.OPEN, "intro", machine_open=True)
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert sender.steps == ["intro", "bump", "case_study", "offer"]


async def test_open_of_another_message_does_not_count_for_the_intro(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.event(EventKind.OPEN, None)
    result = await e.result()

    assert sender.steps == ["intro", "bump", "case_study", "offer"]
    assert result.outcome == Outcome.COMPLETED


async def test_click_on_intro_brings_the_offer_forward(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(days=1)
    await e.event(EventKind.CLICK, "intro", url="https://example.com/catalogue")
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert sender.steps == ["intro", "offer"]
    assert sender.days_after_start("offer") == pytest.approx(1, abs=0.01)


async def test_click_after_an_open_still_brings_the_offer_forward(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(hours=6)
    await e.event(EventKind.OPEN, "intro")
    await e.sleep(days=2)
    await e.event(EventKind.CLICK, "intro")
    result = await e.result()

    assert sender.steps == ["intro", "offer"]
    assert sender.days_after_start("offer") == pytest.approx(2.25, abs=0.01)
    assert result.outcome == Outcome.COMPLETED


@pytest.mark.parametrize(
    ("days", "waiting_after", "steps", "offer_day"),
    [
        (3, "bump", ["intro", "bump", "offer"], 3),  # still before the case study: offer now
        (5, "case_study", ["intro", "bump", "case_study", "offer"], 8),  # too late to skip
    ],
    ids=["after-the-bump-brings-the-offer-forward", "after-the-case-study-skips-nothing"],
)
async def test_click_later_in_the_sequence(
    enroll: Enroll,
    sender: FakeSender,
    days: int,
    waiting_after: str,
    steps: list[str],
    offer_day: float,
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(days=days)
    await e.until_waiting(waiting_after)
    await e.event(EventKind.CLICK, "intro")
    result = await e.result()

    assert sender.steps == steps
    assert sender.days_after_start("offer") == pytest.approx(offer_day, abs=0.01)
    assert result.outcome == Outcome.COMPLETED


async def test_timings_come_from_params(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll(
        params={"open_window": "PT12H", "case_study_after": "P1D", "offer_after": 7200}
    )
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert sender.days_after_start("bump") == pytest.approx(0.5, abs=0.01)
    assert sender.days_after_start("case_study") == pytest.approx(1, abs=0.01)
    assert sender.days_after_start("offer") == pytest.approx(1 + 2 / 24, abs=0.01)


async def test_invalid_params_fail_the_workflow_without_sending(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(params={"open_window": "P5D"})  # longer than case_study_after
    with pytest.raises(WorkflowFailureError) as failed:
        await e.result()

    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "InvalidParams"
    assert sender.sent == []


def test_params_defaults_and_validation() -> None:
    params = TradeIntroParams.model_validate({})
    assert (params.open_window.days, params.case_study_after.days, params.offer_after.days) == (
        2,
        4,
        4,
    )
    with pytest.raises(ValueError, match="open_windw"):
        TradeIntroParams.model_validate({"open_windw": "P1D"})
    with pytest.raises(ValueError, match="offer_after"):
        TradeIntroParams.model_validate({"offer_after": "PT0S"})


# --- exits while sleeping ------------------------------------------------------------------------


async def _days_open(e: Enrollment) -> float:
    description = await e.handle.describe()
    assert description.close_time is not None
    return (description.close_time - description.start_time).total_seconds() / 86400


async def test_reply_during_the_open_window_exits_replied(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(days=1)
    await e.event(EventKind.REPLY, "intro")
    result = await e.result()

    assert result.outcome == Outcome.REPLIED
    assert sender.steps == ["intro"]
    assert await _days_open(e) == pytest.approx(1, abs=0.01)


@pytest.mark.parametrize(
    ("intent", "outcome"),
    [
        (ReplyIntent.INTERESTED, Outcome.REPLIED),
        (ReplyIntent.NOT_INTERESTED, Outcome.REPLIED),
        (ReplyIntent.WRONG_PERSON, Outcome.REPLIED),
        (ReplyIntent.NEUTRAL, Outcome.REPLIED),
        # "Please take me off your list": an unsubscribe written in words.
        (ReplyIntent.OPT_OUT, Outcome.UNSUBSCRIBED),
    ],
)
async def test_a_reply_ends_it_with_its_intent_in_the_result_and_the_mirror(
    enroll: Enroll, sender: FakeSender, intent: ReplyIntent, outcome: Outcome
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(days=1)
    await e.event(EventKind.REPLY, "intro", reply_intent=intent)
    result = await e.result()

    assert result.outcome == outcome
    assert result.reply_intent == intent
    assert sender.steps == ["intro"]
    [finish] = sender.outcomes
    assert (finish.outcome, finish.reply_intent) == (outcome, intent)


async def test_an_auto_reply_carries_no_intent_and_a_later_exit_none_either(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.event(EventKind.REPLY, "intro", auto_reply=True, reply_intent=ReplyIntent.AUTO_REPLY)
    await e.event(EventKind.UNSUBSCRIBE, "intro")
    result = await e.result()

    assert result.outcome == Outcome.UNSUBSCRIBED
    assert result.reply_intent is None


async def test_unsubscribe_while_sleeping_exits_unsubscribed(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(days=3)
    await e.until_waiting("bump")  # sleeping until the case study is due (day 4)
    await e.event(EventKind.UNSUBSCRIBE, "bump")
    result = await e.result()

    assert result.outcome == Outcome.UNSUBSCRIBED
    assert sender.steps == ["intro", "bump"]
    assert sent_steps(result) == ["intro", "bump"]
    assert await _days_open(e) == pytest.approx(3, abs=0.01)


async def test_hard_bounce_while_sleeping_exits_bounced(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(days=6)
    await e.until_waiting("case_study")  # in the 4-day wait before the offer
    await e.event(EventKind.BOUNCE, "case_study", bounce_class=BounceClass.HARD)
    result = await e.result()

    assert result.outcome == Outcome.BOUNCED
    assert sender.steps == ["intro", "bump", "case_study"]
    assert await _days_open(e) == pytest.approx(6, abs=0.01)


async def test_reply_while_sleeping_after_the_case_study_exits_replied(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(days=5)
    await e.until_waiting("case_study")
    await e.event(EventKind.REPLY, "case_study")
    result = await e.result()

    assert result.outcome == Outcome.REPLIED
    assert sender.steps == ["intro", "bump", "case_study"]


async def test_complaint_exits_complained(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.event(EventKind.COMPLAINT, "intro")
    result = await e.result()

    assert result.outcome == Outcome.COMPLAINED
    assert sender.steps == ["intro"]


@pytest.mark.parametrize(
    ("kind", "details"),
    [
        (EventKind.REPLY, {"auto_reply": True}),
        (EventKind.BOUNCE, {"bounce_class": BounceClass.SOFT}),
        (EventKind.BOUNCE, {"bounce_class": BounceClass.BLOCK}),
        (EventKind.DEFERRED, {}),
        (EventKind.DELIVERED, {}),
    ],
    ids=["auto_reply", "soft_bounce", "block", "deferred", "delivered"],
)
async def test_events_that_do_not_exit(
    enroll: Enroll, sender: FakeSender, kind: EventKind, details: dict
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(days=1)
    await e.event(kind, "intro", **details)
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert sender.steps == ["intro", "bump", "case_study", "offer"]


# --- sends blocked at send time ------------------------------------------------------------------


async def test_consent_withdrawn_at_send_time_exits_unsubscribed(
    enroll: Enroll, sender: FakeSender
) -> None:
    sender.fail["case_study"] = "ConsentWithdrawn"
    e = await enroll()
    result = await e.result()

    assert result.outcome == Outcome.UNSUBSCRIBED
    assert sent_steps(result) == ["intro", "bump"]
    assert sender.steps == ["intro", "bump", "case_study"]  # one attempt: not retried
    assert result.reason == "ConsentWithdrawn at step case_study"


@pytest.mark.parametrize(
    ("error_type", "outcome"),
    [
        ("ConsentMissing", Outcome.NO_CONSENT),
        ("ContactSuppressed", Outcome.SUPPRESSED),
        ("ContactNotFound", Outcome.CANCELLED),
    ],
)
async def test_blocked_first_send_ends_without_steps(
    enroll: Enroll, sender: FakeSender, error_type: str, outcome: Outcome
) -> None:
    sender.fail["intro"] = error_type
    e = await enroll()
    result = await e.result()

    assert result.outcome == outcome
    assert result.steps_sent == []
    assert result.reason == f"{error_type} at step intro"
    assert sender.steps == ["intro"]


@pytest.mark.parametrize("error_type", ["TemplateError", "EspRejected"])
async def test_permanent_send_error_fails_the_workflow(
    enroll: Enroll, sender: FakeSender, error_type: str
) -> None:
    sender.fail["bump"] = error_type
    e = await enroll()
    with pytest.raises(WorkflowFailureError) as failed:
        await e.result()

    assert isinstance(failed.value.cause, ActivityError)
    assert isinstance(failed.value.cause.cause, ApplicationError)
    assert failed.value.cause.cause.type == error_type
    assert sender.steps == ["intro", "bump"]  # not retried
    state = await e.state()
    assert state.status == EnrollmentStatus.ENDED


# --- out of office ------------------------------------------------------------------------------


async def test_out_of_office_reply_holds_sends_until_the_contact_is_back(
    enroll: Enroll, sender: FakeSender, env
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.sleep(days=1)
    back = await env.get_current_time() + timedelta(days=10)
    await e.event(EventKind.REPLY, "intro", auto_reply=True, resume_at=back)
    state = await e.until(lambda s: s.paused_until is not None)
    assert state.paused_until == back
    assert state.outcome is None
    await e.sleep(days=2)  # the bump is due now, but the contact is away
    state = await e.until(lambda s: s.status == EnrollmentStatus.PAUSED)
    assert sender.steps == ["intro"]

    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert sender.steps == ["intro", "bump", "case_study", "offer"]
    assert sender.days_after_start("bump") >= 11  # day 1 + 10 days away; due on day 2 otherwise
    assert sender.days_after_start("offer") - sender.days_after_start("case_study") >= 4


async def test_a_later_return_date_extends_the_pause(
    enroll: Enroll, sender: FakeSender, env
) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    now = await env.get_current_time()
    await e.event(EventKind.REPLY, "intro", auto_reply=True, resume_at=now + timedelta(days=5))
    await e.event(EventKind.REPLY, "intro", auto_reply=True, resume_at=now + timedelta(days=3))
    await e.event(EventKind.REPLY, "intro", auto_reply=True, resume_at=now + timedelta(days=8))
    result = await e.result()
    assert result.outcome == Outcome.COMPLETED
    assert sender.days_after_start("bump") >= 8


# --- quota and paused senders -------------------------------------------------------------------


async def test_step_without_quota_waits_for_the_next_window_and_sends_once(
    enroll: Enroll, sender: FakeSender
) -> None:
    sender.quota_full["intro"] = timedelta(hours=15)  # e.g. tomorrow 00:00 in the sender's zone
    e = await enroll()
    state = await e.until(lambda s: s.status == EnrollmentStatus.WAITING_FOR_QUOTA)
    assert state.steps_sent == []
    result = await e.result()
    assert result.outcome == Outcome.COMPLETED
    assert sender.steps == [
        "intro",
        "intro",
        "bump",
        "case_study",
        "offer",
    ]  # one refusal, one send
    assert [s.step for s in result.steps_sent] == ["intro", "bump", "case_study", "offer"]
    first, second = sender.times[0], sender.times[1]
    assert second - first >= timedelta(hours=15)
    assert sender.input_of("intro").message_id == sender.sent[1].message_id  # same step, same row


async def test_paused_sender_holds_enrollments_until_resumed(
    enroll: Enroll, sender: FakeSender
) -> None:
    sender.sender_paused = True
    e = await enroll()
    await e.until(lambda s: s.status == EnrollmentStatus.SENDER_PAUSED)
    await e.sleep(hours=5)
    assert (await e.state()).outcome is None  # waits, does not fail
    sender.sender_paused = False  # ops resumed the sender
    result = await e.result()
    assert result.outcome == Outcome.COMPLETED
    assert [s.step for s in result.steps_sent] == ["intro", "bump", "case_study", "offer"]


async def test_exit_while_waiting_for_quota_sends_nothing(
    enroll: Enroll, sender: FakeSender
) -> None:
    sender.quota_full["intro"] = timedelta(days=1)
    e = await enroll()
    await e.until(lambda s: s.status == EnrollmentStatus.WAITING_FOR_QUOTA)
    await e.event(EventKind.UNSUBSCRIBE)
    result = await e.result()
    assert result.outcome == Outcome.UNSUBSCRIBED
    assert result.steps_sent == []
    assert sender.steps == ["intro"]


# --- ops pause and resume -----------------------------------------------------------------------


async def test_pause_during_a_wait_holds_the_step_until_resume_then_sends_it_once(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(params={"open_window": "P2D", "case_study_after": "P4D", "offer_after": "P4D"})
    await e.until_waiting("intro")
    await e.handle.signal("pause")
    await e.until(lambda s: s.paused_by_ops)
    await e.sleep(days=6)  # the bump (day 2) and the case study (day 4) fell due while paused
    state = await e.until(lambda s: s.status == EnrollmentStatus.PAUSED)
    assert sender.steps == ["intro"]
    assert state.outcome is None
    await e.handle.signal("resume")
    result = await e.result()
    assert result.outcome == Outcome.COMPLETED
    assert sender.steps == ["intro", "bump", "case_study", "offer"]  # each once
    assert sender.days_after_start("bump") >= 6


async def test_cancel_while_paused_ends_cancelled(enroll: Enroll, sender: FakeSender) -> None:
    e = await enroll()
    await e.until_waiting("intro")
    await e.handle.signal("pause")
    await e.sleep(days=3)
    await e.handle.signal("cancel", "cohort cancelled")
    result = await e.result()
    assert result.outcome == Outcome.CANCELLED
    assert sender.steps == ["intro"]


@pytest.mark.parametrize("deferral", ["quota", "winner"])
async def test_pause_while_a_step_is_deferred_holds_it_past_the_retry(
    enroll: Enroll, sender: FakeSender, deferral: str
) -> None:
    if deferral == "quota":
        sender.quota_full["intro"] = timedelta(hours=15)
        e = await enroll()
        await e.until(lambda s: s.status == EnrollmentStatus.WAITING_FOR_QUOTA)
    else:
        e = await enroll(ab=AbAssignment(step="intro", variant=None))
        await e.until(lambda s: s.status == EnrollmentStatus.WAITING_FOR_WINNER)
    await e.handle.signal("pause")
    await e.until(lambda s: s.paused_by_ops)
    sender.winner = "question"
    await e.handle.signal(AB_DECIDED_SIGNAL)
    await e.sleep(days=1)  # quota is back, the winner is known: still paused
    state = await e.until(lambda s: s.status == EnrollmentStatus.PAUSED)
    assert state.steps_sent == []
    await e.handle.signal("resume")
    state = await e.until(lambda s: bool(s.steps_sent))
    assert [s.step for s in state.steps_sent] == ["intro"]
    await e.handle.signal("cancel", "test over")
    await e.result()


# --- A/B tests ----------------------------------------------------------------------------------


async def test_sample_contact_sends_its_assigned_variant(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(ab=AbAssignment(step="intro", variant="question"))
    result = await e.result()
    intro = sender.input_of("intro")
    assert intro.variant == "question"
    assert not intro.await_winner
    assert result.steps_sent[0].variant == "question"
    assert sender.input_of("bump").variant is None  # only the tested step has variants


async def test_rest_of_the_cohort_waits_for_the_winner_then_sends_it_once(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(ab=AbAssignment(step="intro", variant=None))
    state = await e.until(lambda s: s.status == EnrollmentStatus.WAITING_FOR_WINNER)
    assert state.steps_sent == []
    await e.sleep(hours=30)  # rechecks find no winner yet
    assert (await e.state()).status == EnrollmentStatus.WAITING_FOR_WINNER
    sender.winner = "question"
    await e.handle.signal(AB_DECIDED_SIGNAL)
    state = await e.until(lambda s: bool(s.steps_sent))
    assert state.steps_sent[0].variant == "question"
    attempts = [i for i in sender.sent if i.step == "intro"]
    assert len({i.message_id for i in attempts}) == 1  # one message row, however many tries
    await e.handle.signal("cancel", "test over")
    assert (await e.result()).outcome == Outcome.CANCELLED


async def test_winner_is_found_by_the_recheck_without_a_signal(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(ab=AbAssignment(step="intro", variant=None))
    await e.until(lambda s: s.status == EnrollmentStatus.WAITING_FOR_WINNER)
    sender.winner = "control"
    await e.sleep(hours=1, minutes=1)
    state = await e.until(lambda s: bool(s.steps_sent))
    assert state.steps_sent[0].variant == "control"


async def test_exit_while_waiting_for_the_winner_sends_nothing(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(ab=AbAssignment(step="intro", variant=None))
    await e.until(lambda s: s.status == EnrollmentStatus.WAITING_FOR_WINNER)
    await e.event(EventKind.UNSUBSCRIBE)
    result = await e.result()
    assert result.outcome == Outcome.UNSUBSCRIBED
    assert result.steps_sent == []
