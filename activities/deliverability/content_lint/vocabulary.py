"""The lint's vocabularies: spam phrases, trade terms, trade acronyms, impersonal greetings and
link shorteners, and the patterns compiled from them."""

from __future__ import annotations

import re
from collections.abc import Iterable

# --- vocabularies ------------------------------------------------------------------------------

#: Trigger phrases, English (matched as whole words, case-insensitively; a space also matches a
#: hyphen or a line break) and Chinese (matched anywhere).
SPAM_PHRASES: tuple[str, ...] = (
    # English
    "100% free",
    "free",
    "free gift",
    "act now",
    "limited time",
    "click here",
    "buy now",
    "order now",
    "call now",
    "apply now",
    "risk free",
    "guarantee",
    "guaranteed",
    "winner",
    "congratulations",
    "cash",
    "no obligation",
    "no cost",
    "urgent",
    "best price",
    "lowest price",
    "cheapest",
    "hot sale",
    "big sale",
    "special promotion",
    "once in a lifetime",
    "don't miss",
    "what are you waiting for",
    "earn money",
    "make money",
    "extra income",
    "double your",
    "100% satisfied",
    "prize",
    "incredible deal",
    # Chinese
    "最低价",
    "免费",
    "点击这里",
    "限时",
    "赚钱",
    "保证",
    "优惠",
    "震撼",
    "紧急",
    "立即购买",
    "特价",
    "秒杀",
    "清仓",
    "中奖",
)

#: Ordinary export-trade language that contains a trigger word: removed before matching.
TRADE_TERMS: tuple[str, ...] = (
    "free on board",
    "free carrier",
    "free alongside ship",
    "duty free",
    "tax free",
    "cash against documents",
    "cash in advance",
    "bank guarantee",
    "letter of guarantee",
    "performance guarantee",
    "质量保证",
)

#: Capitalised words of six letters or more that are names, not shouting.
TRADE_ACRONYMS = frozenset(
    {
        "ISO",
        "OEM",
        "ODM",
        "FOB",
        "CIF",
        "CFR",
        "EXW",
        "DDP",
        "DAP",
        "FCA",
        "MOQ",
        "RFQ",
        "INCOTERMS",
        "REACH",
        "ROHS",
        "BSCI",
        "SEDEX",
        "HACCP",
        "GOTS",
        "OEKO",
        "ASTM",
        "ANSI",
        "IATF",
    }
)

IMPERSONAL_GREETINGS: tuple[str, ...] = (
    r"dear\s+sirs?\s*(?:/|or|and|&)\s*madams?",
    r"dear\s+madams?\s*(?:/|or|and|&)\s*sirs?",
    r"dear\s+sirs?\b",
    r"dear\s+madam\b",
    r"to\s+whom\s+it\s+may\s+concern",
    r"dear\s+(?:valued\s+)?(?:customer|friend|client|buyer)s?\b",
    r"dear\s+(?:purchasing|purchase|procurement|sales)\s+manager\b",
    r"尊敬的(?:先生|女士)\s*[/／、或和]?\s*(?:先生|女士)?",
    r"尊敬的客户",
    r"亲爱的朋友",
)

#: URL shorteners: they hide the destination and share their domain's reputation with spammers.
LINK_SHORTENERS: tuple[str, ...] = (
    "bit.ly",
    "tinyurl.com",
    "goo.gl",
    "t.co",
    "ow.ly",
    "is.gd",
    "v.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "rb.gy",
    "tiny.cc",
    "shorturl.at",
    "lnkd.in",
    "t.cn",
    "dwz.cn",
    "url.cn",
    "suo.im",
)

# --- compiled patterns -------------------------------------------------------------------------

_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")


def _phrase_pattern(phrase: str) -> str:
    if _CJK_CHAR.search(phrase):
        return re.escape(phrase)
    words = [re.escape(w).replace("'", "['’]") for w in phrase.split()]
    return r"(?<![\w%])" + r"[\s-]+".join(words) + r"(?!\w)"


def _alternation(phrases: Iterable[str]) -> re.Pattern[str]:
    # Longest first, so "100% free" is taken whole rather than as "free".
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile("|".join(_phrase_pattern(p) for p in ordered), re.IGNORECASE)


_SPAM = _alternation(SPAM_PHRASES)
_TRADE = _alternation(TRADE_TERMS)
_GREETING = re.compile("|".join(IMPERSONAL_GREETINGS), re.IGNORECASE)
_SHORTENER = re.compile(
    r"(?<![\w.-])(?:[\w-]+\.)*("
    + "|".join(re.escape(d) for d in sorted(LINK_SHORTENERS, key=len, reverse=True))
    + r")(?![\w-])(?!\.\w)",
    re.IGNORECASE,
)


__all__ = [
    "IMPERSONAL_GREETINGS",
    "LINK_SHORTENERS",
    "SPAM_PHRASES",
    "TRADE_ACRONYMS",
    "TRADE_TERMS",
]
