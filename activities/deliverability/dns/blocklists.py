"""The blocklist (DNSBL) checks: the domain on the domain lists, its and its MX hosts' addresses
on the IP lists; what each list's answers mean, and which answers are refusals, not listings."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from activities.deliverability.dns.mx import MxChecks
from activities.deliverability.dns.names import normalize_domain
from activities.deliverability.dns.results import CheckKind, CheckResult, CheckStatus, _Findings
from models.errors import DnsUnavailable, NoDomain, NoRecords

#: Blocklists are asked about at most this many addresses (the domain's and its MX hosts').
_DNSBL_MAX_IPS = 10


class Blocklist(NamedTuple):
    zone: str
    lists_ips: bool  # IP list (reversed octets) or domain list
    delisting: str
    codes: Mapping[str, str]  # answer → meaning; unknown 127.x answers still mean "listed"


_SPAMHAUS_DELISTING = "https://check.spamhaus.org/"
_SPAMHAUS_REFUSED = {
    "127.255.255.252": "typing error in the blocklist name",
    "127.255.255.254": "query through a public or open resolver (e.g. 8.8.8.8, 1.1.1.1)",
    "127.255.255.255": "excessive number of queries",
}
#: Spamhaus PBL: end-user and dynamic ranges that should not send straight to MX. Not a verdict on
#: behaviour, and irrelevant when mail leaves through SendGrid: a warning, not a failure.
_POLICY_ONLY_CODES = frozenset({"127.0.0.10", "127.0.0.11"})

BLOCKLISTS: tuple[Blocklist, ...] = (
    Blocklist(
        "dbl.spamhaus.org",
        False,
        _SPAMHAUS_DELISTING,
        {
            "127.0.1.2": "spam domain",
            "127.0.1.4": "phishing domain",
            "127.0.1.5": "malware domain",
            "127.0.1.6": "botnet C&C domain",
            "127.0.1.102": "abused legitimate spam domain",
            "127.0.1.103": "abused spammed redirector domain",
            "127.0.1.104": "abused legitimate phishing domain",
            "127.0.1.105": "abused legitimate malware domain",
            "127.0.1.106": "abused legitimate botnet C&C domain",
        },
    ),
    Blocklist(
        "multi.surbl.org",
        False,
        "https://surbl.org/surbl-analysis",
        {},  # a bit mask, decoded by _meaning
    ),
    Blocklist(
        "zen.spamhaus.org",
        True,
        _SPAMHAUS_DELISTING,
        {
            "127.0.0.2": "SBL: known spam source",
            "127.0.0.3": "SBL CSS: snowshoe spam or compromised host",
            "127.0.0.4": "XBL: exploited host (malware, open proxy)",
            "127.0.0.5": "XBL: exploited host",
            "127.0.0.6": "XBL: exploited host",
            "127.0.0.7": "XBL: exploited host",
            "127.0.0.9": "SBL DROP: hijacked or criminal netblock",
            "127.0.0.10": "PBL (ISP policy): end-user range that should not send direct mail",
            "127.0.0.11": "PBL (Spamhaus policy): address that should not send direct mail",
        },
    ),
    Blocklist("bl.spamcop.net", True, "https://www.spamcop.net/bl.shtml", {"127.0.0.2": "listed"}),
    Blocklist(
        "b.barracudacentral.org",
        True,
        "https://www.barracudacentral.org/rbl/removal-request",
        {"127.0.0.2": "listed"},
    ),
)

_SURBL_BITS = {8: "phishing", 16: "malware", 64: "abuse/spam", 128: "cracked site"}


def _meaning(blocklist: Blocklist, answer: str) -> str:
    """What a listing answer means: the list's code table, or SURBL's bit mask."""
    if blocklist.zone == "multi.surbl.org":
        last = answer.rsplit(".", 1)[1]
        bits = int(last) if last.isdigit() else 0
        return ", ".join(name for bit, name in _SURBL_BITS.items() if bits & bit) or "listed"
    return blocklist.codes.get(answer, "listed")


def _refusal(blocklist: Blocklist, answer: str) -> str | None:
    """Why the list operator refused the query, when `answer` is a refusal and not a listing."""
    if answer.startswith("127.255.255."):
        return _SPAMHAUS_REFUSED.get(answer, f"the operator refused the query ({answer})")
    if blocklist.zone == "dbl.spamhaus.org" and answer == "127.0.1.255":
        return "IP queries are not allowed on the DBL"
    if blocklist.zone == "multi.surbl.org" and answer == "127.0.0.1":
        return "SURBL blocks queries from public resolvers and heavy users"
    return None


class BlocklistChecks(MxChecks):
    """`DomainChecker`'s blocklist checks; on `MxChecks`, since the MX hosts' addresses are
    checked too."""

    def check_blocklists(self, domain: str) -> list[CheckResult]:
        """The domain on the domain lists; the addresses of its A records and MX hosts on the
        IP lists. A listing fails; a refused or failed query is an error, not a listing."""
        domain = normalize_domain(domain)
        ips, unresolved = self._sending_ips(domain)
        results = [
            self._blocklist(blocklist, [domain])
            for blocklist in BLOCKLISTS
            if not blocklist.lists_ips
        ]
        if ips:
            results += [
                self._blocklist(blocklist, ips) for blocklist in BLOCKLISTS if blocklist.lists_ips
            ]
        elif unresolved:
            results.append(
                CheckResult(
                    kind=CheckKind.DNSBL,
                    name="DNSBL (IPs)",
                    status=CheckStatus.ERROR,
                    summary="could not find the domain's addresses to check them",
                    detail="\n".join(unresolved),
                    fix="Retry; if it persists, check this machine's DNS resolver.",
                )
            )
        return results

    def _sending_ips(self, domain: str) -> tuple[list[str], list[str]]:
        """Public IPv4 addresses of the domain and its MX hosts (bounded), and lookups that failed."""
        names = [domain]
        unresolved: list[str] = []
        try:
            names += [host for _, host in self._mx_hosts(domain) if host]
        except NoDomain:
            pass
        except DnsUnavailable as exc:
            unresolved.append(str(exc))
        ips: list[str] = []
        for name in dict.fromkeys(names):
            try:
                texts = self.resolver.resolve(name, "A")
            except (NoDomain, NoRecords):
                continue
            except DnsUnavailable as exc:
                unresolved.append(str(exc))
                continue
            for text in texts:
                try:
                    address = ipaddress.IPv4Address(text.strip())
                except ValueError:
                    continue
                if address.is_global and str(address) not in ips:
                    ips.append(str(address))
        return ips[:_DNSBL_MAX_IPS], unresolved

    def _blocklist(self, blocklist: Blocklist, subjects: Sequence[str]) -> CheckResult:
        findings = _Findings()
        for subject in subjects:
            if blocklist.lists_ips:
                query = ".".join(reversed(subject.split("."))) + "." + blocklist.zone
            else:
                query = f"{subject}.{blocklist.zone}"
            try:
                answers = self.resolver.resolve(query, "A")
            except (NoDomain, NoRecords):
                continue  # not listed
            except DnsUnavailable as exc:
                findings.add(
                    CheckStatus.ERROR,
                    f"could not query {blocklist.zone}: {exc}",
                    f"Retry from a network whose resolver {blocklist.zone} answers, or look "
                    f"{subject} up at {blocklist.delisting}.",
                )
                continue
            codes = sorted({a.strip() for a in answers})
            refusals = [r for r in (_refusal(blocklist, code) for code in codes) if r]
            if refusals:
                findings.add(
                    CheckStatus.ERROR,
                    f"{blocklist.zone} refused the query for {subject}: {refusals[0]} — "
                    "not a listing",
                    f"Run the check through your own recursive resolver, not a public one, or "
                    f"look {subject} up at {blocklist.delisting}.",
                )
                continue
            if not all(code.startswith("127.") for code in codes):
                findings.add(
                    CheckStatus.ERROR,
                    f"{blocklist.zone} answered {', '.join(codes)} for {subject}, not a blocklist "
                    "code: the resolver may rewrite NXDOMAIN answers",
                    "Use a resolver that returns NXDOMAIN unchanged.",
                )
                continue
            meanings = "; ".join(f"{_meaning(blocklist, code)} ({code})" for code in codes)
            listed = f"{subject} is listed on {blocklist.zone}: {meanings}"
            if blocklist.zone == "zen.spamhaus.org" and set(codes) <= _POLICY_ONLY_CODES:
                findings.add(
                    CheckStatus.WARN,
                    listed,
                    "A policy listing, not a spam verdict: harmless for mail sent through "
                    f"SendGrid. If {subject} sends mail itself, see {blocklist.delisting}.",
                )
                continue
            findings.add(
                CheckStatus.FAIL,
                listed,
                f"Find and stop the cause (compromised site or mailbox, bought lists, open "
                f"sign-up forms), then request delisting of {subject} at {blocklist.delisting}.",
            )
        return findings.result(
            CheckKind.DNSBL,
            f"DNSBL {blocklist.zone}",
            passed=f"not listed: {', '.join(subjects)}",
            detail=[f"checked: {', '.join(subjects)}"],
        )


__all__ = ["BLOCKLISTS", "Blocklist", "BlocklistChecks"]
