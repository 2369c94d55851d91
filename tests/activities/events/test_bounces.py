"""Bounce classification: SMTP codes, SendGrid's bounce type and classification, and precedence."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from activities.events.bounces import (
    BounceClassification,
    EnhancedCode,
    classify_bounce,
    enhanced_code,
)
from models.events import BounceClass

HARD, SOFT, BLOCK = BounceClass.HARD, BounceClass.SOFT, BounceClass.BLOCK


class Case(NamedTuple):
    expected: BounceClass
    bounce_type: str | None = "bounce"
    status: str | None = None
    reason: str | None = None
    classification: str | None = None
    event_type: str = "bounce"


def classify(case: Case) -> BounceClass:
    return classify_bounce(
        event_type=case.event_type,
        bounce_type=case.bounce_type,
        status=case.status,
        reason=case.reason,
        bounce_classification=case.classification,
    )


CODE_CASES = {
    # Enhanced code in `status`, as SendGrid sends it.
    "5.1.1-user-unknown": Case(HARD, status="5.1.1"),
    "5.1.2-bad-domain": Case(HARD, status="5.1.2"),
    "5.1.10-null-mx": Case(HARD, status="5.1.10"),
    "5.2.1-mailbox-disabled": Case(HARD, status="5.2.1"),
    "5.2.2-mailbox-full": Case(SOFT, status="5.2.2"),
    "4.2.2-mailbox-full-temporarily": Case(SOFT, status="4.2.2"),
    "4.7.0-greylisted": Case(SOFT, status="4.7.0"),
    "4.4.7-expired": Case(SOFT, status="4.4.7"),
    "4.0.0-generic": Case(SOFT, status="4.0.0"),
    "5.7.1-policy": Case(BLOCK, status="5.7.1"),
    "5.7.26-dmarc": Case(BLOCK, status="5.7.26"),
    # The same codes found in `reason` text when `status` is absent.
    "reason-5.1.1-gmail": Case(
        HARD,
        reason="550 5.1.1 The email account that you tried to reach does not exist. Please try "
        "double-checking the recipient's email address for typos or unnecessary spaces.",
    ),
    "reason-5.1.10-outlook": Case(
        HARD,
        reason="550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
    ),
    "reason-5.2.2-over-quota": Case(
        SOFT, reason="552 5.2.2 The email account that you tried to reach is over quota."
    ),
    "reason-5.2.1-disabled": Case(
        HARD, reason="550 5.2.1 The email account that you tried to reach is disabled."
    ),
    "reason-5.7.26-dmarc": Case(
        BLOCK,
        reason="550 5.7.26 This message does not have authentication information or fails to pass "
        "authentication checks (SPF or DKIM).",
    ),
    "reason-5.7.1-spam": Case(
        BLOCK,
        reason="550 5.7.1 Our system has detected that this message is likely unsolicited mail.",
    ),
    "reason-4.7.28-rate": Case(SOFT, reason="421 4.7.28 Unusual rate of unsolicited mail"),
    "reason-code-ends-sentence": Case(HARD, reason="Recipient rejected: 5.1.1."),
    # A generic status gives way to the specific code in the reason (SendGrid's own examples
    # send status 5.0.0).
    "generic-status-specific-reason": Case(
        SOFT, status="5.0.0", reason="552 5.2.2 Mailbox full", classification="Invalid Address"
    ),
    "specific-status-wins-over-reason": Case(
        HARD, status="5.1.1", reason="550 5.7.1 rejected by policy"
    ),
    # Basic reply code with no enhanced code at all.
    "reply-code-421-only": Case(SOFT, reason="421 Service not available, try again later"),
    "reply-code-450-only": Case(SOFT, reason="450 Requested mail action not taken"),
}

NOT_PREFIX_CASES = {
    # Exact matching, never prefix: these are NOT the listed codes they start like.
    "5.2.21-is-not-5.2.2": Case(HARD, status="5.2.21"),
    "5.2.20-in-reason-is-not-5.2.2": Case(HARD, reason="550 5.2.20 unknown"),
    "5.1.100-is-not-5.1.10": Case(SOFT, bounce_type=None, status="5.1.100"),
    "5.1.1-inside-an-ip-address": Case(SOFT, bounce_type=None, reason="550 from 10.5.1.1 refused"),
    "version-number-is-not-a-code": Case(
        SOFT, bounce_type=None, reason="550 server 4.2.2.1 says no"
    ),
}

TYPE_CASES = {
    "blocked": Case(BLOCK, bounce_type="blocked"),
    "blocked-beats-a-hard-code": Case(BLOCK, bounce_type="blocked", status="5.1.1"),
    "blocked-beats-a-soft-code": Case(BLOCK, bounce_type="blocked", status="4.2.2"),
    "blocked-any-case": Case(BLOCK, bounce_type=" Blocked "),
    "deferred-is-soft": Case(SOFT, event_type="deferred", bounce_type=None),
    "deferred-even-with-a-hard-looking-reason": Case(
        SOFT, event_type="deferred", bounce_type=None, reason="550 5.1.1 user unknown"
    ),
}

CLASSIFICATION_CASES = {
    "invalid-address": Case(HARD, classification="Invalid Address"),
    "mailbox-unavailable": Case(HARD, classification="Mailbox Unavailable"),
    "technical": Case(SOFT, classification="Technical"),
    "content": Case(BLOCK, classification="Content"),
    "reputation": Case(BLOCK, classification="Reputation"),
    "frequency-or-volume": Case(BLOCK, classification="Frequency or Volume Too High"),
    "case-and-spaces-ignored": Case(SOFT, classification="  technical "),
    # Classifications decide when the code is absent or unknown...
    "unknown-5xx-technical": Case(SOFT, status="5.0.0", classification="Technical"),
    "unknown-5xx-content": Case(BLOCK, status="5.3.4", classification="Content"),
    "unknown-5.7.x-invalid-address": Case(HARD, status="5.7.0", classification="Invalid Address"),
    "reply-code-5xx-reputation": Case(BLOCK, reason="554 rejected", classification="Reputation"),
    # ...but not against a listed code.
    "listed-code-beats-classification": Case(HARD, status="5.1.1", classification="Reputation"),
    "soft-code-beats-classification": Case(SOFT, status="4.4.1", classification="Invalid Address"),
    # Unclassified (or a value SendGrid may add later) falls through to the next rule.
    "unclassified-type-bounce": Case(HARD, classification="Unclassified"),
    "unclassified-no-type": Case(SOFT, bounce_type=None, classification="Unclassified"),
    "unknown-classification": Case(SOFT, bounce_type=None, classification="Something New"),
}

FALLBACK_CASES = {
    "other-5.7.x-is-block": Case(BLOCK, status="5.7.23"),
    "other-5.7.x-in-reason-is-block": Case(BLOCK, reason="550 5.7.25 PTR record missing"),
    "unknown-5xx-type-bounce-is-hard": Case(HARD, status="5.4.4"),
    "generic-5.0.0-type-bounce-is-hard": Case(HARD, status="5.0.0", reason="500 unknown recipient"),
    "no-code-type-bounce-is-hard": Case(HARD, reason="mailbox unavailable"),
    "unknown-5xx-no-type-is-soft": Case(SOFT, bounce_type=None, status="5.4.4"),
    "unknown-5xx-unknown-type-is-soft": Case(SOFT, bounce_type="expired", status="5.4.4"),
    "nothing-at-all-is-soft": Case(SOFT, bounce_type=None),
    "empty-strings-are-nothing": Case(
        SOFT, bounce_type="", status="", reason="", classification=""
    ),
}


def _table(*tables: dict[str, Case]) -> list[object]:
    return [pytest.param(case, id=name) for table in tables for name, case in table.items()]


@pytest.mark.parametrize("case", _table(CODE_CASES))
def test_enhanced_status_code_decides_the_class(case: Case) -> None:
    assert classify(case) == case.expected


@pytest.mark.parametrize("case", _table(NOT_PREFIX_CASES))
def test_codes_match_exactly_never_by_prefix(case: Case) -> None:
    assert classify(case) == case.expected


@pytest.mark.parametrize("case", _table(TYPE_CASES))
def test_sendgrid_type_blocked_and_deferred_events_decide_first(case: Case) -> None:
    assert classify(case) == case.expected


@pytest.mark.parametrize("case", _table(CLASSIFICATION_CASES))
def test_bounce_classification_decides_when_the_code_does_not(case: Case) -> None:
    assert classify(case) == case.expected


@pytest.mark.parametrize("case", _table(FALLBACK_CASES))
def test_fallbacks_suppress_only_on_sendgrids_own_bounce_verdict(case: Case) -> None:
    assert classify(case) == case.expected


def test_every_sendgrid_classification_has_a_documented_verdict() -> None:
    verdicts = {
        name: classify(Case(SOFT, bounce_type=None, classification=name))
        for name in BounceClassification
    }
    assert verdicts == {
        BounceClassification.INVALID_ADDRESS: HARD,
        BounceClassification.MAILBOX_UNAVAILABLE: HARD,
        BounceClassification.TECHNICAL: SOFT,
        BounceClassification.CONTENT: BLOCK,
        BounceClassification.REPUTATION: BLOCK,
        BounceClassification.FREQUENCY_OR_VOLUME: BLOCK,
        BounceClassification.UNCLASSIFIED: SOFT,  # no verdict: falls through to the default
    }


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        ("5.1.10", None, EnhancedCode(5, 1, 10)),
        (" 5.1.1 ", None, EnhancedCode(5, 1, 1)),
        (None, "550 5.1.10 RESOLVER.ADR.RecipientNotFound", EnhancedCode(5, 1, 10)),
        ("5.0.0", "550 5.1.1 user unknown", EnhancedCode(5, 1, 1)),
        ("5.0.0", "500 unknown recipient", EnhancedCode(5, 0, 0)),
        ("550", "user unknown", None),
        ("bounce", None, None),
        (None, "relay 192.168.5.1.1 refused", None),
        (None, None, None),
    ],
)
def test_enhanced_code_is_read_from_status_then_reason(
    status: str | None, reason: str | None, expected: EnhancedCode | None
) -> None:
    assert enhanced_code(status, reason) == expected


def test_enhanced_code_prints_as_dotted_triple() -> None:
    assert str(EnhancedCode(5, 1, 10)) == "5.1.10"


def test_huge_reason_is_classified_in_bounded_time() -> None:
    reason = "x" * 1_000_000 + " 5.1.1"
    # Beyond the scanned prefix: the code is not seen, SendGrid's type decides.
    assert classify(Case(SOFT, bounce_type=None, reason=reason)) == SOFT
    assert classify(Case(SOFT, bounce_type=None, reason="5.1.1 " + reason)) == HARD
