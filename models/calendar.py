"""A contact's calendar (IANA time zone, country) and send windows: plain pydantic models that
travel in workflow payloads. The rules that use them live in `workflows.calendar`.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

#: Keys `ZoneInfo` accepts that name no place: `localtime` follows the machine's /etc/localtime
#: (a different answer on every worker), `posixrules` and `Factory` are tzdata plumbing.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})

_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Full English day names and their three-letter forms → ISO weekday.
_DAYS = {
    form: number for number, full in enumerate(_DAY_NAMES, start=1) for form in (full, full[:3])
}
_CLOCK = r"(\d{1,2}):(\d{2})"
_WINDOW = re.compile(rf"^\s*(?:(?P<days>.*?)\s+)?{_CLOCK}\s*[-–]\s*{_CLOCK}\s*$")


def is_time_zone(name: str) -> bool:
    """Whether `name` is an IANA zone key this machine knows (`Europe/Berlin`, `UTC`)."""
    if name in _NOT_PLACES:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class SendWindow(BaseModel):
    """When a step may be sent: `start` (inclusive) to `end` (exclusive), local wall-clock time.

    `weekdays` are ISO weekdays (Monday 1 … Sunday 7); None — the default — means the contact
    country's business days. Explicit weekdays narrow those, never widen them: a holiday or
    weekend day stays closed. A window cannot cross midnight.
    """

    model_config = ConfigDict(frozen=True)

    weekdays: list[int] | None = Field(
        default=None, description="ISO weekdays 1–7; None: the contact country's business days."
    )
    start: time = time(9, 0)
    end: time = time(17, 0)

    @field_validator("weekdays")
    @classmethod
    def _known_weekdays(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("weekdays must not be empty (leave it unset for business days)")
        wrong = [day for day in value if not 1 <= day <= 7]
        if wrong:
            raise ValueError(f"weekdays are ISO weekdays 1 (Mon) to 7 (Sun), got {wrong}")
        return sorted(set(value))

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are local wall-clock times, without a time zone")
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    @classmethod
    def parse(cls, text: str) -> SendWindow:
        """A window from `"Tue-Thu 09:00-11:00"`, `"Mon,Wed,Fri 8:30-12:00"`, `"Sun-Thu 9:00-17:00"`
        or `"09:00-17:00"` (business days). Day names are English, full or three letters.

        Raises ValueError naming what is wrong.
        """
        match = _WINDOW.match(text)
        if match is None:
            raise ValueError(f"not a send window: {text!r} (expected e.g. 'Tue-Thu 09:00-11:00')")
        days = match.group("days")
        h1, m1, h2, m2 = (int(match.group(i)) for i in range(2, 6))
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            raise ValueError(f"not a clock time in {text!r}") from None
        weekdays = _parse_days(days) if days else None
        try:
            return cls(weekdays=weekdays, start=start, end=end)
        except ValidationError as err:
            reason = err.errors()[0]["msg"].removeprefix("Value error, ")
            raise ValueError(f"not a send window: {text!r}: {reason}") from None


class ContactCalendar(BaseModel):
    """The calendar a contact's sends follow: an IANA time zone and, for weekends and public
    holidays, an ISO 3166-1 alpha-2 country (None: Monday to Friday, no holidays).

    Build it with `workflows.calendar.time_zone_for`, which falls back when a contact's own zone
    is missing or invalid; this model rejects an invalid zone.
    """

    model_config = ConfigDict(frozen=True)

    time_zone: str = Field(default="UTC", description="IANA zone, e.g. Europe/Berlin")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2, e.g. DE")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_time_zone(value):
            raise ValueError(f"unknown IANA time zone {value!r}")
        return value

    @field_validator("country")
    @classmethod
    def _alpha_2(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", code):
            raise ValueError(f"country must be an ISO 3166-1 alpha-2 code, got {value!r}")
        return code

    @property
    def zone(self) -> ZoneInfo:
        """The `ZoneInfo` of `time_zone`.

        Workflow code takes its zone from here, not from `ZoneInfo(...)`: the workflow sandbox
        proxies `ZoneInfo` instances built inside it, and a proxy is no `tzinfo` to `datetime`.
        This module is imported through `imports_passed_through()`, so its instances are real.
        """
        return ZoneInfo(self.time_zone)


def _parse_days(text: str) -> list[int]:
    """ISO weekdays from `"Tue-Thu"`, `"Mon,Wed"`, `"Fri-Mon"` (a range may wrap past Sunday)."""
    days: list[int] = []
    for part in text.split(","):
        ends = [_day(name) for name in re.split(r"\s*[-–]\s*", part.strip())]
        if len(ends) == 1:
            days.append(ends[0])
        elif len(ends) == 2:
            first, last = ends
            span = (last - first) % 7
            days.extend((first - 1 + offset) % 7 + 1 for offset in range(span + 1))
        else:
            raise ValueError(f"not a day range: {part.strip()!r}")
    return days


def _day(name: str) -> int:
    number = _DAYS.get(name.strip().lower())
    if number is None:
        raise ValueError(f"not a day name: {name!r} (use Mon, Tue, … Sun)")
    return number


__all__ = ["ContactCalendar", "SendWindow", "is_time_zone"]
