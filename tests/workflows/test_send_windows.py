"""Send windows and business days inside the workflow (time-skipping server): steps go out only in
the contact's local business hours, never on its public holidays, and `business_days` waits
count its calendar."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio.worker import Worker

from models.calendar import ContactCalendar
from models.enrollment import Outcome
from tests.workflows.scenarios import FakeSender, start_enrollment, start_env
from workflows.registry import SEQUENCES

BERLIN = ZoneInfo("Europe/Berlin")


async def skip_to(env, local: datetime) -> None:
    """Move the test server's clock forward to the next occurrence of that weekday and time."""
    now = await env.get_current_time()
    target = local
    while target.astimezone(UTC) <= now:
        target += timedelta(days=7)
    await env.sleep(target.astimezone(UTC) - now)


def next_weekday(weekday: int, hour: int, zone: ZoneInfo) -> datetime:
    today = datetime.now(zone).date()
    day = today + timedelta(days=(weekday - today.isoweekday()) % 7)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=zone)


async def test_a_step_due_friday_evening_in_berlin_goes_monday_at_nine(
    env, enroll, sender: FakeSender
):
    await skip_to(env, next_weekday(5, 18, BERLIN))  # Friday 18:00 Berlin
    e = await enroll(calendar=ContactCalendar(time_zone="Europe/Berlin", country="DE"))
    result = await e.result()
    assert result.outcome == Outcome.COMPLETED
    intro_at = sender.times[0].astimezone(BERLIN)
    assert intro_at.isoweekday() in (1, 2, 3)
    assert intro_at.hour == 9
    assert intro_at.minute == 0
    for at in sender.times:
        local = at.astimezone(BERLIN)
        assert local.isoweekday() <= 5, local
        assert 9 <= local.hour < 17, local


async def test_without_a_calendar_steps_go_when_due(env, enroll, sender: FakeSender):
    await skip_to(env, next_weekday(6, 3, BERLIN))  # Saturday 03:00
    e = await enroll()
    await e.result()
    assert sender.times[0].astimezone(BERLIN).isoweekday() == 6


async def test_christmas_is_skipped_for_a_german_contact(sender: FakeSender):
    # Its own server: the shared one's clock has run decades ahead by now (the test server skips
    # to a closed workflow's 10-year run timeout while a result is awaited), and python-holidays
    # knows no holidays after 2100.
    env = await start_env()
    try:
        now = await env.get_current_time()
        year = now.year if now < datetime(now.year, 12, 24, 12, tzinfo=UTC) else now.year + 1
        await env.sleep(datetime(year, 12, 24, 16, 59, tzinfo=UTC) - now)  # 17:59 Berlin, 24th
        queue = f"christmas-{uuid.uuid4()}"
        async with Worker(
            env.client, task_queue=queue, workflows=list(SEQUENCES), activities=sender.activities
        ):
            e = await start_enrollment(
                env.client,
                env,
                queue,
                sender,
                calendar=ContactCalendar(time_zone="Europe/Berlin", country="DE"),
            )
            await e.result()
    finally:
        await env.shutdown()
    intro_day = sender.times[0].astimezone(BERLIN).date()
    assert intro_day not in {datetime(year, 12, d).date() for d in (24, 25, 26)}
    assert intro_day > datetime(year, 12, 26).date()
