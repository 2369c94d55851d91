"""Auto-reply detection: every header rule, phrase and date format, each with a case that must
match and one that must not; and no input makes it raise."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.events.autoreply import AutoReplyVerdict, detect_auto_reply, find_return_date

RECEIVED = date(2026, 11, 23)  # a Monday
DEC_2 = date(2026, 12, 2)


def verdict(
    headers: dict[str, str] | None = None, subject: str = "", body: str = ""
) -> AutoReplyVerdict:
    return detect_auto_reply(headers or {}, subject, body, received=RECEIVED)


# --- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Auto-Submitted", "auto-replied"),
        ("Auto-Submitted", "auto-generated"),
        ("Auto-Submitted", "Auto-Replied; owner-email=a@b.example"),
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Vacation"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-Auto-Response-Suppress", "OOF, AutoReply"),
        ("Precedence", "auto_reply"),
    ],
)
def test_auto_reply_header_marks_an_auto_reply(name: str, value: str) -> None:
    result = verdict({name: value}, "Re: Samples for your Q1 range", "Thanks, noted.")
    assert result == AutoReplyVerdict(is_auto=True, reason=f"{name}: {value}")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Auto-Submitted", "no"),
        ("Auto-Submitted", " No ; comment"),
        ("Auto-Submitted", ""),
        ("X-Autoreply", "no"),
        ("X-Autorespond", "false"),
        ("X-Auto-Response-Suppress", "DR, RN, NRN"),
        ("Precedence", "bulk"),
        ("Precedence", "list"),
        ("Precedence", "junk"),
        ("X-Mailer", "Microsoft Outlook 16.0 Autoreply"),
    ],
)
def test_header_that_does_not_say_auto_reply_is_not_one(name: str, value: str) -> None:
    assert verdict({name: value}, "Re: Samples for your Q1 range", "Thanks, noted.") == (
        AutoReplyVerdict(is_auto=False)
    )


def test_header_names_are_looked_up_case_insensitively() -> None:
    assert verdict({"auto-SUBMITTED": "auto-replied"}).reason == "Auto-Submitted: auto-replied"


def test_header_signal_is_reported_before_subject_and_body() -> None:
    result = verdict({"Precedence": "auto_reply"}, "Out of Office", "I am out of the office.")
    assert result.reason == "Precedence: auto_reply"


# --- phrases ------------------------------------------------------------------------------

# (text that is an out-of-office formula, the reason's matched text, a near miss)
STRONG_PHRASES = [
    ("Out of Office: Samples", "Out of Office", "Office supplies are out"),
    ("I am out of the office", "out of the office", "we work out of an office in Ningbo"),
    ("Out-of-office reply", "Out-of-office", "out of officers"),
    ("Automatic reply: Samples", "Automatic reply", "an automatic replacement part"),
    ("Auto-Reply: Samples", "Auto-Reply", "auto replacement"),
    ("AutoReply", "AutoReply", "autorepair"),
    ("with limited access to email", "limited access to email", "limited access to the factory"),
    ("Abwesenheitsnotiz: Muster", "Abwesenheitsnotiz", "Abwesenheit der Mängel"),
    ("Automatische Antwort: Muster", "Automatische Antwort", "automatische Fertigung"),
    ("ich bin nicht im Büro", "nicht im Büro", "ich bin im Büro"),
    ("ich bin nicht im Buero", "nicht im Buero", "Bürozeiten 9-17"),
    ("Réponse automatique : Échantillons", "Réponse automatique", "réponse rapide"),
    ("je suis absente du bureau", "absente du bureau", "le bureau est fermé"),
    ("Respuesta automática: Muestras", "Respuesta automática", "respuesta rápida"),
    ("estoy fuera de la oficina", "fuera de la oficina", "la oficina de Ningbo"),
    ("自动回复: 样品", "自动回复", "回复: 样品"),
    ("自動回覆: 樣品", "自動回覆", "回覆: 樣品"),
    ("我不在办公室", "不在办公室", "我在办公室"),
]


@pytest.mark.parametrize(("text", "matched", "near_miss"), STRONG_PHRASES)
def test_out_of_office_formula_in_subject_marks_an_auto_reply(
    text: str, matched: str, near_miss: str
) -> None:
    assert verdict(subject=text) == AutoReplyVerdict(True, f"subject: {matched}")
    assert verdict(subject=near_miss) == AutoReplyVerdict(False)


@pytest.mark.parametrize(("text", "matched", "near_miss"), STRONG_PHRASES)
def test_out_of_office_formula_in_body_marks_an_auto_reply(
    text: str, matched: str, near_miss: str
) -> None:
    assert verdict(body=f"Hello,\n{text}.\nRegards") == AutoReplyVerdict(True, f"body: {matched}")
    assert verdict(body=f"Hello,\n{near_miss}.\nRegards") == AutoReplyVerdict(False)


# (phrase people also write in real replies, the reason's matched text, the same with a return date)
WEAK_PHRASES = [
    ("I am away next week", "I am away", "I am away until 2 December"),
    ("I'm currently away", "I'm currently away", "I'm currently away until 2 December"),
    ("I’ll be away", "I’ll be away", "I’ll be away until December 2nd"),
    ("We are on vacation", "on vacation", "on vacation until 2 December"),
    ("on holiday", "on holiday", "on holiday until 2 December"),
    ("I am on leave", "on leave", "I am on annual leave until 2 December"),
    ("Ich bin außer Haus", "außer Haus", "Ich bin bis zum 2. Dezember außer Haus"),
    ("Ich bin im Urlaub", "im Urlaub", "Ich bin bis 02.12.2026 im Urlaub"),
    ("je suis absent", "je suis absent", "je suis absent jusqu'au 2 décembre"),
    ("je suis en congé", "en congé", "je suis en congé jusqu’au 2 décembre"),
    ("Estoy de vacaciones", "de vacaciones", "Estoy de vacaciones hasta el 2 de diciembre"),
    ("Estoy ausente", "ausente", "Estoy ausente hasta el 2 de diciembre"),
    ("我在休假", "休假", "我在休假，12月2日返回"),
    ("我外出了", "外出", "我外出至12月2日"),
]


@pytest.mark.parametrize(("text", "matched", "with_date"), WEAK_PHRASES)
def test_away_phrase_in_subject_marks_an_auto_reply(
    text: str, matched: str, with_date: str
) -> None:
    assert verdict(subject=text) == AutoReplyVerdict(True, f"subject: {matched}")


@pytest.mark.parametrize(("text", "matched", "with_date"), WEAK_PHRASES)
def test_away_phrase_in_body_counts_only_with_a_return_date(
    text: str, matched: str, with_date: str
) -> None:
    assert verdict(body=f"Thanks for the offer. {text}, let's talk later.") == (
        AutoReplyVerdict(False)
    )
    result = verdict(body=f"{with_date}.")
    assert result.is_auto
    assert result.reason is not None
    assert result.reason.startswith("body: ")
    assert result.return_date == DEC_2


def test_phrase_written_with_combining_characters_matches() -> None:
    assert verdict(body="nicht im Bu\u0308ro").reason == "body: nicht im Büro"


def test_human_reply_is_not_an_auto_reply() -> None:
    body = "Hi Li,\n\nyes please, send the samples to our Hamburg warehouse.\n\nBest, Anna"
    assert verdict({"X-Mailer": "Apple Mail"}, "Re: Samples", body) == AutoReplyVerdict(False)


def test_return_date_is_only_given_for_an_auto_reply() -> None:
    assert verdict(body="Let's talk when I'm back on 2 December.") == AutoReplyVerdict(False)


# --- return dates -------------------------------------------------------------------------

# (text with a return date, the same date said without a return cue or out of range)
DATE_FORMATS = [
    ("back on 2 December", "booked on 2 December"),
    ("returning December 2nd", "shipped December 2nd"),
    ("back in the office on Monday, December 7th", "meeting on Monday, December 7th"),
    ("until 2nd of December", "invoice of 2nd of December"),
    ("until Dec. 2", "sent Dec. 2"),
    ("until December 2, 2026", "until December 2, 2025"),
    ("through 2026-12-02", "order 2026-12-02"),
    ("until 2026/12/02", "until 2027/12/02"),
    ("until 02.12.2026", "from 02.12.2026"),
    ("bis 2.12.", "vom 2.12."),
    ("bis zum 2. Dezember", "seit dem 2. Dezember"),
    ("bis Mittwoch, den 2.12.26", "am Mittwoch, den 2.12.26"),
    ("Ab dem 2. Dezember bin ich wieder erreichbar", "Ab dem 2. Dezember bin ich erreichbar"),
    ("jusqu'au 2 décembre", "depuis le 2 décembre"),
    ("de retour le 2 déc.", "commande du 2 déc."),
    ("hasta el 2 de diciembre", "desde el 2 de diciembre"),
    ("hasta el miércoles 2 de diciembre de 2026", "pedido del 2 de diciembre de 2026"),
    ("12月2日返回", "12月2日发货"),
    ("我将于2026年12月2日返回", "我于2026年12月2日发货"),
    ("休假至12月2日", "休假自12月2日"),
]


@pytest.mark.parametrize(("said", "not_said"), DATE_FORMATS)
def test_return_date_is_read_in_each_format(said: str, not_said: str) -> None:
    expected = date(2026, 12, 7) if "7th" in said else DEC_2
    assert find_return_date(f"I am away. {said}. Regards", received=RECEIVED) == expected
    assert find_return_date(f"I am away. {not_said}. Regards", received=RECEIVED) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("until 12/02", DEC_2),  # English: month/day
        ("until 12/02/2026", DEC_2),
        ("bis 12/02", date(2027, 2, 12)),  # German, French, Spanish: day/month
        ("jusqu'au 12/02", date(2027, 2, 12)),
        ("hasta el 12/02", date(2027, 2, 12)),
        ("until 25/12", date(2026, 12, 25)),  # a number above 12 settles the order
        ("bis 12/25", date(2026, 12, 25)),
    ],
)
def test_slash_dates_are_month_first_in_english_and_day_first_otherwise(
    text: str, expected: date
) -> None:
    assert find_return_date(text, received=RECEIVED) == expected


def test_year_less_date_is_the_next_one_on_or_after_the_day_received() -> None:
    assert find_return_date("until 23 November", received=RECEIVED) == RECEIVED
    assert find_return_date("until 5 January", received=RECEIVED) == date(2027, 1, 5)
    # 22 November has passed: next year's is more than 90 days away
    assert find_return_date("until 22 November", received=RECEIVED) is None


def test_return_date_in_the_past_is_ignored() -> None:
    assert find_return_date("until 20.11.2026", received=RECEIVED) is None


def test_return_date_more_than_90_days_out_is_ignored() -> None:
    assert find_return_date("until 21 February 2027", received=RECEIVED) == date(2027, 2, 21)
    assert find_return_date("until 22 February 2027", received=RECEIVED) is None


def test_impossible_date_is_ignored_and_the_next_cued_one_is_read() -> None:
    text = "until 31 November, I mean until 1 December"
    assert find_return_date(text, received=RECEIVED) == date(2026, 12, 1)


def test_first_cued_date_in_range_wins() -> None:
    text = "I am away from 20 November to 2 December, back on 3 December."
    assert find_return_date(text, received=RECEIVED) == DEC_2


def test_return_date_in_subject_is_read() -> None:
    result = verdict(subject="Out of office until 2 December", body="Regards")
    assert result == AutoReplyVerdict(True, "subject: Out of office", DEC_2)


# --- robustness ---------------------------------------------------------------------------

_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=300)
_HINTS = st.sampled_from(
    ["until ", "bis zum ", "jusqu'au ", "hasta el ", "12月", "2日返回", "2026-", "02.12.", "12/02",
     " December ", "out of office", "I am away", "\u0308", "\udcff", "\x00", "\n"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    headers=st.dictionaries(_ANY_TEXT, _ANY_TEXT, max_size=5),
    subject=_ANY_TEXT,
    body=st.lists(st.one_of(_HINTS, _ANY_TEXT), max_size=12).map("".join),
    received=st.dates(),
)
def test_detect_auto_reply_never_raises(
    headers: dict[str, str], subject: str, body: str, received: date
) -> None:
    result = detect_auto_reply(headers, subject, body, received=received)
    assert result.is_auto == (result.reason is not None)
    if result.return_date is not None:
        assert received <= result.return_date
