"""Send windows and business days in the contact's local time (`workflows.calendar`, `models.calendar`),
and one workflow proving they run inside Temporal's workflow sandbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The sandbox re-imports this module for CalendarProbe: test tooling and models pass through.
# `workflows.calendar` deliberately does not: the probe proves it works re-imported in the sandbox.
with workflow.unsafe.imports_passed_through():
    import pytest
    from pydantic import ValidationError

    from models.calendar import ContactCalendar, SendWindow, is_time_zone
from workflows.calendar import (
    COUNTRY_TIME_ZONES,
    SATURDAY_SUNDAY,
    WEEKENDS,
    add_business_days,
    is_business_day,
    next_send_time,
    time_zone_for,
    weekend_of,
)

BERLIN = ContactCalendar(time_zone="Europe/Berlin", country="DE")
NEW_YORK = ContactCalendar(time_zone="America/New_York", country="US")
SHANGHAI = ContactCalendar(time_zone="Asia/Shanghai", country="CN")
RIYADH = ContactCalendar(time_zone="Asia/Riyadh", country="SA")
TUE_THU_MORNING = SendWindow.parse("Tue-Thu 09:00-11:00")


def local(
    calendar: ContactCalendar, year: int, month: int, day: int, hour: int, minute: int = 0
) -> datetime:
    """An aware instant at that wall-clock time in the contact's zone."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(calendar.time_zone))


def utc(
    year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# --- send windows: the default business-day window ---------------------------------------------


def test_step_due_friday_evening_in_berlin_goes_monday_nine_berlin() -> None:
    sent = next_send_time(local(BERLIN, 2026, 6, 12, 18), BERLIN)

    assert sent == local(BERLIN, 2026, 6, 15, 9)
    assert sent.tzinfo is UTC


def test_step_due_friday_afternoon_in_berlin_goes_at_once() -> None:
    now = local(BERLIN, 2026, 6, 12, 16)

    assert next_send_time(now, BERLIN) == now


def test_inside_window_returns_now_unchanged_in_utc() -> None:
    now = utc(2026, 6, 10, 8, 15, 42, 123456)  # Wednesday 10:15:42.123456 in Berlin

    sent = next_send_time(now, BERLIN)

    assert sent == now
    assert sent.tzinfo is UTC
    assert sent.microsecond == 123456


def test_window_end_is_exclusive() -> None:
    assert next_send_time(local(BERLIN, 2026, 6, 10, 17), BERLIN) == local(BERLIN, 2026, 6, 11, 9)


def test_last_instant_before_window_end_is_inside() -> None:
    now = datetime(2026, 6, 10, 16, 59, 59, 999999, tzinfo=ZoneInfo("Europe/Berlin"))

    assert next_send_time(now, BERLIN) == now


def test_window_start_is_inclusive_and_early_morning_waits_for_it() -> None:
    assert next_send_time(local(BERLIN, 2026, 6, 10, 9), BERLIN) == local(BERLIN, 2026, 6, 10, 9)
    assert next_send_time(local(BERLIN, 2026, 6, 10, 8, 59), BERLIN) == local(
        BERLIN, 2026, 6, 10, 9
    )


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_send_time(datetime(2026, 6, 10, 10), BERLIN)


# --- send windows: explicit weekdays ------------------------------------------------------------


def test_tue_thu_window_moves_a_monday_step_to_tuesday_nine() -> None:
    assert next_send_time(local(BERLIN, 2026, 6, 8, 10), BERLIN, TUE_THU_MORNING) == local(
        BERLIN, 2026, 6, 9, 9
    )


def test_tue_thu_window_sends_wednesday_morning_at_once() -> None:
    now = local(BERLIN, 2026, 6, 10, 10, 30)

    assert next_send_time(now, BERLIN, TUE_THU_MORNING) == now


def test_tue_thu_window_moves_wednesday_noon_to_thursday_nine() -> None:
    assert next_send_time(local(BERLIN, 2026, 6, 10, 11), BERLIN, TUE_THU_MORNING) == local(
        BERLIN, 2026, 6, 11, 9
    )


def test_tue_thu_window_moves_thursday_noon_to_next_tuesday() -> None:
    assert next_send_time(local(BERLIN, 2026, 6, 11, 12), BERLIN, TUE_THU_MORNING) == local(
        BERLIN, 2026, 6, 16, 9
    )


def test_explicit_weekdays_still_skip_holidays() -> None:
    fridays = SendWindow.parse("Fri 09:00-17:00")
    # Fri 25 Dec and Fri 1 Jan are German public holidays: the next open Friday is 8 Jan.
    assert next_send_time(local(BERLIN, 2026, 12, 24, 18), BERLIN, fridays) == local(
        BERLIN, 2027, 1, 8, 9
    )
    assert next_send_time(local(BERLIN, 2026, 12, 10, 18), BERLIN, fridays) == local(
        BERLIN, 2026, 12, 11, 9
    )


def test_explicit_weekdays_never_open_weekend_days() -> None:
    with pytest.raises(ValueError, match="no send window opens"):
        next_send_time(
            local(BERLIN, 2026, 6, 10, 10), BERLIN, SendWindow.parse("Sat-Sun 10:00-12:00")
        )


# --- daylight saving time -----------------------------------------------------------------------


def test_europe_spring_forward_keeps_nine_local_and_moves_utc_an_hour_earlier() -> None:
    before = next_send_time(local(BERLIN, 2026, 3, 26, 18), BERLIN)  # Thu → Fri, still CET
    after = next_send_time(local(BERLIN, 2026, 3, 27, 18), BERLIN)  # Fri → Mon, CEST since Sun 29th

    assert before == utc(2026, 3, 27, 8)
    assert after == utc(2026, 3, 30, 7)
    assert before.astimezone(ZoneInfo("Europe/Berlin")).time() == time(9)
    assert after.astimezone(ZoneInfo("Europe/Berlin")).time() == time(9)


def test_europe_fall_back_keeps_nine_local_and_moves_utc_an_hour_later() -> None:
    before = next_send_time(local(BERLIN, 2026, 10, 22, 18), BERLIN)  # Thu → Fri, still CEST
    after = next_send_time(local(BERLIN, 2026, 10, 23, 18), BERLIN)  # Fri → Mon, CET since Sun 25th

    assert before == utc(2026, 10, 23, 7)
    assert after == utc(2026, 10, 26, 8)


def test_us_spring_forward_keeps_nine_local_and_moves_utc_an_hour_earlier() -> None:
    before = next_send_time(local(NEW_YORK, 2026, 3, 5, 18), NEW_YORK)  # Thu → Fri, EST
    after = next_send_time(
        local(NEW_YORK, 2026, 3, 6, 18), NEW_YORK
    )  # Fri → Mon, EDT since Sun 8th

    assert before == utc(2026, 3, 6, 14)
    assert after == utc(2026, 3, 9, 13)


def test_us_fall_back_keeps_nine_local_and_moves_utc_an_hour_later() -> None:
    before = next_send_time(local(NEW_YORK, 2026, 10, 29, 18), NEW_YORK)  # Thu → Fri, EDT
    after = next_send_time(
        local(NEW_YORK, 2026, 10, 30, 18), NEW_YORK
    )  # Fri → Mon, EST since Nov 1st

    assert before == utc(2026, 10, 30, 13)
    assert after == utc(2026, 11, 2, 14)


def test_window_start_in_the_skipped_spring_hour_opens_with_the_old_offset() -> None:
    # A New York contact in Saudi Arabia's week, so that the DST Sunday is a business day.
    calendar = ContactCalendar(time_zone="America/New_York", country="SA")
    window = SendWindow.parse("Sun 02:30-04:00")

    sent = next_send_time(utc(2026, 3, 7, 12), calendar, window)

    # 02:30 does not exist on 8 March: read as 02:30 EST, i.e. 03:30 EDT.
    assert sent == utc(2026, 3, 8, 7, 30)
    assert sent.astimezone(ZoneInfo("America/New_York")).time() == time(3, 30)


def test_window_start_in_the_repeated_autumn_hour_opens_at_its_first_occurrence() -> None:
    calendar = ContactCalendar(time_zone="America/New_York", country="SA")
    window = SendWindow.parse("Sun 01:30-03:00")

    sent = next_send_time(utc(2026, 10, 31, 12), calendar, window)

    assert sent == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not 01:30 EST an hour later


# --- holidays -----------------------------------------------------------------------------------


def test_christmas_is_skipped_in_germany() -> None:
    assert not is_business_day(date(2026, 12, 25), "DE")
    assert not is_business_day(date(2026, 12, 26), "DE")
    assert is_business_day(date(2026, 12, 23), "DE")
    assert next_send_time(local(BERLIN, 2026, 12, 24, 18), BERLIN) == local(BERLIN, 2026, 12, 28, 9)


def test_christmas_is_a_business_day_for_a_contact_without_country() -> None:
    calendar = ContactCalendar(time_zone="Europe/Berlin")

    assert next_send_time(local(calendar, 2026, 12, 24, 18), calendar) == local(
        calendar, 2026, 12, 25, 9
    )


def test_chinese_new_year_2027_is_skipped_in_china() -> None:
    # python-holidays: New Year's Eve Fri 5 Feb, Spring Festival 6–8 Feb, observed 9–10 Feb.
    for day in range(5, 11):
        assert not is_business_day(date(2027, 2, day), "CN")
    assert next_send_time(local(SHANGHAI, 2027, 2, 4, 18), SHANGHAI) == local(
        SHANGHAI, 2027, 2, 11, 9
    )


def test_chinese_new_year_does_not_close_japan() -> None:
    tokyo = ContactCalendar(time_zone="Asia/Tokyo", country="JP")

    assert next_send_time(local(tokyo, 2027, 2, 4, 18), tokyo) == local(tokyo, 2027, 2, 5, 9)


def test_thanksgiving_is_skipped_in_the_us() -> None:
    assert not is_business_day(date(2026, 11, 26), "US")
    assert next_send_time(local(NEW_YORK, 2026, 11, 25, 18), NEW_YORK) == local(
        NEW_YORK, 2026, 11, 27, 9
    )


def test_us_thanksgiving_is_a_business_day_in_canada() -> None:
    toronto = ContactCalendar(time_zone="America/Toronto", country="CA")

    assert next_send_time(local(toronto, 2026, 11, 25, 18), toronto) == local(
        toronto, 2026, 11, 26, 9
    )


def test_unknown_country_has_monday_to_friday_and_no_holidays() -> None:
    assert is_business_day(date(2026, 12, 25), "XX")
    assert is_business_day(date(2026, 12, 25), None)
    assert not is_business_day(date(2026, 12, 26), "XX")  # a Saturday


# --- weekends -----------------------------------------------------------------------------------


def test_saudi_week_runs_sunday_to_thursday() -> None:
    assert not is_business_day(date(2026, 9, 4), "SA")  # Friday
    assert not is_business_day(date(2026, 9, 5), "SA")  # Saturday
    assert is_business_day(date(2026, 9, 6), "SA")  # Sunday
    assert next_send_time(local(RIYADH, 2026, 9, 3, 18), RIYADH) == local(RIYADH, 2026, 9, 6, 9)


def test_emirates_week_runs_monday_to_friday_since_2022() -> None:
    dubai = ContactCalendar(time_zone="Asia/Dubai", country="AE")

    assert is_business_day(date(2026, 9, 4), "AE")  # Friday
    assert not is_business_day(date(2026, 9, 6), "AE")  # Sunday
    assert next_send_time(local(dubai, 2026, 9, 5, 12), dubai) == local(dubai, 2026, 9, 7, 9)


def test_israel_and_egypt_rest_friday_and_saturday() -> None:
    for country in ("IL", "EG"):
        assert weekend_of(country) == {5, 6}
    assert weekend_of("de") == SATURDAY_SUNDAY


def test_weekend_table_agrees_with_python_holidays() -> None:
    # Imported here, not at the top: the sandbox must see `workflows.calendar` import it first.
    import holidays

    # Hong Kong is the one deliberate difference: its statutory rest day is Sunday only.
    disagreements = {}
    for country in sorted(set(COUNTRY_TIME_ZONES) | set(WEEKENDS)):
        theirs = frozenset(day + 1 for day in holidays.country_holidays(country).weekend)
        if theirs != weekend_of(country):
            disagreements[country] = (sorted(theirs), sorted(weekend_of(country)))
    assert disagreements == {"HK": ([7], [6, 7])}


# --- add_business_days --------------------------------------------------------------------------


def test_add_business_days_skips_the_weekend_at_the_same_wall_clock_time() -> None:
    assert add_business_days(local(BERLIN, 2026, 6, 12, 10, 30), 1, BERLIN) == local(
        BERLIN, 2026, 6, 15, 10, 30
    )


def test_add_business_days_within_a_week_counts_every_day() -> None:
    assert add_business_days(local(BERLIN, 2026, 6, 8, 10), 3, BERLIN) == local(
        BERLIN, 2026, 6, 11, 10
    )


def test_add_business_days_from_a_saturday_lands_on_monday() -> None:
    assert add_business_days(local(BERLIN, 2026, 6, 13, 10), 1, BERLIN) == local(
        BERLIN, 2026, 6, 15, 10
    )


def test_add_business_days_skips_christmas_in_germany() -> None:
    # Thu 24 Dec counts; Fri 25 (holiday), Sat 26, Sun 27 do not.
    assert add_business_days(local(BERLIN, 2026, 12, 23, 10), 2, BERLIN) == local(
        BERLIN, 2026, 12, 28, 10
    )


def test_add_business_days_counts_christmas_without_a_country() -> None:
    calendar = ContactCalendar(time_zone="Europe/Berlin")

    assert add_business_days(local(calendar, 2026, 12, 23, 10), 2, calendar) == local(
        calendar, 2026, 12, 25, 10
    )


def test_add_business_days_keeps_local_time_across_dst() -> None:
    later = add_business_days(local(BERLIN, 2026, 3, 27, 10), 1, BERLIN)

    assert later == utc(2026, 3, 30, 8)  # 10:00 CEST; it was 09:00 UTC on the Friday
    assert later.tzinfo is UTC


def test_add_zero_business_days_is_now() -> None:
    now = utc(2026, 6, 13, 9)  # a Saturday: zero days is still now

    assert add_business_days(now, 0, BERLIN) == now


def test_add_negative_business_days_is_rejected() -> None:
    with pytest.raises(ValueError, match="zero or more"):
        add_business_days(utc(2026, 6, 10, 9), -1, BERLIN)


# --- time zones ---------------------------------------------------------------------------------


def test_contact_with_its_own_valid_zone_keeps_it() -> None:
    assert time_zone_for("America/Chicago", "US", "Europe/Berlin") == "America/Chicago"


def test_contact_without_zone_uses_its_countrys() -> None:
    assert time_zone_for(None, "de", "America/Chicago") == "Europe/Berlin"
    assert time_zone_for(None, "SA", None) == "Asia/Riyadh"


def test_contact_with_invalid_zone_falls_back_to_its_countrys() -> None:
    assert time_zone_for("Mars/Olympus_Mons", "JP", None) == "Asia/Tokyo"
    assert time_zone_for("localtime", "JP", None) == "Asia/Tokyo"


def test_contact_without_zone_or_known_country_uses_the_senders() -> None:
    assert time_zone_for(None, "XX", "Europe/Paris") == "Europe/Paris"
    assert time_zone_for("", None, "Europe/Paris") == "Europe/Paris"


def test_nothing_valid_falls_back_to_utc() -> None:
    assert time_zone_for("Nowhere/City", None, "Also/Nowhere") == "UTC"
    assert time_zone_for(None, None, None) == "UTC"


def test_every_country_default_zone_is_a_valid_zone() -> None:
    invalid = {
        country: zone for country, zone in COUNTRY_TIME_ZONES.items() if not is_time_zone(zone)
    }
    assert invalid == {}
    assert is_time_zone("Europe/Berlin")
    assert not is_time_zone("Europe/Atlantis")


# --- models -------------------------------------------------------------------------------------


def test_default_window_is_business_days_nine_to_five() -> None:
    window = SendWindow()

    assert window.weekdays is None
    assert (window.start, window.end) == (time(9), time(17))


def test_window_parse_reads_days_ranges_lists_and_wraps() -> None:
    assert SendWindow.parse("Tue-Thu 09:00-11:00") == SendWindow(
        weekdays=[2, 3, 4], start=time(9), end=time(11)
    )
    assert SendWindow.parse("Mon,Wed,Fri 8:30-12:00").weekdays == [1, 3, 5]
    assert SendWindow.parse("sunday-thursday 9:00 – 17:00").weekdays == [1, 2, 3, 4, 7]
    assert SendWindow.parse("10:00-16:00") == SendWindow(start=time(10), end=time(16))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Tue-Thu 11:00-09:00", "must be before end"),
        ("Mon 09:00-09:00", "must be before end"),
        ("Someday 09:00-11:00", "not a day name"),
        ("Mon 25:00-26:00", "not a clock time"),
        ("Mon-Tue-Wed 09:00-11:00", "not a day range"),
        ("at nine", "not a send window"),
    ],
)
def test_window_parse_rejects_nonsense(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        SendWindow.parse(text)


def test_window_rejects_empty_or_unknown_weekdays() -> None:
    with pytest.raises(ValidationError, match="must not be empty"):
        SendWindow(weekdays=[])
    with pytest.raises(ValidationError, match="ISO weekdays"):
        SendWindow(weekdays=[0, 8])
    assert SendWindow(weekdays=[3, 1, 3]).weekdays == [1, 3]


def test_contact_calendar_rejects_an_invalid_zone_and_country() -> None:
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        ContactCalendar(time_zone="Europe/Atlantis")
    with pytest.raises(ValidationError, match="unknown IANA time zone"):
        ContactCalendar(time_zone="localtime")
    with pytest.raises(ValidationError, match="alpha-2"):
        ContactCalendar(time_zone="UTC", country="DEU")
    assert ContactCalendar(time_zone="Asia/Tokyo", country=" jp ").country == "JP"


def test_contact_calendar_round_trips_through_json() -> None:
    calendar = ContactCalendar(time_zone="Asia/Riyadh", country="SA")

    assert ContactCalendar.model_validate_json(calendar.model_dump_json()) == calendar
    assert calendar.zone == ZoneInfo("Asia/Riyadh")


# --- inside the workflow sandbox ----------------------------------------------------------------


# Any error fails the workflow (not just its task, retried until the test times out): a sandbox
# restriction hit by the calendar code then fails this test at once.
@workflow.defn(name="test_calendar_probe", failure_exception_types=[Exception])
class CalendarProbe:
    """Computes a send time and a business-day wait from `workflow.now()`, then sleeps until the
    send time: proves `holidays` and `zoneinfo` work under the sandbox's restrictions."""

    @workflow.run
    async def run(self, calendar: ContactCalendar) -> list[str]:
        started = workflow.now()
        send_at = next_send_time(started, calendar)
        later = add_business_days(started, 3, calendar)
        if send_at > started:
            await workflow.sleep(send_at - started)
        return [iso.isoformat() for iso in (started, send_at, later, workflow.now())]


async def test_calendar_functions_run_inside_the_workflow_sandbox(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    async with Worker(env.client, task_queue=task_queue, workflows=[CalendarProbe]):
        result = await env.client.execute_workflow(
            CalendarProbe.run,
            SHANGHAI,
            id=f"calendar-probe-{task_queue}",
            task_queue=task_queue,
            execution_timeout=timedelta(days=30),
        )

    started, send_at, later, woke = (datetime.fromisoformat(text) for text in result)
    assert send_at == next_send_time(started, SHANGHAI)
    assert later == add_business_days(started, 3, SHANGHAI)
    assert woke >= send_at
    assert next_send_time(woke, SHANGHAI) == woke  # it woke inside the window
