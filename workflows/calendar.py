"""Send windows and business days in a contact's local time: pure, deterministic functions of
(instant, contact calendar) that workflows and tests share — no clock reads, no I/O, no randomness.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo  # for type hints only: see ContactCalendar.zone

from temporalio import workflow

# Loaded once for all workflows, not again in each workflow's sandbox.
with workflow.unsafe.imports_passed_through():
    import holidays

    from models.calendar import ContactCalendar, SendWindow, is_time_zone

#: How far ahead a search for an allowed day goes before it gives up: a year and then some, so
#: no holiday season stops it, while a window that can never open (e.g. "Sat" in Germany) fails.
MAX_SEARCH_DAYS = 400

#: Default IANA zone of the main countries of B2B export trade, for a contact without a valid
#: zone of its own. A country spanning several zones gets its most populous business zone
#: (US → New York, CA → Toronto, BR → São Paulo, RU → Moscow, AU → Sydney, MX → Mexico City,
#: ID → Jakarta, KZ → Almaty): better a contact's own zone, when known.
COUNTRY_TIME_ZONES: dict[str, str] = {
    # Europe
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "BY": "Europe/Minsk",
    "CH": "Europe/Zurich",
    "CY": "Asia/Nicosia",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "GR": "Europe/Athens",
    "HR": "Europe/Zagreb",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IS": "Atlantic/Reykjavik",
    "IT": "Europe/Rome",
    "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg",
    "LV": "Europe/Riga",
    "MT": "Europe/Malta",
    "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "RS": "Europe/Belgrade",
    "RU": "Europe/Moscow",
    "SE": "Europe/Stockholm",
    "SI": "Europe/Ljubljana",
    "SK": "Europe/Bratislava",
    "TR": "Europe/Istanbul",
    "UA": "Europe/Kyiv",
    # Americas
    "AR": "America/Argentina/Buenos_Aires",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CL": "America/Santiago",
    "CO": "America/Bogota",
    "CR": "America/Costa_Rica",
    "DO": "America/Santo_Domingo",
    "EC": "America/Guayaquil",
    "GT": "America/Guatemala",
    "MX": "America/Mexico_City",
    "PA": "America/Panama",
    "PE": "America/Lima",
    "US": "America/New_York",
    "UY": "America/Montevideo",
    # Asia and Oceania
    "AU": "Australia/Sydney",
    "BD": "Asia/Dhaka",
    "CN": "Asia/Shanghai",
    "HK": "Asia/Hong_Kong",
    "ID": "Asia/Jakarta",
    "IN": "Asia/Kolkata",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "KZ": "Asia/Almaty",
    "LK": "Asia/Colombo",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "PH": "Asia/Manila",
    "PK": "Asia/Karachi",
    "SG": "Asia/Singapore",
    "TH": "Asia/Bangkok",
    "TW": "Asia/Taipei",
    "VN": "Asia/Ho_Chi_Minh",
    # Middle East and Africa
    "AE": "Asia/Dubai",
    "BH": "Asia/Bahrain",
    "DZ": "Africa/Algiers",
    "EG": "Africa/Cairo",
    "ET": "Africa/Addis_Ababa",
    "GH": "Africa/Accra",
    "IL": "Asia/Jerusalem",
    "JO": "Asia/Amman",
    "KE": "Africa/Nairobi",
    "KW": "Asia/Kuwait",
    "MA": "Africa/Casablanca",
    "NG": "Africa/Lagos",
    "OM": "Asia/Muscat",
    "QA": "Asia/Qatar",
    "SA": "Asia/Riyadh",
    "TN": "Africa/Tunis",
    "ZA": "Africa/Johannesburg",
}

SATURDAY_SUNDAY = frozenset({6, 7})
FRIDAY_SATURDAY = frozenset({5, 6})

#: Weekend (ISO weekdays) of the countries whose week is not Monday to Friday; every other
#: country rests on Saturday and Sunday. Sources: each country's labour law / government
#: announcement — Saudi Arabia since 2013 (royal decree), Israel, Egypt, Qatar, Kuwait, Oman
#: (2013), Bahrain, Jordan (2000), Algeria (2009), Bangladesh. The UAE moved to Saturday–Sunday
#: on 1 January 2022 (federal government decree), so it is not listed. Cross-checked against
#: python-holidays' `weekend` per country (tests/workflows/test_calendar.py), except Hong Kong,
#: whose statutory rest day is Sunday only but whose offices work Monday to Friday.
WEEKENDS: dict[str, frozenset[int]] = {
    "BD": FRIDAY_SATURDAY,
    "BH": FRIDAY_SATURDAY,
    "DZ": FRIDAY_SATURDAY,
    "EG": FRIDAY_SATURDAY,
    "IL": FRIDAY_SATURDAY,
    "JO": FRIDAY_SATURDAY,
    "KW": FRIDAY_SATURDAY,
    "OM": FRIDAY_SATURDAY,
    "QA": FRIDAY_SATURDAY,
    "SA": FRIDAY_SATURDAY,
}

#: Public holidays per (country, year), filled on first use. Deterministic: the same inputs give
#: the same dates, so sharing it between workflows (and replays) changes no result.
_holiday_cache: dict[tuple[str, int], frozenset[date]] = {}

_DEFAULT_WINDOW = SendWindow()


def time_zone_for(
    contact_time_zone: str | None, country: str | None, sender_time_zone: str | None
) -> str:
    """The zone to use for a contact: its own valid zone, else its country's default zone, else
    the sender's valid zone, else "UTC"."""
    own = (contact_time_zone or "").strip()
    if own and is_time_zone(own):
        return own
    by_country = COUNTRY_TIME_ZONES.get((country or "").strip().upper())
    if by_country is not None:
        return by_country
    sender = (sender_time_zone or "").strip()
    if sender and is_time_zone(sender):
        return sender
    return "UTC"


def weekend_of(country: str | None) -> frozenset[int]:
    """The ISO weekdays `country` rests on (Saturday and Sunday unless `WEEKENDS` says otherwise)."""
    return WEEKENDS.get((country or "").upper(), SATURDAY_SUNDAY)


def public_holidays(country: str | None, year: int) -> frozenset[date]:
    """The national public holidays (observed days included) of `country` in `year`, as
    python-holidays lists them; none for no country or one python-holidays does not know.

    Regional holidays (a German Land, a US state) are not included: a contact has no region.
    """
    if not country:
        return frozenset()
    key = (country.upper(), year)
    found = _holiday_cache.get(key)
    if found is None:
        try:
            # Inside the workflow sandbox: python-holidays imports a country's module on first use
            # (passed through, like every library), and each country object loads its holiday
            # names' translations with gettext, which the sandbox forbids. Both are deterministic
            # — package files, no clock — and only the dates are kept.
            with workflow.unsafe.imports_passed_through(), workflow.unsafe.sandbox_unrestricted():
                found = frozenset(holidays.country_holidays(key[0], years=year))
        except NotImplementedError:  # a country python-holidays does not cover
            found = frozenset()
        _holiday_cache[key] = found
    return found


def is_business_day(day: date, country: str | None) -> bool:
    """Whether `day` is neither a weekend day nor a public holiday in `country`.

    An unknown country (or None) has a Monday-to-Friday week and no holidays.
    """
    if day.isoweekday() in weekend_of(country):
        return False
    return day not in public_holidays(country, day.year)


def closed_reason(day: date, country: str | None) -> str | None:
    """Why `day` is no business day in `country` — the public holiday's name (`Christmas Day`)
    or the weekend day's (`Saturday`) — or None on a business day. For people reading a
    timeline (`nurture simulate`, `nurture preview`); workflows decide with `is_business_day`,
    which this agrees with."""
    if day.isoweekday() in weekend_of(country):
        return day.strftime("%A")
    if day not in public_holidays(country, day.year):
        return None
    assert country is not None  # no country has no holidays
    # Names come with their gettext translations: outside workflows only, like this function.
    with workflow.unsafe.imports_passed_through(), workflow.unsafe.sandbox_unrestricted():
        name = holidays.country_holidays(country.upper(), years=day.year, language="en_US").get(day)
    return str(name) if name else "public holiday"


def next_send_time(
    now: datetime, calendar: ContactCalendar, window: SendWindow | None = None
) -> datetime:
    """The first instant at or after `now` (aware) inside a send window, in UTC.

    `now` itself when it is inside the window on an allowed day, else the start of the next
    allowed window. The window is local wall-clock time in `calendar.time_zone`: a 09:00 start is
    09:00 local on both sides of a DST change. Allowed days are the country's business days,
    narrowed to `window.weekdays` when given. Local times are resolved with fold=0: a start in the
    hour skipped in spring is read with the pre-change offset (02:30 becomes 03:30 new time), a
    start in the repeated autumn hour is its first occurrence; a window that falls wholly in the
    skipped hour is empty that day.

    Raises ValueError for a naive `now`, or when no window opens within `MAX_SEARCH_DAYS` days.
    """
    _require_aware(now)
    window = window or _DEFAULT_WINDOW
    zone = calendar.zone
    today = now.astimezone(zone).date()
    for offset in range(MAX_SEARCH_DAYS):
        day = today + timedelta(days=offset)
        if not _is_send_day(day, calendar.country, window):
            continue
        start = _local_instant(day, window.start, zone)
        if now < start:
            return start.astimezone(UTC)
        if now < _local_instant(day, window.end, zone):
            return now.astimezone(UTC)
    raise ValueError(
        f"no send window opens within {MAX_SEARCH_DAYS} days of {now.isoformat()} "
        f"for {window} in {calendar.country or 'no country'}"
    )


def add_business_days(now: datetime, days: int, calendar: ContactCalendar) -> datetime:
    """The same local wall-clock time as `now`, `days` business days later, in UTC.

    Counting starts the day after `now`'s local date, so Friday + 1 is Monday and Saturday + 1 is
    Monday too; 0 days is `now`. The time of day is resolved with fold=0 (see `next_send_time`),
    and may be outside a send window: apply `next_send_time` to the result.

    Raises ValueError for a naive `now`, negative `days`, or `MAX_SEARCH_DAYS` days in a row
    without a business day.
    """
    _require_aware(now)
    if days < 0:
        raise ValueError(f"days must be zero or more, got {days}")
    if days == 0:
        return now.astimezone(UTC)
    zone = calendar.zone
    local = now.astimezone(zone)
    day = local.date()
    counted = closed_in_a_row = 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day, calendar.country):
            counted += 1
            closed_in_a_row = 0
        else:
            closed_in_a_row += 1
            if closed_in_a_row >= MAX_SEARCH_DAYS:
                raise ValueError(f"no business day within {MAX_SEARCH_DAYS} days of {day}")
    return _local_instant(day, local.time(), zone).astimezone(UTC)


def business_days_before(day: date, days: int, country: str | None) -> date:
    """The business day `days` business days before `day` in `country` (Monday − 1 is Friday;
    a holiday or weekend `day` counts back from there too); 0 days is `day` itself.

    Raises ValueError for negative `days` or `MAX_SEARCH_DAYS` days in a row without a business day.
    """
    if days < 0:
        raise ValueError(f"days must be zero or more, got {days}")
    counted = closed_in_a_row = 0
    while counted < days:
        day -= timedelta(days=1)
        if is_business_day(day, country):
            counted += 1
            closed_in_a_row = 0
        else:
            closed_in_a_row += 1
            if closed_in_a_row >= MAX_SEARCH_DAYS:
                raise ValueError(f"no business day within {MAX_SEARCH_DAYS} days before {day}")
    return day


def _is_send_day(day: date, country: str | None, window: SendWindow) -> bool:
    if window.weekdays is not None and day.isoweekday() not in window.weekdays:
        return False
    return is_business_day(day, country)


def _local_instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """`clock` on `day` in `zone`, the first reading of an ambiguous or skipped time (fold=0)."""
    return datetime.combine(day, clock.replace(fold=0), tzinfo=zone)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")


__all__ = [
    "COUNTRY_TIME_ZONES",
    "FRIDAY_SATURDAY",
    "MAX_SEARCH_DAYS",
    "SATURDAY_SUNDAY",
    "WEEKENDS",
    "add_business_days",
    "business_days_before",
    "closed_reason",
    "is_business_day",
    "next_send_time",
    "public_holidays",
    "time_zone_for",
    "weekend_of",
]
