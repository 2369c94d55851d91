"""Recognises auto-replies (RFC 3834 and vendor headers, out-of-office phrases in English, German,
French, Spanish and Chinese) and reads the date an out-of-office says its owner is back.
Pure functions (`received` stands in for "today"), driven by the tables below."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "AUTO_REPLY_HEADERS",
    "RETURN_DATE_HORIZON",
    "AutoReplyVerdict",
    "Language",
    "detect_auto_reply",
    "find_return_date",
]

#: A return date further out than this is not believed (typos, "until 2027", signatures).
RETURN_DATE_HORIZON = timedelta(days=90)

#: Only this much of a subject or body is read: out-of-office notes are short, quoted originals
#: are not.
BODY_SCAN_CHARS = 20_000

_REASON_MAX_CHARS = 120


class Language(StrEnum):
    EN = "en"
    DE = "de"
    FR = "fr"
    ES = "es"
    ZH = "zh"


class Strength(StrEnum):
    #: An out-of-office formula: enough on its own, in the subject or in the body.
    STRONG = "strong"
    #: Also said by people in a real reply ("I am away next week, but..."): enough in the
    #: subject; in the body only together with a return date ("I am away until 2 December").
    WEAK = "weak"


@dataclass(frozen=True)
class AutoReplyVerdict:
    """Whether a mail was written by a machine on someone's behalf, why, and when they are back."""

    is_auto: bool
    reason: str | None = None
    return_date: date | None = None


# --- header signals -----------------------------------------------------------------------


def _auto_submitted(value: str) -> bool:
    # RFC 3834 §5: any value but "no" (auto-generated, auto-replied, auto-notified, ...);
    # parameters follow a ";". An empty value is malformed and says nothing.
    token = value.split(";", 1)[0].strip().lower()
    return token not in ("", "no")


def _flag(value: str) -> bool:
    # X-Autoreply / X-Autorespond carry "yes" (or anything) when set; honour explicit negatives.
    return value.strip().lower() not in ("", "no", "false", "0", "off")


def _exchange_suppress(value: str) -> bool:
    # Exchange stamps its automatic replies "All" (or "OOF, AutoReply") so that they are not
    # answered in turn; "DR", "RN", "NRN" alone (receipts) are set on ordinary mail too.
    tokens = {token.strip().lower() for token in value.split(",")}
    return bool(tokens & {"all", "oof", "autoreply"})


def _precedence(value: str) -> bool:
    # Only auto_reply means an auto-reply. bulk / junk / list mark mass mail (newsletters,
    # mailing lists): not a human reply either, but not an out-of-office, so not flagged here.
    return value.strip().lower() == "auto_reply"


#: (canonical header name, test of its value), checked in this order; the first match is the reason.
_HEADER_RULES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("Auto-Submitted", _auto_submitted),
    ("X-Autoreply", _flag),
    ("X-Autorespond", _flag),
    ("X-Auto-Response-Suppress", _exchange_suppress),
    ("Precedence", _precedence),
)

#: The headers `detect_auto_reply` reads, by canonical name.
AUTO_REPLY_HEADERS: tuple[str, ...] = tuple(name for name, _ in _HEADER_RULES)


# --- phrases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Phrase:
    language: Language
    strength: Strength
    pattern: re.Pattern[str]


def _phrase(language: Language, strength: Strength, pattern: str) -> _Phrase:
    return _Phrase(language, strength, re.compile(pattern, re.IGNORECASE))


_S, _W = Strength.STRONG, Strength.WEAK
_PHRASES: tuple[_Phrase, ...] = (
    _phrase(Language.EN, _S, r"\bout[\s-]+of[\s-]+(?:the[\s-]+)?office\b"),
    _phrase(Language.EN, _S, r"\bautomatic[\s-]+reply\b"),
    _phrase(Language.EN, _S, r"\bauto[\s-]?repl(?:y|ied)\b"),
    _phrase(Language.EN, _S, r"\blimited[\s-]+access[\s-]+to[\s-]+(?:my[\s-]+)?e-?mails?\b"),
    _phrase(
        Language.EN,
        _W,
        r"\bI(?:['\u2019]m|\s+am|\s+will\s+be|['\u2019]ll\s+be)\s+(?:currently\s+)?away\b",
    ),
    _phrase(Language.EN, _W, r"\bon\s+(?:vacation|holidays?)\b"),
    _phrase(Language.EN, _W, r"\bon\s+(?:annual\s+|parental\s+|sick\s+|maternity\s+)?leave\b"),
    _phrase(Language.DE, _S, r"\bAbwesenheitsnotiz\b"),
    _phrase(Language.DE, _S, r"\bautomatische\s+Antwort\b"),
    _phrase(Language.DE, _S, r"\bnicht\s+im\s+B(?:ü|ue)ro\b"),
    _phrase(Language.DE, _W, r"\bau(?:ß|ss)er\s+Haus\b"),
    _phrase(Language.DE, _W, r"\bim\s+Urlaub\b"),
    _phrase(Language.FR, _S, r"\br[ée]ponse\s+automatique\b"),
    _phrase(Language.FR, _S, r"\babsente?\s+du\s+bureau\b"),
    _phrase(Language.FR, _W, r"\bje\s+suis\s+(?:actuellement\s+)?absente?\b"),
    _phrase(Language.FR, _W, r"\ben\s+(?:cong[ée]s?|vacances)\b"),
    _phrase(Language.ES, _S, r"\brespuesta\s+autom[áa]tica\b"),
    _phrase(Language.ES, _S, r"\bfuera\s+de\s+la\s+oficina\b"),
    _phrase(Language.ES, _W, r"\bde\s+vacaciones\b"),
    _phrase(Language.ES, _W, r"\bausente\b"),
    _phrase(Language.ZH, _S, r"自[动動]回[复覆復]"),
    _phrase(Language.ZH, _S, r"不在[办辦]公室"),
    _phrase(Language.ZH, _W, r"休假"),
    _phrase(Language.ZH, _W, r"外出"),
)


# --- dates --------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januar jänner janvier janv enero ene",
        "february feb februar février fevrier févr fevr febrero",
        "march mar märz maerz mrz mär mars marzo",
        "april apr avril avr abril abr",
        "may mai mayo",
        "june jun juni juin junio",
        "july jul juli juillet juil julio",
        "august aug août aout agosto ago",
        "september sep sept septembre septiembre setiembre",
        "october oct oktober okt octobre octubre",
        "november nov novembre noviembre",
        "december dec dezember dez décembre decembre déc diciembre dic",
    ),
    start=1,
):
    _MONTHS.update(dict.fromkeys(_names.split(), _number))
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))

# Each pattern names its parts: y (year, optional), m (month number) or mon (month name), d (day);
# the slash form has a and b, read by language (see `_slash_month_day`).
_DATE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # ISO 8601 and its relatives: 2026-12-02, 2026/12/02, 2026.12.02
        r"(?<![\d.])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?!\d)",
        # Chinese and Japanese: 2026年12月2日, 12月2日, 12月2号
        r"(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号號]",
        # European dots, day first: 02.12.2026, 2.12.26, 2.12., 2.12
        r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})(?:\.(?P<y>\d{4}|\d{2})(?!\d)|\.|(?![\d.]))",
        # Slashes, order by language: 12/02, 12/02/2026
        r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\d/])",
        # Day before month name: 2 December, 2nd of December, 2. Dezember, 1er décembre,
        # 2 de diciembre de 2026
        rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th|er|\.)?\s*(?:of\s+|de\s+)?(?P<mon>{_MONTH})\b\.?"
        r"(?:,?\s*(?:de\s+)?(?P<y>\d{4})(?!\d))?",
        # Month name before day: December 2nd, December 2, 2026, Dec. 2
        rf"\b(?P<mon>{_MONTH})\b\.?\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s*(?P<y>\d{{4}})(?!\d))?",
    )
)

_EN_WEEKDAY = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
_DE_WEEKDAY = (
    r"(?:(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag),?\s+(?:den\s+)?)?"
)
_FR_WEEKDAY = r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s+)?"
_ES_WEEKDAY = r"(?:(?:lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado|domingo),?\s+)?"

#: Words that make a date a return date: (language, said before the date, said after it).
#: A date without one of them ("from 20 November", a signature, a quoted header) is not read.
_CUES: tuple[tuple[Language, re.Pattern[str] | None, re.Pattern[str] | None], ...] = tuple(
    (
        language,
        re.compile(before + r"$", re.IGNORECASE) if before else None,
        re.compile(after, re.IGNORECASE) if after else None,
    )
    for language, before, after in (
        (
            Language.EN,
            r"\b(?:until|till|til|through|thru|to|after|back(?:\s+in\s+the\s+office)?(?:\s+on)?"
            r"|return(?:s|ing)?(?:\s+on)?)[\s,]+(?:on\s+)?(?:the\s+)?"
            + _EN_WEEKDAY
            + r"(?:the\s+)?",
            None,
        ),
        (
            Language.DE,
            r"\b(?:bis(?:\s+(?:einschlie(?:ß|ss)lich|einschl\.|inkl\.))?(?:\s+(?:zum|am))?"
            r"|zur(?:ü|ue)ck\s+am|wieder\s+am)[\s,]+" + _DE_WEEKDAY,
            r"\s*(?:bin\s+ich\s+|sind\s+wir\s+)?(?:wieder|zur(?:ü|ue)ck)\b",
        ),
        (
            Language.FR,
            r"(?:\bjusqu['\u2019]\s*(?:au|à|a)|\bde\s+retour\s+(?:le|à\s+partir\s+du)|\bretour\s+(?:prévu\s+)?le"
            r"|\breviendrai\s+le|\brentrerai\s+le|\bau)\s+" + _FR_WEEKDAY,
            None,
        ),
        (
            Language.ES,
            r"\b(?:hasta(?:\s+el)?|regres(?:o|ar[ée])\s+el|volver[ée]\s+el|vuelvo\s+el"
            r"|de\s+(?:vuelta|regreso)\s+el|al)\s+" + _ES_WEEKDAY,
            None,
        ),
        (
            Language.ZH,
            r"(?:至|到|直到|截至)\s*",
            r"\s*(?:之后|以后|后)?\s*(?:返回|回来|回到|返岗|上班|恢复|复工)",
        ),
    )
)

_CUE_LOOKBEHIND_CHARS = 60
_CUE_LOOKAHEAD_CHARS = 30


def _cue_language(text: str, start: int, end: int) -> Language | None:
    """The language of the return cue around text[start:end], if there is one."""
    before = text[max(0, start - _CUE_LOOKBEHIND_CHARS) : start]
    after = text[end : end + _CUE_LOOKAHEAD_CHARS]
    for language, cue_before, cue_after in _CUES:
        if cue_before is not None and cue_before.search(before):
            return language
        if cue_after is not None and cue_after.match(after):
            return language
    return None


def _slash_month_day(a: int, b: int, language: Language) -> tuple[int, int]:
    """Month and day of `a/b`. A number above 12 settles it; otherwise German, French and
    Spanish write day/month, English (and anything else) month/day, as in the US."""
    if a > 12:
        return b, a
    if b > 12:
        return a, b
    if language in (Language.DE, Language.FR, Language.ES):
        return b, a
    return a, b


def _year(text: str | None) -> int | None:
    if not text:
        return None
    year = int(text)
    return 2000 + year if year < 100 else year


def _resolve(year: int | None, month: int, day: int, received: date) -> date | None:
    """The date meant; a date without a year is the next one on or after `received`."""
    years = [year] if year is not None else [received.year, received.year + 1]
    for candidate_year in years:
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if year is not None or candidate >= received:
            return candidate
    return None


def _match_date(match: re.Match[str], language: Language, received: date) -> date | None:
    parts = match.groupdict()
    if parts.get("a") is not None:
        month, day = _slash_month_day(int(parts["a"]), int(parts["b"]), language)
    elif parts.get("mon") is not None:
        month = _MONTHS.get(unicodedata.normalize("NFC", parts["mon"].lower()), 0)
        day = int(parts["d"])
    else:
        month, day = int(parts["m"]), int(parts["d"])
    return _resolve(_year(parts.get("y")), month, day, received)


def find_return_date(text: str, *, received: date) -> date | None:
    """The first date in `text` said as a return ("until 2 December", "bis zum 2.12.",
    "12月2日返回") that lies between `received` and `received + RETURN_DATE_HORIZON`."""
    text = _normalise(text)
    matches = sorted(
        (match for pattern in _DATE_PATTERNS for match in pattern.finditer(text)),
        key=lambda match: match.start(),
    )
    try:
        latest = received + RETURN_DATE_HORIZON
    except OverflowError:
        latest = date.max
    for match in matches:
        language = _cue_language(text, match.start(), match.end())
        if language is None:
            continue
        found = _match_date(match, language, received)
        if found is not None and received <= found <= latest:
            return found
    return None


# --- the verdict --------------------------------------------------------------------------


def _normalise(text: str) -> str:
    # NFC so that "Büro" typed with a combining diaeresis matches too.
    return unicodedata.normalize("NFC", text)


def _brief(text: str) -> str:
    return " ".join(text.split())[:_REASON_MAX_CHARS]


def _header_signal(headers: Mapping[str, str]) -> str | None:
    by_lower_name = {str(name).lower(): str(value) for name, value in headers.items()}
    for name, matches in _HEADER_RULES:
        value = by_lower_name.get(name.lower())
        if value is not None and matches(value):
            return f"{name}: {_brief(value)}"
    return None


def _phrase_signal(where: str, text: str, *, weak_counts: bool) -> str | None:
    for phrase in _PHRASES:
        if phrase.strength is Strength.WEAK and not weak_counts:
            continue
        match = phrase.pattern.search(text)
        if match is not None:
            return f"{where}: {_brief(match.group(0))}"
    return None


def detect_auto_reply(
    headers: Mapping[str, str], subject: str, body: str, *, received: date
) -> AutoReplyVerdict:
    """Whether a mail is an auto-reply, judged by its headers first, then its subject, then its
    body (pass the body without the quoted original, so a person quoting our mail is not misread).

    `headers` is looked up case-insensitively. The reason names the first signal that matched:
    "Auto-Submitted: auto-replied", "subject: Out of Office", "body: nicht im Büro". The return
    date is read from subject and body (`find_return_date`), and only for an auto-reply.
    """
    subject = _normalise(subject[:BODY_SCAN_CHARS])
    body = _normalise(body[:BODY_SCAN_CHARS])
    return_date = find_return_date(f"{subject}\n{body}", received=received)
    reason = (
        _header_signal(headers)
        or _phrase_signal("subject", subject, weak_counts=True)
        or _phrase_signal("body", body, weak_counts=return_date is not None)
    )
    if reason is None:
        return AutoReplyVerdict(is_auto=False)
    return AutoReplyVerdict(is_auto=True, reason=reason, return_date=return_date)
