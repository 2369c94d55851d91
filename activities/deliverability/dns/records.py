"""DNS record texts the checks share: what SendGrid expects to find, SPF terms, and the `k=v;`
tag lists of DKIM and DMARC records."""

from __future__ import annotations

import re
from typing import NamedTuple

SENDGRID_DOMAIN = "sendgrid.net"
SENDGRID_SPF_INCLUDE = "include:sendgrid.net"
SENDGRID_DKIM_SELECTORS = ("s1", "s2")
SENDGRID_INBOUND_MX = "mx.sendgrid.net"


class SpfTerm(NamedTuple):
    """A mechanism (`include:x`, `-all`) or a modifier (`redirect=x`) of an SPF record."""

    qualifier: str  # "+", "-", "~", "?" for mechanisms; "" for modifiers
    name: str  # lower-cased mechanism or modifier name
    value: str  # the domain or range after ":" or "=", "" if none
    text: str  # the term as written
    is_modifier: bool


_SPF_MODIFIER = re.compile(r"^([a-z][a-z0-9_.-]*)=(.*)$", re.IGNORECASE)
_SPF_MECHANISM = re.compile(r"^([+?~-]?)([a-z0-9]+)(?::([^/]*))?(/.*)?$", re.IGNORECASE)
_SPF_MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})


def is_spf(text: str) -> bool:
    lowered = text.strip().lower()
    return lowered == "v=spf1" or lowered.startswith("v=spf1 ")


def spf_terms(record: str) -> list[SpfTerm]:
    """The terms of an SPF record after `v=spf1`; unparsable terms are kept with name ""."""
    terms = []
    for text in record.split()[1:]:
        modifier = _SPF_MODIFIER.match(text)
        if modifier:
            terms.append(SpfTerm("", modifier[1].lower(), modifier[2], text, True))
            continue
        mechanism = _SPF_MECHANISM.match(text)
        if mechanism and mechanism[2].lower() in _SPF_MECHANISMS:
            qualifier = mechanism[1] or "+"
            terms.append(SpfTerm(qualifier, mechanism[2].lower(), mechanism[3] or "", text, False))
        else:
            terms.append(SpfTerm("", "", "", text, False))
    return terms


def tag_list(record: str) -> dict[str, str]:
    """`k=v; k=v` tags (DKIM, DMARC) with lower-cased keys; a repeated tag keeps its first value."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), re.sub(r"\s+", "", value))
    return tags


__all__ = [
    "SENDGRID_DKIM_SELECTORS",
    "SENDGRID_DOMAIN",
    "SENDGRID_INBOUND_MX",
    "SENDGRID_SPF_INCLUDE",
    "SpfTerm",
    "is_spf",
    "spf_terms",
    "tag_list",
]
