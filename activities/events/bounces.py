"""Bounce classification: hard (suppress the recipient), soft (try again later) or block (the
sender's problem), from SendGrid's event type, bounce `type`, SMTP codes and `bounce_classification`.

Precedence, first match wins:
 1. event `deferred` → SOFT (SendGrid is still retrying).
 2. bounce `type=blocked` → BLOCK (SendGrid's own verdict: the message or sender was refused).
 3. The enhanced status code (RFC 3463): `status` if it parses, else the first in `reason`; a
    generic X.0.0 gives way to a specific code found in `reason`. Codes match exactly, never by
    prefix (5.1.10 is not 5.1.1, 5.2.21 is not 5.2.2):
    5.1.1, 5.1.2, 5.1.10, 5.2.1 → HARD; 5.2.2 (mailbox full) → SOFT; 5.7.1, 5.7.26 → BLOCK;
    any 4.x.x → SOFT. With no enhanced code, a leading 4xx reply code in `reason` → SOFT.
 4. `bounce_classification`: Invalid Address, Mailbox Unavailable → HARD; Technical → SOFT;
    Content, Reputation → BLOCK; Frequency or Volume Too High → BLOCK (the receiver throttles
    the sender's volume: the address is fine, the sender must slow down); Unclassified or
    unknown → no verdict.
 5. Any other 5.7.x (security / policy: SPF, DKIM, PTR, spam filters) → BLOCK.
 6. `type=bounce` → HARD: SendGrid itself lists the address as bounced, so an unknown 5.x.x (or
    no code at all) under it is treated as the address failing.
 7. Otherwise → SOFT: without evidence the address is dead, do not suppress it for good.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NamedTuple

from models.events import BounceClass


class EnhancedCode(NamedTuple):
    """An RFC 3463 enhanced status code: class.subject.detail, e.g. 5.1.1."""

    klass: int
    subject: int
    detail: int

    def __str__(self) -> str:
        return f"{self.klass}.{self.subject}.{self.detail}"

    @property
    def is_generic(self) -> bool:
        return self.subject == 0 and self.detail == 0


class BounceClassification(StrEnum):
    """SendGrid's `bounce_classification` values (compared case- and space-insensitively)."""

    INVALID_ADDRESS = "Invalid Address"
    MAILBOX_UNAVAILABLE = "Mailbox Unavailable"
    TECHNICAL = "Technical"
    CONTENT = "Content"
    REPUTATION = "Reputation"
    FREQUENCY_OR_VOLUME = "Frequency or Volume Too High"
    UNCLASSIFIED = "Unclassified"


_CODE_CLASSES: dict[EnhancedCode, BounceClass] = {
    EnhancedCode(5, 1, 1): BounceClass.HARD,  # bad destination mailbox address
    EnhancedCode(5, 1, 2): BounceClass.HARD,  # bad destination system (domain)
    EnhancedCode(5, 1, 10): BounceClass.HARD,  # recipient address has null MX (RFC 7505)
    EnhancedCode(5, 2, 1): BounceClass.HARD,  # mailbox disabled
    EnhancedCode(5, 2, 2): BounceClass.SOFT,  # mailbox full
    EnhancedCode(5, 7, 1): BounceClass.BLOCK,  # delivery not authorised: policy, spam
    EnhancedCode(5, 7, 26): BounceClass.BLOCK,  # multiple authentication checks failed (DMARC)
}

_CLASSIFICATIONS: dict[str, BounceClass | None] = {
    BounceClassification.INVALID_ADDRESS: BounceClass.HARD,
    BounceClassification.MAILBOX_UNAVAILABLE: BounceClass.HARD,
    BounceClassification.TECHNICAL: BounceClass.SOFT,
    BounceClassification.CONTENT: BounceClass.BLOCK,
    BounceClassification.REPUTATION: BounceClass.BLOCK,
    BounceClassification.FREQUENCY_OR_VOLUME: BounceClass.BLOCK,
    BounceClassification.UNCLASSIFIED: None,
}
_CLASSIFICATION_KEYS = {
    " ".join(name.lower().split()): cls for name, cls in _CLASSIFICATIONS.items()
}

# class.subject.detail, not part of a longer dotted number (an IP address, a version).
_CODE_IN_TEXT = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_CODE_ALONE = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})\s*")
_REPLY_CODE = re.compile(r"\s*([245])\d\d(?![\d.])")
# Free text beyond this is never scanned: bounded work for any input.
_MAX_SCAN = 2000


def classify_bounce(
    *,
    event_type: str,
    bounce_type: str | None,
    status: str | None,
    reason: str | None,
    bounce_classification: str | None,
) -> BounceClass:
    """The bounce class of a SendGrid `bounce` or `deferred` event (precedence: module doc)."""
    if event_type.strip().lower() == "deferred":
        return BounceClass.SOFT
    kind = (bounce_type or "").strip().lower()
    if kind == "blocked":
        return BounceClass.BLOCK
    code = enhanced_code(status, reason)
    if code is not None:
        if code in _CODE_CLASSES:
            return _CODE_CLASSES[code]
        if code.klass == 4:
            return BounceClass.SOFT
    elif _reply_code_class(reason) == 4:
        return BounceClass.SOFT
    by_classification = _classification(bounce_classification)
    if by_classification is not None:
        return by_classification
    if code is not None and code.klass == 5 and code.subject == 7:
        return BounceClass.BLOCK
    if kind == "bounce":
        return BounceClass.HARD
    return BounceClass.SOFT


def enhanced_code(status: str | None, reason: str | None) -> EnhancedCode | None:
    """The enhanced status code of a bounce: `status` if it is one, else the first in `reason`;
    a generic X.0.0 gives way to a specific code in `reason`."""
    found: list[EnhancedCode] = []
    if status:
        match = _CODE_ALONE.fullmatch(status[:_MAX_SCAN])
        if match:
            found.append(_code(match))
    if reason:
        found.extend(_code(m) for m in _CODE_IN_TEXT.finditer(reason[:_MAX_SCAN]))
    specific = [code for code in found if not code.is_generic]
    if specific:
        return specific[0]
    return found[0] if found else None


def _code(match: re.Match[str]) -> EnhancedCode:
    return EnhancedCode(int(match[1]), int(match[2]), int(match[3]))


def _reply_code_class(reason: str | None) -> int | None:
    if not reason:
        return None
    match = _REPLY_CODE.match(reason[:_MAX_SCAN])
    return int(match[1]) if match else None


def _classification(value: str | None) -> BounceClass | None:
    if not value:
        return None
    return _CLASSIFICATION_KEYS.get(" ".join(value[:100].lower().split()))


__all__ = [
    "BounceClassification",
    "EnhancedCode",
    "classify_bounce",
    "enhanced_code",
]
