"""`simulate()`: trade_intro's paths as timelines — sends in the contact's local time with German
holidays pushing steps, the event that changed the path, the outcome — and the harness as an
author uses it from a test."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from models.enrollment import Outcome
from models.events import EventKind
from models.settings import PROJECT_ROOT
from nurture_testing import SimulationError, simulate
from nurture_testing.events import PlannedEvent, parse_events, parse_offset

#: Thursday 21 December 2028, 10:00 in Berlin: the open window ends on Saturday the 23rd, and
#: Christmas (Monday 25th, Tuesday 26th) and New Year's Day (Monday 1st) close the days after.
START = datetime(2028, 12, 21, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


async def trade_intro(events: str = "") -> list[tuple[str, str | None, str]]:
    timeline = await simulate("trade_intro", events, country="DE", start=START)
    print(f"simulate({events!r}) took {timeline.elapsed_seconds} s")  # wall time, not asserted
    return timeline.rows()


async def test_no_events_sends_every_step_past_christmas_and_new_year() -> None:
    timeline = await simulate("trade_intro", country="DE", start=START)
    print(f"simulate() took {timeline.elapsed_seconds} s")
    assert timeline.rows() == [
        ("sent", "intro", "Thu 2028-12-21 10:00"),
        # Due Saturday 23rd 10:00 (the open window): the weekend and both Christmas days pass.
        ("sent", "bump", "Wed 2028-12-27 09:00"),
        # Due Monday 25th 10:00 (intro + 4 days), Christmas Day: sent on the next business day.
        ("sent", "case_study", "Wed 2028-12-27 09:00"),
        # Due Sunday 31st 09:00 (case study + 4 days); Monday 1st is New Year's Day.
        ("sent", "offer", "Tue 2029-01-02 09:00"),
        ("ended", "completed", "Tue 2029-01-02 09:00"),
    ]
    bump, _case_study, offer = timeline.sent[1:]
    assert bump.held_from == "Sat 2028-12-23 10:00"
    assert "Mon 25 Dec Christmas Day" in bump.detail
    assert "Tue 26 Dec Second Day of Christmas" in bump.detail
    assert "in intro's thread" in bump.detail
    assert offer.held_from == "Sun 2028-12-31 09:00"
    assert "Mon 01 Jan New Year's Day" in offer.detail
    assert timeline.outcome == Outcome.COMPLETED
    assert timeline.changed_by() == []


async def test_click_brings_the_offer_forward() -> None:
    assert await trade_intro("click@1d") == [
        ("sent", "intro", "Thu 2028-12-21 10:00"),
        ("event", "click@1d", "Fri 2028-12-22 10:00"),
        ("sent", "offer", "Fri 2028-12-22 10:00"),
        ("ended", "completed", "Fri 2028-12-22 10:00"),
    ]
    timeline = await simulate("trade_intro", "click@1d", country="DE", start=START)
    click = timeline.entries[1]
    assert click.changed_path
    assert click.step == "intro"
    assert "bump not sent" in click.detail
    assert "case_study not sent" in click.detail


async def test_reply_ends_the_enrollment_replied() -> None:
    timeline = await simulate("trade_intro", "reply@7d", country="DE", start=START)
    assert timeline.rows() == [
        ("sent", "intro", "Thu 2028-12-21 10:00"),
        ("sent", "bump", "Wed 2028-12-27 09:00"),
        ("sent", "case_study", "Wed 2028-12-27 09:00"),
        ("event", "reply@7d", "Thu 2028-12-28 10:00"),
        ("ended", "replied", "Thu 2028-12-28 10:00"),
    ]
    reply = timeline.entries[3]
    assert reply.step == "case_study"  # the latest email sent by then
    assert reply.changed_path
    assert "ended the enrollment: replied" in reply.detail
    assert timeline.outcome == Outcome.REPLIED


async def test_human_open_skips_the_bump() -> None:
    assert await trade_intro("open@2h") == [
        ("sent", "intro", "Thu 2028-12-21 10:00"),
        ("event", "open@2h", "Thu 2028-12-21 12:00"),
        ("sent", "case_study", "Wed 2028-12-27 09:00"),
        ("sent", "offer", "Tue 2029-01-02 09:00"),
        ("ended", "completed", "Tue 2029-01-02 09:00"),
    ]


async def test_goal_converts_and_later_events_change_nothing() -> None:
    timeline = await simulate(
        "trade_intro", "open@2h,order_placed@1d,click@2d", country="DE", start=START
    )
    assert timeline.rows() == [
        ("sent", "intro", "Thu 2028-12-21 10:00"),
        ("event", "open@2h", "Thu 2028-12-21 12:00"),
        ("event", "order_placed@1d", "Fri 2028-12-22 10:00"),
        ("ended", "converted", "Fri 2028-12-22 10:00"),
        ("event", "click@2d", "Sat 2028-12-23 10:00"),
    ]
    assert timeline.changed_by() == ["open@2h", "order_placed@1d"]
    assert timeline.entries[-1].detail == "after the end"
    assert timeline.result.goal == "order_placed"


async def test_harness_in_three_lines() -> None:
    timeline = await simulate("trade_intro", events="click@1d", country="DE", start=START)
    assert timeline.steps == ["intro", "offer"]
    assert timeline.changed_by() == ["click@1d"]


async def test_the_readme_harness_example_passes() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("The same harness is a package", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    await namespace["test_click_brings_the_offer_forward"]()  # type: ignore[operator]


async def test_params_and_time_zone_are_applied() -> None:
    timeline = await simulate(
        "trade_intro",
        time_zone="America/New_York",
        country="US",
        params={"open_window": "P1D", "case_study_after": "P2D", "offer_after": "P1D"},
        start=datetime(2028, 12, 21, 10, 0, tzinfo=ZoneInfo("America/New_York")),
    )
    # Christmas is one day in the US: Friday 22nd's bump goes, the case study waits for Tuesday.
    assert [(e.step, e.local) for e in timeline.sent] == [
        ("intro", "Thu 2028-12-21 10:00"),
        ("bump", "Fri 2028-12-22 10:00"),
        ("case_study", "Tue 2028-12-26 09:00"),
        ("offer", "Wed 2028-12-27 09:00"),
    ]


async def test_bad_plans_are_refused_with_the_reason() -> None:
    with pytest.raises(SimulationError, match=r"click:offer@1d: offer was not sent by then"):
        await simulate("trade_intro", "click:offer@1d", country="DE", start=START)
    with pytest.raises(SimulationError, match="in the past"):
        await simulate("trade_intro", start=datetime(2020, 1, 1, tzinfo=ZoneInfo("UTC")))
    with pytest.raises(ValueError, match="open_window"):
        await simulate("trade_intro", params={"open_window": "P9D"})
    with pytest.raises(KeyError, match="no sequence named"):
        await simulate("no_such_sequence")


def test_plans_parse_kinds_steps_business_events_and_offsets() -> None:
    assert parse_events("reply@5d, open@2h,click:intro@1d12h,order_placed@30m") == [
        PlannedEvent(offset=parse_offset("30m"), kind=EventKind.BUSINESS, name="order_placed"),
        PlannedEvent(offset=parse_offset("2h"), kind=EventKind.OPEN),
        PlannedEvent(offset=parse_offset("36h"), kind=EventKind.CLICK, step="intro"),
        PlannedEvent(offset=parse_offset("5d"), kind=EventKind.REPLY),
    ]
    assert [e.label for e in parse_events("click:intro@1d12h")] == ["click:intro@1d12h"]
    for bad, reason in [
        ("open", "expected kind@offset"),
        ("open@2x", "not an offset"),
        ("delivered@1d", "changes nothing"),
        ("Order_Placed@1d", "expected kind@offset"),
        ("order_placed:intro@1d", "takes no step"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_events(bad)
