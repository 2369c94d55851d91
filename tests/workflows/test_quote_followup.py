"""quote_followup on the time-skipping server: the quote at once (outside the send window too), the
follow-up unless clicked, the reminder before valid_until (or none), an order converts mid-wait,
no trigger sends nothing; its pure rules; its templates lint clean with and without the event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from activities.deliverability.content_lint import lint_before_start, lint_sequence
from activities.enrollment.rendering import (
    Recipient,
    RenderedEmail,
    Renderer,
    SenderIdentity,
)
from models.calendar import ContactCalendar, SendWindow
from models.enrollment import EnrollmentResult, Outcome
from models.events import EventKind
from models.quote_followup import QuoteFollowupParams, valid_until_date
from tests.workflows.scenarios import Enrollment, FakeSender
from tests.workflows.test_send_windows import next_weekday, skip_to
from workflows.calendar import business_days_before
from workflows.quote_followup import QuoteFollowupSequence, reminder_time

Enroll = Callable[..., Awaitable[Enrollment]]
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
BERLIN = ZoneInfo("Europe/Berlin")
BERLIN_CALENDAR = ContactCalendar(time_zone="Europe/Berlin", country="DE")
SAMPLE_EVENT = {
    "product": "M8 stainless hex bolts, DIN 933",
    "quote_number": "Q-2026-0142",
    "valid_until": "2026-12-18",
}


def steps(result: EnrollmentResult) -> list[str]:
    return [s.step for s in result.steps_sent]


async def start_quote(
    env: Any,
    enroll: Enroll,
    *,
    valid_for_days: int | None = 21,
    valid_until: Any = None,
    **kwargs: Any,
) -> Enrollment:
    """A quote_followup enrollment triggered by a quote_requested event whose valid_until is
    `valid_for_days` after the server's now (or `valid_until` as given)."""
    if valid_until is None and valid_for_days is not None:
        now = await env.get_current_time()
        valid_until = (now + timedelta(days=valid_for_days)).date().isoformat()
    properties: dict[str, Any] = {"product": "hex bolts", "quote_number": "Q-1"}
    if valid_until is not None:
        properties["valid_until"] = valid_until
    return await enroll(
        sequence=QuoteFollowupSequence,
        trigger="quote_requested",
        trigger_properties=properties,
        **kwargs,
    )


def due_reminder(valid_until: str, calendar: ContactCalendar | None = None) -> datetime:
    day = date.fromisoformat(valid_until)
    return reminder_time(day, 2, calendar or ContactCalendar(), SendWindow())


# --- the flow ------------------------------------------------------------------------------------


async def test_nothing_happening_sends_quote_follow_up_and_reminder(
    env, enroll: Enroll, sender: FakeSender
) -> None:
    e = await start_quote(env, enroll)
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert steps(result) == ["quote", "follow_up", "reminder"]
    quote, follow_up, reminder = sender.sent
    assert [s.template for s in sender.sent] == [
        "quote_followup/quote",
        "quote_followup/follow_up",
        "quote_followup/reminder",
    ]
    # The templates see the triggering event: every send carries its id.
    assert {s.trigger_event_id for s in sender.sent} == {sender.property_reads[0].event_id}
    assert follow_up.in_reply_to_message_id == quote.message_id
    assert reminder.in_reply_to_message_id == quote.message_id
    # Follow-up: 2 business days after the quote (same clock time; no calendar: Mon–Fri, UTC).
    days = sender.days_after_start("follow_up")
    assert round(days) in (2, 3, 4)
    assert days == pytest.approx(round(days), abs=0.001)
    assert sender.times[1].isoweekday() <= 5
    # valid_until read once, through event_property; the reminder at 09:00 two business days
    # before it.
    [read] = sender.property_reads
    assert read.name == "valid_until"
    assert read.contact_id == e.contact_id
    valid_until = sender.event_store[read.event_id]["valid_until"]
    assert abs(sender.times[2] - due_reminder(valid_until)) < timedelta(seconds=1)


async def test_the_quote_goes_at_once_outside_business_hours(
    env, enroll: Enroll, sender: FakeSender
) -> None:
    await skip_to(env, next_weekday(6, 3, BERLIN))  # Saturday 03:00 in Berlin
    started = await env.get_current_time()
    e = await start_quote(env, enroll, calendar=BERLIN_CALENDAR)
    result = await e.result()

    assert steps(result) == ["quote", "follow_up", "reminder"]
    quote_at = sender.times[0].astimezone(BERLIN)
    assert quote_at.isoweekday() == 6  # send_window=False: answering the buyer's request
    assert sender.times[0] - started < timedelta(minutes=1)
    for at in sender.times[1:]:  # the follow-up and the reminder keep the window
        local = at.astimezone(BERLIN)
        assert local.isoweekday() <= 5, local
        assert 9 <= local.hour < 17, local


async def test_a_click_on_the_quote_skips_the_follow_up_not_the_reminder(
    env, enroll: Enroll, sender: FakeSender
) -> None:
    e = await start_quote(env, enroll)
    await e.until_waiting("quote")
    await e.sleep(hours=20)
    await e.event(EventKind.CLICK, "quote", url="https://example.com/quote")
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert steps(result) == ["quote", "reminder"]


async def test_an_order_mid_wait_converts_and_sends_nothing_more(
    env, enroll: Enroll, sender: FakeSender
) -> None:
    e = await start_quote(env, enroll)
    await e.until_waiting("quote")
    await e.sleep(days=1)
    await e.business("order_placed", order_number="PO-77", total="12,400 EUR")
    result = await e.result()

    assert result.outcome == Outcome.CONVERTED
    assert result.goal == "order_placed"
    assert steps(result) == ["quote"]
    assert sender.steps == ["quote"]
    assert sender.outcomes[-1].outcome_event == "order_placed"


async def test_a_reply_ends_it_replied(env, enroll: Enroll, sender: FakeSender) -> None:
    e = await start_quote(env, enroll)
    await e.until_waiting("quote")
    await e.event(EventKind.REPLY, "quote")
    result = await e.result()

    assert result.outcome == Outcome.REPLIED
    assert sender.steps == ["quote"]


@pytest.mark.parametrize(
    ("valid_for_days", "valid_until"),
    [(3, None), (None, None), (None, "end of month"), (None, 20261218), (-5, None)],
    ids=["too-close", "absent", "not-a-date", "a-number", "already-past"],
)
async def test_no_reminder_when_valid_until_is_absent_unreadable_or_too_close(
    env, enroll: Enroll, sender: FakeSender, valid_for_days: int | None, valid_until: Any
) -> None:
    e = await start_quote(env, enroll, valid_for_days=valid_for_days, valid_until=valid_until)
    result = await e.result()

    assert result.outcome == Outcome.COMPLETED
    assert steps(result) == ["quote", "follow_up"]
    assert [r.name for r in sender.property_reads] == ["valid_until"]


async def test_the_reminder_follows_its_param(env, enroll: Enroll, sender: FakeSender) -> None:
    e = await start_quote(env, enroll, params={"reminder_business_days": 5}, valid_for_days=30)
    await e.result()

    valid_until = date.fromisoformat(
        sender.event_store[sender.property_reads[0].event_id]["valid_until"]
    )
    expected = reminder_time(valid_until, 5, ContactCalendar(), SendWindow())
    assert abs(sender.times[-1] - expected) < timedelta(seconds=1)
    assert sender.steps[-1] == "reminder"


async def test_without_a_trigger_it_ends_cancelled_and_sends_nothing(
    enroll: Enroll, sender: FakeSender
) -> None:
    e = await enroll(sequence=QuoteFollowupSequence)  # as POST /api/enrollments would start it
    result = await e.result()

    assert result.outcome == Outcome.CANCELLED
    assert result.reason == "quote_followup starts on its trigger (quote_requested); none given"
    assert sender.sent == []
    assert sender.outcomes[-1].outcome == Outcome.CANCELLED


# --- what it declares and its pure rules -----------------------------------------------------------


def test_it_is_triggered_by_a_quote_request_and_converts_on_an_order() -> None:
    assert [t.name for t in QuoteFollowupSequence.triggers] == ["quote_requested"]
    assert QuoteFollowupSequence.triggers[0].cohort_id == "trigger:quote_requested"
    assert QuoteFollowupSequence.goals == frozenset({"order_placed"})
    assert QuoteFollowupSequence.requires_trigger
    assert QuoteFollowupSequence.params_model is QuoteFollowupParams


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-18", date(2026, 12, 18)),
        ("2026-12-18T23:59:00+01:00", date(2026, 12, 18)),
        ("18.12.2026", None),
        ("", None),
        (None, None),
        (20261218, None),
    ],
)
def test_valid_until_is_an_iso_date(value: Any, expected: date | None) -> None:
    assert valid_until_date(value) == expected


def test_the_reminder_is_due_at_the_window_opening_two_business_days_before() -> None:
    # Valid until Monday 4 January 2027: Friday 1 January is a holiday in Germany, so two
    # business days before is Wednesday 30 December, 09:00 Berlin.
    at = reminder_time(date(2027, 1, 4), 2, BERLIN_CALENDAR, SendWindow())
    assert at == datetime(2026, 12, 30, 9, 0, tzinfo=BERLIN)
    assert at.astimezone(UTC) == datetime(2026, 12, 30, 8, 0, tzinfo=UTC)


def test_business_days_before_skips_weekends_and_holidays() -> None:
    assert business_days_before(date(2026, 12, 14), 1, None) == date(2026, 12, 11)  # Mon → Fri
    assert business_days_before(date(2026, 12, 13), 1, None) == date(2026, 12, 11)  # Sun → Fri
    assert business_days_before(date(2026, 12, 28), 2, "DE") == date(2026, 12, 23)
    assert business_days_before(date(2026, 12, 28), 0, "DE") == date(2026, 12, 28)
    with pytest.raises(ValueError, match="zero or more"):
        business_days_before(date(2026, 12, 28), -1, "DE")


# --- templates -----------------------------------------------------------------------------------


class WithSampleEvent(Renderer):
    """Renders as the send step does for a triggered enrollment: with the event's properties."""

    def render(
        self,
        name: str,
        recipient: Recipient,
        sender: SenderIdentity,
        *,
        unsubscribe_url: str,
        event: Mapping[str, Any] | None = None,
    ) -> RenderedEmail:
        return super().render(
            name, recipient, sender, unsubscribe_url=unsubscribe_url, event=SAMPLE_EVENT
        )


def test_the_templates_lint_clean_with_and_without_the_event() -> None:
    without = lint_before_start("quote_followup", TEMPLATES)
    steps = [t.removeprefix("quote_followup/") for t in without.templates]
    with_event = lint_sequence(
        "quote_followup", steps, TEMPLATES, renderer=WithSampleEvent(TEMPLATES)
    )

    for report in (without, with_event):
        assert report.findings == ()
    assert set(steps) == {
        "quote",
        "quote.de",
        "follow_up",
        "follow_up.de",
        "reminder",
        "reminder.de",
    }


@pytest.mark.parametrize("language", [None, "de"])
def test_the_quote_shows_product_number_and_validity(language: str | None) -> None:
    contact = Recipient("Anna", "Schmidt", "Hansa Import GmbH", "DE", language, {})
    sender = SenderIdentity("Li Wei", "li.wei@factory.example.cn", "88 Harbour Road, Ningbo")
    email = Renderer(TEMPLATES).render(
        "quote_followup/quote",
        contact,
        sender,
        unsubscribe_url="https://n.example/u/t",
        event=SAMPLE_EVENT,
    )

    for value in SAMPLE_EVENT.values():
        assert value in email.text
        assert value in email.html
    assert email.subject.endswith("Q-2026-0142: M8 stainless hex bolts, DIN 933")
    assert email.text.startswith("Hallo Anna," if language == "de" else "Hi Anna,")
    assert "None" not in email.text
