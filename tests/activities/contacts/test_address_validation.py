"""Address validation at import: normalisation, syntax, disposable domains, role accounts and the
MX check (through a fake resolver: no network)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.resolver
import pytest

from activities.contacts.address_validation import is_disposable_domain, role_key, validate_address


@dataclass(frozen=True)
class MxRecord:
    preference: int
    exchange: str


class FakeResolver(dns.resolver.Resolver):
    """Answers MX queries from a table; records every query."""

    def __init__(self, answers: dict[str, list[MxRecord] | type[Exception]]) -> None:
        super().__init__(configure=False)
        self.answers = answers
        self.queries: list[tuple[str, str]] = []

    def resolve(self, qname: Any, rdtype: Any = "A", *args: Any, **kwargs: Any) -> Any:
        self.queries.append((str(qname), str(rdtype)))
        answer = self.answers.get(str(qname), dns.resolver.NXDOMAIN)
        if isinstance(answer, type):
            raise answer()
        if rdtype != "MX":
            raise dns.resolver.NoAnswer()
        return answer


# --- syntax and normalisation ------------------------------------------------------------------


def test_the_domain_is_lower_cased_and_the_local_part_kept() -> None:
    verdict = validate_address("  Anna.Schmidt@Hansa-Import.DE ")
    assert verdict.ok
    assert verdict.normalized == "Anna.Schmidt@hansa-import.de"
    assert verdict.key == "anna.schmidt@hansa-import.de"
    assert verdict.reasons == []


def test_an_idn_domain_normalises_the_same_from_unicode_and_punycode() -> None:
    assert validate_address("info@Bücher.DE").key == validate_address("info@xn--bcher-kva.de").key


@pytest.mark.parametrize("email", ["anna..schmidt@hansa.de", "anna@hansa", "anna schmidt@hansa.de"])
def test_a_syntax_error_is_rejected_with_the_validators_message(email: str) -> None:
    verdict = validate_address(email)
    assert not verdict.ok
    assert verdict.normalized is None
    assert len(verdict.reasons) == 1
    assert verdict.reasons[0]


# --- disposable domains ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["anna@mailinator.com", "anna@YOPmail.com", "anna@eu.guerrillamail.com"]
)
def test_a_disposable_domain_or_its_subdomain_is_rejected(email: str) -> None:
    verdict = validate_address(email)
    assert not verdict.ok
    assert verdict.disposable
    assert "disposable" in verdict.reasons[0]


@pytest.mark.parametrize(
    "domain", ["notmailinator.com", "mailinator.com.hansa.de", "hansa-import.de", "qq.com"]
)
def test_a_domain_that_only_resembles_a_disposable_one_passes(domain: str) -> None:
    assert not is_disposable_domain(domain)
    verdict = validate_address(f"anna@{domain}")
    assert verdict.ok
    assert not verdict.disposable


# --- role accounts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "local", ["info", "Sales", "sales2", "customer.service", "Contact-Us", "kefu", "xiaoshou"]
)
def test_a_role_account_is_flagged_but_kept(local: str) -> None:
    verdict = validate_address(f"{local}@hansa-import.de")
    assert verdict.ok
    assert verdict.role_account
    assert "role account" in verdict.reasons[0]


@pytest.mark.parametrize(
    "local", ["purchasing", "procurement", "import", "sourcing", "buyer", "caigou", "anna.schmidt"]
)
def test_buyer_and_personal_addresses_are_not_role_accounts(local: str) -> None:
    verdict = validate_address(f"{local}@hansa-import.de")
    assert verdict.ok
    assert not verdict.role_account
    assert verdict.reasons == []


@pytest.mark.parametrize(
    "local", ["noreply", "no-reply", "No_Reply", "do-not-reply", "noreply+orders", "mailer-daemon"]
)
def test_a_no_reply_address_is_rejected(local: str) -> None:
    verdict = validate_address(f"{local}@hansa-import.de")
    assert not verdict.ok
    assert verdict.role_account
    assert "no-reply" in verdict.reasons[0]


@pytest.mark.parametrize("local", ["abuse", "Postmaster"])
def test_a_complaint_desk_is_rejected(local: str) -> None:
    verdict = validate_address(f"{local}@hansa-import.de")
    assert not verdict.ok
    assert "complaint desk" in verdict.reasons[0]


def test_role_key_ignores_case_separators_tags_and_trailing_digits() -> None:
    assert role_key("No.Reply+x") == "noreply"
    assert role_key("SALES_01") == "sales"


# --- MX check ----------------------------------------------------------------------------------


def test_a_domain_with_mx_records_passes_the_mx_check() -> None:
    resolver = FakeResolver({"hansa-import.de": [MxRecord(10, "mx.hansa-import.de.")]})
    verdict = validate_address("anna@hansa-import.de", check_mx=True, resolver=resolver)
    assert verdict.ok
    assert verdict.reasons == []
    assert resolver.queries == [("hansa-import.de", "MX")]


def test_a_domain_that_does_not_exist_fails_the_mx_check() -> None:
    resolver = FakeResolver({})
    verdict = validate_address("anna@hansa-imprt.de", check_mx=True, resolver=resolver)
    assert not verdict.ok
    assert verdict.normalized == "anna@hansa-imprt.de"
    assert "does not exist" in verdict.reasons[0]


def test_a_null_mx_domain_fails_the_mx_check() -> None:
    resolver = FakeResolver({"hansa-import.de": [MxRecord(0, ".")]})
    verdict = validate_address("anna@hansa-import.de", check_mx=True, resolver=resolver)
    assert not verdict.ok
    assert "does not accept email" in verdict.reasons[0]


def test_a_dns_timeout_keeps_the_address_and_says_so() -> None:
    resolver = FakeResolver({"hansa-import.de": dns.exception.Timeout})
    verdict = validate_address("anna@hansa-import.de", check_mx=True, resolver=resolver)
    assert verdict.ok
    assert "inconclusive" in verdict.reasons[0]


def test_the_mx_check_queries_the_idna_form_of_the_domain() -> None:
    resolver = FakeResolver({"xn--bcher-kva.de": [MxRecord(10, "mx.xn--bcher-kva.de.")]})
    assert validate_address("info@bücher.de", check_mx=True, resolver=resolver).ok
    assert resolver.queries == [("xn--bcher-kva.de", "MX")]


def test_no_dns_query_without_check_mx_or_for_a_rejected_address() -> None:
    resolver = FakeResolver({})
    assert validate_address("anna@hansa-imprt.de", resolver=resolver).ok
    assert not validate_address("anna@mailinator.com", check_mx=True, resolver=resolver).ok
    assert not validate_address("noreply@hansa.de", check_mx=True, resolver=resolver).ok
    assert resolver.queries == []
