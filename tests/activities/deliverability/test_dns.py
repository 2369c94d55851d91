"""Sending-domain DNS checks against a static zone (and the dnspython adapter against a local
name server): SPF, DKIM, DMARC, MX, blocklists, DNS failures and domain validation."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping, Sequence

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from activities.deliverability.dns import (
    CheckKind,
    CheckResult,
    CheckStatus,
    DnsPythonResolver,
    DomainChecker,
    DomainReport,
    StaticResolver,
    normalize_domain,
    spf_terms,
)
from models.errors import DnsUnavailable, InvalidInput, NoDomain, NoRecords

Zone = dict[tuple[str, str], list[str]]

DOMAIN = "example.com"
WEB_IP = "93.184.215.14"
MX_IP = "64.233.184.26"
DKIM_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwztXzXzq+FAKE+KEY+FOR+TESTS+ONLY"


def healthy_zone() -> Zone:
    """A domain that passes every check: Google Workspace mailboxes, sending through SendGrid."""
    return {
        (DOMAIN, "TXT"): [
            "v=spf1 include:_spf.google.com include:sendgrid.net ~all",
            "google-site-verification=abc123",
        ],
        ("_spf.google.com", "TXT"): ["v=spf1 include:_netblocks.google.com ~all"],
        ("_netblocks.google.com", "TXT"): ["v=spf1 ip4:35.190.247.0/24 ~all"],
        ("sendgrid.net", "TXT"): ["v=spf1 ip4:167.89.0.0/17 ip4:149.72.0.0/16 ~all"],
        ("s1._domainkey.example.com", "CNAME"): ["s1.domainkey.u1234567.wl123.sendgrid.net"],
        ("s2._domainkey.example.com", "CNAME"): ["s2.domainkey.u1234567.wl123.sendgrid.net"],
        ("_dmarc.example.com", "TXT"): ["v=DMARC1; p=reject; rua=mailto:dmarc@example.com"],
        (DOMAIN, "MX"): ["10 aspmx.l.google.com", "20 alt1.aspmx.l.google.com"],
        (DOMAIN, "A"): [WEB_IP],
        ("aspmx.l.google.com", "A"): [MX_IP],
        ("reply.example.com", "MX"): ["10 mx.sendgrid.net"],
    }


@pytest.fixture
def zone() -> Zone:
    return healthy_zone()


def run_checks(
    zone: Zone, *, unavailable: Sequence[str] = (), inbound_domain: str | None = None
) -> DomainReport:
    checker = DomainChecker(StaticResolver(zone, unavailable=unavailable))
    return checker.check_domain(DOMAIN, inbound_domain=inbound_domain)


def result(report: DomainReport, name: str) -> CheckResult:
    matches = [r for r in report.results if r.name == name]
    assert len(matches) == 1, [r.name for r in report.results]
    return matches[0]


def spf(zone: Zone) -> CheckResult:
    return DomainChecker(StaticResolver(zone)).check_spf(DOMAIN)


def dkim(zone: Zone, selector: str = "s1") -> CheckResult:
    return DomainChecker(StaticResolver(zone)).check_dkim(DOMAIN, selector)


def dmarc(zone: Zone, from_domain: str | None = None) -> CheckResult:
    return DomainChecker(StaticResolver(zone)).check_dmarc(DOMAIN, from_domain=from_domain)


def blocklist(zone: Zone, zone_name: str) -> CheckResult:
    results = DomainChecker(StaticResolver(zone)).check_blocklists(DOMAIN)
    return next(r for r in results if r.name == f"DNSBL {zone_name}")


# --- the whole report ---------------------------------------------------------------------------


def test_healthy_domain_passes_every_check(zone: Zone) -> None:
    report = run_checks(zone, inbound_domain="reply.example.com")

    assert report.ok
    assert {r.name: r.status for r in report.results} == {
        "SPF": CheckStatus.PASS,
        "DKIM s1": CheckStatus.PASS,
        "DKIM s2": CheckStatus.PASS,
        "DMARC": CheckStatus.PASS,
        "MX": CheckStatus.PASS,
        "MX (inbound)": CheckStatus.PASS,
        "DNSBL dbl.spamhaus.org": CheckStatus.PASS,
        "DNSBL multi.surbl.org": CheckStatus.PASS,
        "DNSBL zen.spamhaus.org": CheckStatus.PASS,
        "DNSBL bl.spamcop.net": CheckStatus.PASS,
        "DNSBL b.barracudacentral.org": CheckStatus.PASS,
    }
    assert all(r.fix == "" for r in report.results)


def test_report_is_not_ok_when_any_check_fails(zone: Zone) -> None:
    del zone[(DOMAIN, "MX")]

    report = run_checks(zone)

    assert not report.ok
    assert report.with_status(CheckStatus.FAIL) == [result(report, "MX")]
    assert report.model_dump(mode="json")["ok"] is False


def test_warnings_and_errors_leave_the_report_ok(zone: Zone) -> None:
    zone[("_dmarc.example.com", "TXT")] = ["v=DMARC1; p=none; rua=mailto:dmarc@example.com"]

    report = run_checks(zone, unavailable=["s1._domainkey.example.com"])

    assert result(report, "DMARC").status is CheckStatus.WARN
    assert result(report, "DKIM s1").status is CheckStatus.ERROR
    assert report.ok


def test_inbound_mx_is_checked_only_when_an_inbound_domain_is_given(zone: Zone) -> None:
    assert "MX (inbound)" not in {r.name for r in run_checks(zone).results}


# --- SPF ----------------------------------------------------------------------------------------


def test_missing_spf_fails_with_the_record_to_publish(zone: Zone) -> None:
    zone[(DOMAIN, "TXT")] = ["google-site-verification=abc123"]

    check = spf(zone)

    assert check.status is CheckStatus.FAIL
    assert "no SPF record" in check.summary
    assert '"v=spf1 include:sendgrid.net ~all"' in check.fix


def test_spf_on_a_domain_that_does_not_exist_fails(zone: Zone) -> None:
    check = DomainChecker(StaticResolver({})).check_spf("nowhere.example")

    assert check.status is CheckStatus.FAIL
    assert "does not exist" in check.summary


def test_two_spf_records_fail_with_one_merged_record(zone: Zone) -> None:
    zone[(DOMAIN, "TXT")] = [
        "v=spf1 include:_spf.google.com -all",
        "v=spf1 include:sendgrid.net ~all",
    ]

    check = spf(zone)

    assert check.status is CheckStatus.FAIL
    assert "2 SPF records" in check.summary
    assert '"v=spf1 include:_spf.google.com include:sendgrid.net -all"' in check.fix


@pytest.mark.parametrize("ending", ["+all", "all", "?all"])
def test_spf_that_passes_or_ignores_any_server_warns(zone: Zone, ending: str) -> None:
    zone[(DOMAIN, "TXT")] = [f"v=spf1 include:sendgrid.net {ending}"]

    check = spf(zone)

    assert check.status is CheckStatus.WARN
    assert ending in check.summary
    assert '"v=spf1 include:sendgrid.net ~all"' in check.fix


def test_spf_without_an_all_or_redirect_warns(zone: Zone) -> None:
    zone[(DOMAIN, "TXT")] = ["v=spf1 include:sendgrid.net"]

    check = spf(zone)

    assert check.status is CheckStatus.WARN
    assert "no -all or ~all" in check.summary


@pytest.mark.parametrize("ending", ["-all", "~all"])
def test_spf_ending_in_fail_or_softfail_passes(zone: Zone, ending: str) -> None:
    zone[(DOMAIN, "TXT")] = [f"v=spf1 include:sendgrid.net {ending}"]

    assert spf(zone).status is CheckStatus.PASS


def test_spf_without_sendgrid_include_warns_with_the_record_to_publish(zone: Zone) -> None:
    zone[(DOMAIN, "TXT")] = ["v=spf1 include:_spf.google.com -all"]

    check = spf(zone)

    assert check.status is CheckStatus.WARN
    assert "does not include SendGrid" in check.summary
    assert '"v=spf1 include:_spf.google.com include:sendgrid.net -all"' in check.fix


def test_sendgrid_included_through_a_nested_include_counts(zone: Zone) -> None:
    zone[(DOMAIN, "TXT")] = ["v=spf1 include:_spf.example.com ~all"]
    zone[("_spf.example.com", "TXT")] = ["v=spf1 include:sendgrid.net ~all"]

    assert spf(zone).status is CheckStatus.PASS


def test_spf_needing_more_than_ten_lookups_warns(zone: Zone) -> None:
    # 4 includes of records that each cost 2 more lookups (a, mx): 4 + 4 * 2 = 12, plus SendGrid.
    providers = [f"p{i}.example.net" for i in range(4)]
    zone[(DOMAIN, "TXT")] = [
        "v=spf1 " + " ".join(f"include:{p}" for p in providers) + " include:sendgrid.net -all"
    ]
    for provider in providers:
        zone[(provider, "TXT")] = ["v=spf1 a mx -all"]

    check = spf(zone)

    assert check.status is CheckStatus.WARN
    assert "13 DNS lookups" in check.summary
    assert "10 or fewer" in check.fix


def test_spf_with_exactly_ten_lookups_passes(zone: Zone) -> None:
    providers = [f"p{i}.example.net" for i in range(3)]
    zone[(DOMAIN, "TXT")] = [
        "v=spf1 " + " ".join(f"include:{p}" for p in providers) + " include:sendgrid.net -all"
    ]
    for provider in providers:
        zone[(provider, "TXT")] = ["v=spf1 a mx -all"]

    check = spf(zone)

    assert check.status is CheckStatus.PASS
    assert "10/10 lookups" in check.summary


def test_spf_include_walk_is_bounded_on_an_endless_chain(zone: Zone) -> None:
    zone[(DOMAIN, "TXT")] = ["v=spf1 include:sendgrid.net include:c0.example.net -all"]
    for i in range(100):
        zone[(f"c{i}.example.net", "TXT")] = [f"v=spf1 include:c{i + 1}.example.net -all"]
    resolver = StaticResolver(zone)

    check = DomainChecker(resolver).check_spf(DOMAIN)

    assert check.status is CheckStatus.WARN
    assert "at least" in check.summary
    assert len(resolver.queries) == 1 + 30  # the domain's record, then the walk's bound


def test_spf_include_loop_is_reported_and_terminates(zone: Zone) -> None:
    zone[(DOMAIN, "TXT")] = ["v=spf1 include:sendgrid.net include:a.example.net -all"]
    zone[("a.example.net", "TXT")] = ["v=spf1 include:b.example.net -all"]
    zone[("b.example.net", "TXT")] = ["v=spf1 include:a.example.net -all"]

    check = spf(zone)

    assert check.status is CheckStatus.WARN
    assert "loops back" in check.detail + check.summary


def test_spf_include_of_a_name_without_spf_warns(zone: Zone) -> None:
    zone[(DOMAIN, "TXT")] = ["v=spf1 include:sendgrid.net include:gone.example.net -all"]

    check = spf(zone)

    assert check.status is CheckStatus.WARN
    assert "gone.example.net has no SPF record" in check.summary


def test_spf_terms_parse_qualifiers_values_and_modifiers() -> None:
    terms = spf_terms("v=spf1 -ip4:192.0.2.0/24 include:_spf.example.com ~all redirect=x.example")

    assert [(t.qualifier, t.name, t.value, t.is_modifier) for t in terms] == [
        ("-", "ip4", "192.0.2.0", False),
        ("+", "include", "_spf.example.com", False),
        ("~", "all", "", False),
        ("", "redirect", "x.example", True),
    ]


# --- DKIM ---------------------------------------------------------------------------------------


def test_dkim_cname_to_sendgrid_passes(zone: Zone) -> None:
    check = dkim(zone)

    assert check.status is CheckStatus.PASS
    assert "CNAME to SendGrid" in check.summary


def test_dkim_txt_key_passes(zone: Zone) -> None:
    del zone[("s1._domainkey.example.com", "CNAME")]
    zone[("s1._domainkey.example.com", "TXT")] = [f"v=DKIM1; k=rsa; p={DKIM_KEY}"]

    check = dkim(zone)

    assert check.status is CheckStatus.PASS
    assert "DKIM key published" in check.summary


def test_dkim_cname_elsewhere_passes_when_its_target_holds_a_key(zone: Zone) -> None:
    zone[("s1._domainkey.example.com", "CNAME")] = ["s1.keys.other-esp.example"]
    zone[("s1.keys.other-esp.example", "TXT")] = [f"v=DKIM1; p={DKIM_KEY}"]

    assert dkim(zone).status is CheckStatus.PASS


def test_missing_dkim_fails_with_the_cname_to_add(zone: Zone) -> None:
    del zone[("s1._domainkey.example.com", "CNAME")]

    check = dkim(zone)

    assert check.status is CheckStatus.FAIL
    assert "no DKIM key at s1._domainkey.example.com" in check.summary
    assert "s1._domainkey.example.com CNAME s1.domainkey.u" in check.fix


def test_dkim_with_an_empty_key_is_revoked_and_fails(zone: Zone) -> None:
    del zone[("s1._domainkey.example.com", "CNAME")]
    zone[("s1._domainkey.example.com", "TXT")] = ["v=DKIM1; k=rsa; p="]

    check = dkim(zone)

    assert check.status is CheckStatus.FAIL
    assert "revoked" in check.summary


def test_dkim_checks_sendgrid_selectors_by_default_and_only_the_given_ones_otherwise(
    zone: Zone,
) -> None:
    zone[("mail._domainkey.example.com", "TXT")] = [f"v=DKIM1; p={DKIM_KEY}"]

    default = run_checks(zone)
    chosen = DomainChecker(StaticResolver(zone)).check_domain(DOMAIN, dkim_selectors=["Mail"])

    assert [r.name for r in default.results if r.kind is CheckKind.DKIM] == ["DKIM s1", "DKIM s2"]
    assert [r.name for r in chosen.results if r.kind is CheckKind.DKIM] == ["DKIM mail"]
    assert result(chosen, "DKIM mail").status is CheckStatus.PASS


# --- DMARC --------------------------------------------------------------------------------------


def test_dmarc_p_none_warns_and_explains_the_bulk_sender_rules(zone: Zone) -> None:
    zone[("_dmarc.example.com", "TXT")] = ["v=DMARC1; p=none; rua=mailto:dmarc@example.com"]

    check = dmarc(zone)

    assert check.status is CheckStatus.WARN
    assert "monitoring only" in check.summary
    assert "Gmail and Yahoo" in check.detail
    assert "p=quarantine" in check.fix


def test_missing_dmarc_fails_with_the_record_to_publish(zone: Zone) -> None:
    del zone[("_dmarc.example.com", "TXT")]

    check = dmarc(zone)

    assert check.status is CheckStatus.FAIL
    assert "no DMARC record at _dmarc.example.com" in check.summary
    assert 'TXT _dmarc.example.com "v=DMARC1; p=none; rua=mailto:' in check.fix
    assert "Gmail and Yahoo" in check.detail


@pytest.mark.parametrize("policy", ["reject", "quarantine"])
def test_dmarc_enforcing_policy_passes_and_reports_rua(zone: Zone, policy: str) -> None:
    zone[("_dmarc.example.com", "TXT")] = [f"v=DMARC1; p={policy}; rua=mailto:dmarc@example.com"]

    check = dmarc(zone)

    assert check.status is CheckStatus.PASS
    assert f"p={policy}" in check.summary
    assert "aggregate reports (rua): mailto:dmarc@example.com" in check.detail


def test_dmarc_without_rua_warns(zone: Zone) -> None:
    zone[("_dmarc.example.com", "TXT")] = ["v=DMARC1; p=reject"]

    check = dmarc(zone)

    assert check.status is CheckStatus.WARN
    assert "no rua" in check.summary


def test_two_dmarc_records_fail(zone: Zone) -> None:
    zone[("_dmarc.example.com", "TXT")] = ["v=DMARC1; p=reject", "v=DMARC1; p=none"]

    assert dmarc(zone).status is CheckStatus.FAIL


def test_subdomain_from_inherits_the_parent_policy_and_aligns_relaxed(zone: Zone) -> None:
    zone[("_dmarc.example.com", "TXT")] = [
        "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.com"
    ]

    check = dmarc(zone, from_domain="news.example.com")

    assert check.status is CheckStatus.PASS
    assert "p=quarantine" in check.summary
    assert "inherited from _dmarc.example.com" in check.detail


def test_from_domain_unrelated_to_the_signing_domain_fails_alignment(zone: Zone) -> None:
    zone[("_dmarc.brand.example", "TXT")] = ["v=DMARC1; p=reject; rua=mailto:d@brand.example"]

    check = dmarc(zone, from_domain="brand.example")

    assert check.status is CheckStatus.FAIL
    assert "does not align" in check.summary


def test_strict_alignment_rejects_a_subdomain_from(zone: Zone) -> None:
    zone[("_dmarc.example.com", "TXT")] = [
        "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:dmarc@example.com"
    ]

    strict = dmarc(zone, from_domain="news.example.com")
    same = dmarc(zone)

    assert strict.status is CheckStatus.FAIL
    assert "DKIM strict, SPF strict" in strict.detail
    assert same.status is CheckStatus.PASS


def test_strict_dkim_alignment_alone_warns_that_forwarding_breaks_dmarc(zone: Zone) -> None:
    zone[("_dmarc.example.com", "TXT")] = ["v=DMARC1; p=reject; adkim=s; rua=mailto:d@example.com"]

    check = dmarc(zone, from_domain="news.example.com")

    assert check.status is CheckStatus.WARN
    assert "only through SPF" in check.summary


# --- MX -----------------------------------------------------------------------------------------


def test_domain_without_mx_fails(zone: Zone) -> None:
    del zone[(DOMAIN, "MX")]

    check = DomainChecker(StaticResolver(zone)).check_mx(DOMAIN)

    assert check.status is CheckStatus.FAIL
    assert "no MX records" in check.summary
    assert "replies" in check.detail
    assert "example.com MX 10" in check.fix


def test_null_mx_fails(zone: Zone) -> None:
    zone[(DOMAIN, "MX")] = ["0 ."]

    check = DomainChecker(StaticResolver(zone)).check_mx(DOMAIN)

    assert check.status is CheckStatus.FAIL
    assert "null MX" in check.summary


def test_mx_lists_hosts_by_preference(zone: Zone) -> None:
    zone[(DOMAIN, "MX")] = ["20 b.example.net", "10 a.example.net"]

    check = DomainChecker(StaticResolver(zone)).check_mx(DOMAIN)

    assert check.status is CheckStatus.PASS
    assert "10 a.example.net, 20 b.example.net" in check.summary


def test_inbound_domain_not_on_sendgrid_warns_with_the_mx_to_publish(zone: Zone) -> None:
    zone[("reply.example.com", "MX")] = ["10 aspmx.l.google.com"]

    check = DomainChecker(StaticResolver(zone)).check_inbound_mx("reply.example.com")

    assert check.status is CheckStatus.WARN
    assert "aspmx.l.google.com" in check.summary
    assert "reply.example.com MX 10 mx.sendgrid.net" in check.fix


def test_inbound_domain_without_mx_warns(zone: Zone) -> None:
    check = DomainChecker(StaticResolver(zone)).check_inbound_mx("replies.example.org")

    assert check.status is CheckStatus.WARN
    assert "replies cannot arrive" in check.summary


# --- blocklists ---------------------------------------------------------------------------------


def test_domain_listed_on_the_dbl_fails_with_the_delisting_url(zone: Zone) -> None:
    zone[("example.com.dbl.spamhaus.org", "A")] = ["127.0.1.2"]

    check = blocklist(zone, "dbl.spamhaus.org")

    assert check.status is CheckStatus.FAIL
    assert "example.com is listed on dbl.spamhaus.org: spam domain (127.0.1.2)" in check.summary
    assert "https://check.spamhaus.org/" in check.fix
    assert not run_checks(zone).ok


def test_mx_host_ip_listed_on_zen_fails_with_the_decoded_listing(zone: Zone) -> None:
    zone[("26.184.233.64.zen.spamhaus.org", "A")] = ["127.0.0.2", "127.0.0.4"]

    check = blocklist(zone, "zen.spamhaus.org")

    assert check.status is CheckStatus.FAIL
    assert MX_IP in check.summary
    assert "SBL" in check.summary
    assert "XBL" in check.summary
    assert "delisting of 64.233.184.26" in check.fix


def test_refused_blocklist_query_is_an_error_not_a_listing(zone: Zone) -> None:
    zone[("example.com.dbl.spamhaus.org", "A")] = ["127.255.255.254"]
    zone[("14.215.184.93.zen.spamhaus.org", "A")] = ["127.255.255.254"]

    report = run_checks(zone)

    for name in ("DNSBL dbl.spamhaus.org", "DNSBL zen.spamhaus.org"):
        check = result(report, name)
        assert check.status is CheckStatus.ERROR
        assert "refused" in check.summary
        assert "not a listing" in check.summary
        assert "public" in check.summary
    assert report.ok


def test_policy_only_pbl_listing_warns(zone: Zone) -> None:
    zone[("14.215.184.93.zen.spamhaus.org", "A")] = ["127.0.0.11"]

    check = blocklist(zone, "zen.spamhaus.org")

    assert check.status is CheckStatus.WARN
    assert "PBL" in check.summary


def test_surbl_bitmask_is_decoded(zone: Zone) -> None:
    zone[("example.com.multi.surbl.org", "A")] = ["127.0.0.24"]

    check = blocklist(zone, "multi.surbl.org")

    assert check.status is CheckStatus.FAIL
    assert "phishing, malware" in check.summary


def test_blocklist_answer_outside_loopback_is_an_error(zone: Zone) -> None:
    zone[("example.com.dbl.spamhaus.org", "A")] = ["198.18.7.7"]

    check = blocklist(zone, "dbl.spamhaus.org")

    assert check.status is CheckStatus.ERROR
    assert "rewrite NXDOMAIN" in check.summary


def test_blocklist_queries_use_reversed_octets_of_public_addresses_only(zone: Zone) -> None:
    zone[("alt1.aspmx.l.google.com", "A")] = ["10.0.0.5"]
    resolver = StaticResolver(zone)

    DomainChecker(resolver).check_blocklists(DOMAIN)

    zen = {name for name, _ in resolver.queries if name.endswith(".zen.spamhaus.org")}
    assert zen == {"14.215.184.93.zen.spamhaus.org", "26.184.233.64.zen.spamhaus.org"}


# --- DNS failures -------------------------------------------------------------------------------


def test_dns_timeout_is_an_error_with_a_clear_message(zone: Zone) -> None:
    report = run_checks(zone, unavailable=[DOMAIN])

    check = result(report, "SPF")
    assert check.status is CheckStatus.ERROR
    assert check.summary == "DNS lookup failed: TXT example.com: timed out"
    assert "dig TXT example.com" in check.fix
    assert result(report, "MX").status is CheckStatus.ERROR


def test_blocklist_that_does_not_answer_is_an_error(zone: Zone) -> None:
    resolver = StaticResolver(zone, unavailable=["example.com.dbl.spamhaus.org"])

    results = DomainChecker(resolver).check_blocklists(DOMAIN)

    check = next(r for r in results if r.name == "DNSBL dbl.spamhaus.org")
    assert check.status is CheckStatus.ERROR
    assert "could not query dbl.spamhaus.org" in check.summary


# --- input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("not a domain", "not a valid domain name"),
        ("ops@example.com", "email address"),
        ("https://example.com/", "URL"),
        ("192.0.2.1", "IP address"),
        ("localhost", "not a full domain name"),
        ("a..example.com", "not a valid domain name"),
        ("-bad.example.com", "not a valid domain name"),
    ],
)
def test_garbage_domain_is_refused_naming_the_field(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        DomainChecker(StaticResolver({})).check_domain(value)

    assert caught.value.field == "domain"
    assert reason in caught.value.reason


def test_unicode_domain_is_checked_in_its_idna_form() -> None:
    assert normalize_domain(" Bücher.Example. ") == "xn--bcher-kva.example"


def test_bad_selector_and_from_domain_are_refused_naming_the_field(zone: Zone) -> None:
    checker = DomainChecker(StaticResolver(zone))

    with pytest.raises(InvalidInput) as selector:
        checker.check_domain(DOMAIN, dkim_selectors=["s1 s2"])
    with pytest.raises(InvalidInput) as from_domain:
        checker.check_domain(DOMAIN, from_domain="me@")

    assert selector.value.field == "dkim_selector"
    assert from_domain.value.field == "from_domain"


# --- the dnspython resolver, against a name server on 127.0.0.1 ---------------------------------


class LocalNameServer:
    """A UDP name server on 127.0.0.1 answering from a table: NXDOMAIN for unknown names,
    SERVFAIL for `failing` names and silence for `silent` ones."""

    def __init__(
        self,
        records: Mapping[tuple[str, str], Sequence[str]],
        *,
        failing: Sequence[str] = (),
        silent: Sequence[str] = (),
    ) -> None:
        self.records = records
        self.failing, self.silent = set(failing), set(silent)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            rdtype = dns.rdatatype.to_text(question.rdtype)
            if name in self.silent:
                continue
            response = dns.message.make_response(query)
            if name in self.failing:
                response.set_rcode(dns.rcode.SERVFAIL)
            elif (name, rdtype) in self.records:
                response.answer.append(
                    dns.rrset.from_text(
                        question.name, 300, "IN", rdtype, *self.records[name, rdtype]
                    )
                )
            elif not any(known == name for known, _ in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)


@pytest.fixture
def name_server() -> Iterator[LocalNameServer]:
    server = LocalNameServer(
        {
            ("example.com", "TXT"): ['"v=spf1 include:sendgrid.net " "~all"'],
            ("example.com", "MX"): ["10 mx.example.com.", "0 ."],
            ("s1._domainkey.example.com", "CNAME"): ["s1.domainkey.u1.wl1.sendgrid.net."],
            ("example.com", "A"): [WEB_IP],
        },
        failing=["broken.example.com"],
        silent=["slow.example.com"],
    )
    server.thread.start()
    yield server
    server.stopped.set()
    server.thread.join()
    server.sock.close()


def local_resolver(server: LocalNameServer, timeout: float = 2.0) -> DnsPythonResolver:
    return DnsPythonResolver(nameservers=["127.0.0.1"], port=server.port, timeout=timeout)


def test_dnspython_resolver_returns_record_texts(name_server: LocalNameServer) -> None:
    resolver = local_resolver(name_server)

    assert resolver.resolve("example.com", "TXT") == ["v=spf1 include:sendgrid.net ~all"]
    assert sorted(resolver.resolve("example.com", "MX")) == ["0 .", "10 mx.example.com"]
    assert resolver.resolve("s1._domainkey.example.com", "CNAME") == [
        "s1.domainkey.u1.wl1.sendgrid.net"
    ]
    assert resolver.resolve("example.com", "A") == [WEB_IP]


def test_dnspython_resolver_maps_nxdomain_and_no_answer(name_server: LocalNameServer) -> None:
    resolver = local_resolver(name_server)

    with pytest.raises(NoDomain):
        resolver.resolve("missing.example.com", "TXT")
    with pytest.raises(NoRecords):
        resolver.resolve("example.com", "AAAA")


def test_dnspython_resolver_maps_timeout_and_servfail(name_server: LocalNameServer) -> None:
    resolver = local_resolver(name_server, timeout=0.3)

    with pytest.raises(DnsUnavailable, match=r"timed out after 0\.3 s"):
        resolver.resolve("slow.example.com", "TXT")
    with pytest.raises(DnsUnavailable, match="SERVFAIL"):
        resolver.resolve("broken.example.com", "TXT")
