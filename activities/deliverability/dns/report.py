"""Sending-domain DNS checks (SPF, DKIM, DMARC, MX, blocklists), each with the fix to publish.
Every lookup goes through a `Resolver`: dnspython in production, a `StaticResolver` in tests."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, Protocol

import dns.exception
import dns.rdata
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.TXT
import dns.resolver
import idna
from pydantic import BaseModel, ConfigDict, computed_field

from models.errors import DnsUnavailable, InvalidInput, NoDomain, NoRecords

SENDGRID_DOMAIN = "sendgrid.net"
SENDGRID_SPF_INCLUDE = "include:sendgrid.net"
SENDGRID_DKIM_SELECTORS = ("s1", "s2")
SENDGRID_INBOUND_MX = "mx.sendgrid.net"
#: RFC 7208 §4.6.4: receivers stop (permerror) after 10 DNS-querying terms.
SPF_LOOKUP_LIMIT = 10
#: Bound of the SPF include walk, so a hostile or endless chain cannot keep us querying.
_SPF_MAX_RECORD_LOOKUPS = 30
#: Blocklists are asked about at most this many addresses (the domain's and its MX hosts').
_DNSBL_MAX_IPS = 10


# --- the resolver -------------------------------------------------------------------------------


class Resolver(Protocol):
    """Answers one DNS question as record texts, or raises `NoDomain`, `NoRecords` or
    `DnsUnavailable`. TXT: a record's strings joined; CNAME: the target; MX: "preference
    exchange"; A: the address. Names come without the trailing dot."""

    def resolve(self, name: str, rdtype: str) -> list[str]: ...


class DnsPythonResolver:
    """The real `Resolver`: dnspython over this machine's name servers (or `nameservers` on
    `port`), giving up on a question after `timeout` seconds."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        nameservers: Sequence[str] | None = None,
        port: int = 53,
    ) -> None:
        self.timeout = timeout
        self.nameservers = list(nameservers) if nameservers else None
        self.port = port
        self._resolver: dns.resolver.Resolver | None = None

    def resolve(self, name: str, rdtype: str) -> list[str]:
        resolver = self._dnspython(name, rdtype)
        try:
            answer = resolver.resolve(name, rdtype, search=False)
        except dns.resolver.NXDOMAIN as exc:
            raise NoDomain(name, rdtype) from exc
        except dns.resolver.NoAnswer as exc:
            raise NoRecords(name, rdtype) from exc
        except dns.exception.Timeout as exc:
            raise DnsUnavailable(name, rdtype, f"timed out after {self.timeout:g} s") from exc
        except dns.resolver.NoNameservers as exc:
            raise DnsUnavailable(
                name, rdtype, "no name server would answer (SERVFAIL or REFUSED)"
            ) from exc
        except (dns.exception.DNSException, OSError) as exc:
            raise DnsUnavailable(name, rdtype, str(exc) or type(exc).__name__) from exc
        return [_rdata_text(rdata) for rdata in answer]

    def _dnspython(self, name: str, rdtype: str) -> dns.resolver.Resolver:
        if self._resolver is None:
            try:
                resolver = dns.resolver.Resolver(configure=self.nameservers is None)
            except dns.resolver.NoResolverConfiguration as exc:
                raise DnsUnavailable(
                    name, rdtype, "this machine has no DNS resolver set up"
                ) from exc
            if self.nameservers:
                resolver.nameservers = self.nameservers
            resolver.port = self.port
            resolver.lifetime = self.timeout
            self._resolver = resolver
        return self._resolver


def _rdata_text(rdata: dns.rdata.Rdata) -> str:
    if isinstance(rdata, dns.rdtypes.ANY.TXT.TXT):
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if isinstance(rdata, dns.rdtypes.ANY.MX.MX):
        return f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True)}"
    if isinstance(rdata, dns.rdtypes.ANY.CNAME.CNAME):
        return rdata.target.to_text(omit_final_dot=True)
    return rdata.to_text()


class StaticResolver:
    """A `Resolver` answering from a table of (name, rdtype) → record texts, for tests and dry
    runs. Names in `unavailable` time out; a name absent from the table does not exist."""

    def __init__(
        self,
        records: Mapping[tuple[str, str], Sequence[str]],
        *,
        unavailable: Iterable[str] = (),
    ) -> None:
        self.records = {(_bare(n), t.upper()): list(v) for (n, t), v in records.items()}
        self.unavailable = {_bare(n) for n in unavailable}
        #: Every question asked, in order.
        self.queries: list[tuple[str, str]] = []

    def resolve(self, name: str, rdtype: str) -> list[str]:
        key = (_bare(name), rdtype.upper())
        self.queries.append(key)
        if key[0] in self.unavailable:
            raise DnsUnavailable(name, rdtype, "timed out")
        if self.records.get(key):
            return list(self.records[key])
        if any(known == key[0] for known, _ in self.records):
            raise NoRecords(name, rdtype)
        raise NoDomain(name, rdtype)


# --- results ------------------------------------------------------------------------------------


class CheckStatus(StrEnum):
    PASS = "pass"
    WARN = "warn"
    #: The check could not be made (DNS failed, a blocklist refused the query): nothing is known.
    ERROR = "error"
    FAIL = "fail"


_SEVERITY = {CheckStatus.PASS: 0, CheckStatus.WARN: 1, CheckStatus.ERROR: 2, CheckStatus.FAIL: 3}


class CheckKind(StrEnum):
    SPF = "spf"
    DKIM = "dkim"
    DMARC = "dmarc"
    MX = "mx"
    INBOUND_MX = "inbound_mx"
    DNSBL = "dnsbl"


class CheckResult(BaseModel):
    """One check's verdict. `fix` says what to publish or do when the status is not pass."""

    model_config = ConfigDict(frozen=True)

    kind: CheckKind
    name: str
    status: CheckStatus
    summary: str
    detail: str = ""
    fix: str = ""


class DomainReport(BaseModel):
    """Every check of one sending domain. `ok` means no check failed (errors and warnings allowed)."""

    domain: str
    from_domain: str
    inbound_domain: str | None = None
    results: list[CheckResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not any(r.status is CheckStatus.FAIL for r in self.results)

    def with_status(self, status: CheckStatus) -> list[CheckResult]:
        return [r for r in self.results if r.status is status]


@dataclass
class _Findings:
    """Problems one check found; the worst decides the status and the summary."""

    problems: list[tuple[CheckStatus, str, str]] = field(default_factory=list)

    def add(self, status: CheckStatus, problem: str, fix: str = "") -> None:
        self.problems.append((status, problem, fix))

    def result(
        self, kind: CheckKind, name: str, *, passed: str, detail: Sequence[str] = ()
    ) -> CheckResult:
        if not self.problems:
            return CheckResult(
                kind=kind,
                name=name,
                status=CheckStatus.PASS,
                summary=passed,
                detail="\n".join(detail),
            )
        ordered = sorted(self.problems, key=lambda p: -_SEVERITY[p[0]])
        status, summary, _ = ordered[0]
        if len(ordered) > 1:
            summary += f" (+{len(ordered) - 1} more)"
        lines = [*detail, *(f"also {s}: {problem}" for s, problem, _ in ordered[1:])]
        fixes = list(dict.fromkeys(fix for _, _, fix in ordered if fix))
        return CheckResult(
            kind=kind,
            name=name,
            status=status,
            summary=summary,
            detail="\n".join(lines),
            fix="\n".join(fixes),
        )


# --- names --------------------------------------------------------------------------------------


def _bare(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _is_within(name: str, parent: str) -> bool:
    """`name` is `parent` or a name under it."""
    return name == parent or name.endswith("." + parent)


_SELECTOR = re.compile(
    r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


def normalize_domain(value: str, *, field: str = "domain") -> str:
    """`value` as a lower-case ASCII domain name (IDNA, UTS #46); `InvalidInput` naming `field`
    and the reason when it is not one."""
    text = value.strip().rstrip(".")
    if not text:
        raise InvalidInput(field, "is empty; give a domain name such as example.com")
    if "@" in text:
        raise InvalidInput(
            field, f"{value!r} is an email address; give its domain ({text.rsplit('@', 1)[1]})"
        )
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        raise InvalidInput(field, f"{value!r} is an IP address, not a domain name")
    if "/" in text or ":" in text:
        raise InvalidInput(field, f"{value!r} is a URL or has a port; give only the host name")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidInput(field, f"{value!r} is not a valid domain name: {exc}") from exc
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidInput(field, f"{value!r} is not a full domain name (e.g. example.com)")
    if labels[-1].isdigit():
        raise InvalidInput(field, f"{value!r} has a numeric top-level label")
    if len(ascii_name) > 253:
        raise InvalidInput(field, f"{value!r} is longer than 253 characters")
    return ascii_name


def normalize_selector(value: str) -> str:
    """A DKIM selector (one or more labels, underscores allowed), lower-cased."""
    selector = value.strip().rstrip(".").lower()
    if not _SELECTOR.match(selector):
        raise InvalidInput("dkim_selector", f"{value!r} is not a DKIM selector (e.g. s1)")
    return selector


# --- record parsing -----------------------------------------------------------------------------


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
#: RFC 7208 §4.6.4: the terms that cost a DNS lookup.
_SPF_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})


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


def _suggested_spf(terms: Sequence[SpfTerm]) -> str:
    """The record with SendGrid's include and a `-all` or `~all` ending (or its redirect=)."""
    kept = list(dict.fromkeys(t.text for t in terms if t.name not in ("", "all", "redirect")))
    if SENDGRID_SPF_INCLUDE not in (t.lower() for t in kept):
        kept.append(SENDGRID_SPF_INCLUDE)
    all_terms = [t for t in terms if t.name == "all"]
    redirects = [t.text for t in terms if t.name == "redirect"]
    if redirects and not all_terms:
        ending = redirects[0]
    else:
        ending = "-all" if any(t.qualifier == "-" for t in all_terms) else "~all"
    return " ".join(["v=spf1", *kept, ending])


# --- the checks ---------------------------------------------------------------------------------


@dataclass
class _SpfWalk:
    lookups: int = 0
    record_lookups: int = 0
    targets: set[str] = field(default_factory=set)
    broken: list[str] = field(default_factory=list)
    truncated: bool = False


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


class DomainChecker:
    """Checks a sending domain's DNS through `resolver`. Each check returns a `CheckResult`;
    a DNS failure makes that check's status `error`, never an exception."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    def check_domain(
        self,
        domain: str,
        *,
        dkim_selectors: Sequence[str] = (),
        from_domain: str | None = None,
        inbound_domain: str | None = None,
    ) -> DomainReport:
        """All checks. `dkim_selectors` defaults to SendGrid's s1 and s2; `from_domain` (the
        From header's domain) defaults to `domain`; the inbound MX is checked when given."""
        domain = normalize_domain(domain)
        from_ = normalize_domain(from_domain, field="from_domain") if from_domain else domain
        inbound = (
            normalize_domain(inbound_domain, field="inbound_domain") if inbound_domain else None
        )
        selectors = [normalize_selector(s) for s in dkim_selectors] or list(SENDGRID_DKIM_SELECTORS)
        results = [self.check_spf(domain)]
        results += [self.check_dkim(domain, selector) for selector in dict.fromkeys(selectors)]
        results.append(self.check_dmarc(domain, from_domain=from_))
        results.append(self.check_mx(domain))
        if inbound:
            results.append(self.check_inbound_mx(inbound))
        results += self.check_blocklists(domain)
        return DomainReport(
            domain=domain, from_domain=from_, inbound_domain=inbound, results=results
        )

    # SPF

    def check_spf(self, domain: str) -> CheckResult:
        domain = normalize_domain(domain)
        return _guarded(CheckKind.SPF, "SPF", lambda: self._spf(domain))

    def _spf(self, domain: str) -> CheckResult:
        kind, name = CheckKind.SPF, "SPF"
        starter = f'Publish one TXT record at {domain}: "v=spf1 {SENDGRID_SPF_INCLUDE} ~all" (plus an include: for every other service that sends as {domain}).'
        try:
            records = [t for t in self.resolver.resolve(domain, "TXT") if is_spf(t)]
        except NoDomain:
            return _failed(kind, name, f"{domain} does not exist (NXDOMAIN)", starter)
        except NoRecords:
            records = []
        if not records:
            return _failed(
                kind,
                name,
                f"no SPF record at {domain}",
                starter,
                detail="Without SPF, receivers cannot tell which servers may send as the domain.",
            )
        if len(records) > 1:
            merged = _suggested_spf([t for r in records for t in spf_terms(r)])
            return _failed(
                kind,
                name,
                f"{len(records)} SPF records at {domain}; receivers treat that as a permanent error",
                f'Merge them into one TXT record at {domain}: "{merged}" and delete the others.',
                detail="\n".join(f"record: {r}" for r in records),
            )
        record = records[0]
        terms = spf_terms(record)
        findings = _Findings()
        all_terms = [t for t in terms if t.name == "all"]
        has_redirect = any(t.name == "redirect" for t in terms)
        suggested = _suggested_spf(terms)
        if all_terms and all_terms[0].qualifier == "+":
            findings.add(
                CheckStatus.WARN,
                f"SPF ends in {all_terms[0].text}: every server on the internet passes",
                f'End the record with ~all or -all: "{suggested}".',
            )
        elif all_terms and all_terms[0].qualifier == "?":
            findings.add(
                CheckStatus.WARN,
                "SPF ends in ?all: other servers get a neutral result, spoofing goes unflagged",
                f'End the record with ~all or -all: "{suggested}".',
            )
        elif not all_terms and not has_redirect:
            findings.add(
                CheckStatus.WARN,
                "SPF has no -all or ~all: mail from other servers gets a neutral result",
                f'End the record with ~all or -all: "{suggested}".',
            )
        for term in terms:
            if not term.name:
                findings.add(
                    CheckStatus.WARN,
                    f"SPF term {term.text!r} is not valid; receivers return permerror",
                    "Remove or correct the term.",
                )
        walk = _SpfWalk()
        self._walk_spf(terms, walk, seen={domain})
        if not any(_is_within(t, SENDGRID_DOMAIN) for t in walk.targets):
            findings.add(
                CheckStatus.WARN,
                f"SPF does not include SendGrid ({SENDGRID_SPF_INCLUDE})",
                f'Add {SENDGRID_SPF_INCLUDE}: "{suggested}". Not needed for the Return-Path when '
                "SendGrid domain authentication (automated security) is on: its em#### subdomain "
                "carries SendGrid's SPF.",
            )
        if walk.lookups > SPF_LOOKUP_LIMIT:
            at_least = "at least " if walk.truncated else ""
            findings.add(
                CheckStatus.WARN,
                f"SPF needs {at_least}{walk.lookups} DNS lookups; receivers stop at "
                f"{SPF_LOOKUP_LIMIT} and return permerror",
                "Remove includes of services that no longer send as the domain, or replace an "
                "include by the ip4:/ip6: ranges it lists, until the count is 10 or fewer.",
            )
        for problem in walk.broken:
            findings.add(
                CheckStatus.WARN,
                problem,
                "Fix or remove the include: (a receiver that reaches it returns permerror).",
            )
        detail = [f"record: {record}", f"DNS lookups: {walk.lookups} (limit {SPF_LOOKUP_LIMIT})"]
        return findings.result(
            kind,
            name,
            passed=f"one SPF record, includes SendGrid, {walk.lookups}/{SPF_LOOKUP_LIMIT} lookups",
            detail=detail,
        )

    def _walk_spf(self, terms: Sequence[SpfTerm], walk: _SpfWalk, *, seen: set[str]) -> None:
        """Count the lookups `terms` cost, following include: and redirect= (bounded)."""
        has_all = any(t.name == "all" for t in terms)
        for term in terms:
            if term.name not in _SPF_LOOKUP_TERMS:
                continue
            if term.name == "redirect" and has_all:
                continue  # RFC 7208 §6.1: ignored when the record has an "all"
            walk.lookups += 1
            if term.name not in ("include", "redirect"):
                continue
            target = _bare(term.value)
            if not target or "%{" in target:
                continue  # macros expand per message: nothing to follow here
            walk.targets.add(target)
            if target in seen:
                walk.broken.append(f"SPF {term.text} loops back to a record already included")
                continue
            if walk.record_lookups >= _SPF_MAX_RECORD_LOOKUPS:
                walk.truncated = True
                continue
            walk.record_lookups += 1
            try:
                records = [t for t in self.resolver.resolve(target, "TXT") if is_spf(t)]
            except (NoDomain, NoRecords):
                records = []
            except DnsUnavailable as exc:
                walk.truncated = True
                walk.broken.append(f"SPF {term.text} could not be looked up ({exc})")
                continue
            if len(records) != 1:
                count = "no SPF record" if not records else f"{len(records)} SPF records"
                walk.broken.append(f"SPF {term.text}: {target} has {count}")
                continue
            self._walk_spf(spf_terms(records[0]), walk, seen=seen | {target})

    # DKIM

    def check_dkim(self, domain: str, selector: str) -> CheckResult:
        domain, selector = normalize_domain(domain), normalize_selector(selector)
        return _guarded(CheckKind.DKIM, f"DKIM {selector}", lambda: self._dkim(domain, selector))

    def _dkim(self, domain: str, selector: str) -> CheckResult:
        kind, name = CheckKind.DKIM, f"DKIM {selector}"
        host = f"{selector}._domainkey.{domain}"
        fix = (
            f"Authenticate {domain} in SendGrid (Settings → Sender Authentication) and publish the "
            f"CNAME it shows: {host} CNAME {selector}.domainkey.uNNNNNNN.wlNNN.sendgrid.net "
            "(the u/wl numbers are your account's). Without automated security, publish its TXT "
            f'instead: {host} TXT "v=DKIM1; k=rsa; p=<public key>".'
        )
        try:
            cnames = self.resolver.resolve(host, "CNAME")
        except (NoDomain, NoRecords):
            cnames = []
        if cnames:
            target = _bare(cnames[0])
            if _is_within(target, SENDGRID_DOMAIN):
                return _passed(kind, name, f"{host} is a CNAME to SendGrid", f"CNAME → {target}")
            where = f"{host} → {target}"
        else:
            target, where = host, host
        try:
            texts = self.resolver.resolve(target, "TXT")
        except (NoDomain, NoRecords):
            texts = []
        keys = [tag_list(t) for t in texts]
        keys = [k for k in keys if "p" in k and k.get("v", "DKIM1").upper() == "DKIM1"]
        if not keys:
            return _failed(kind, name, f"no DKIM key at {where}", fix)
        key = keys[0].get("p", "")
        if not key:
            return _failed(kind, name, f"the DKIM key at {where} is revoked (empty p=)", fix)
        try:
            base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            return _failed(kind, name, f"the DKIM key at {where} is not valid base64", fix)
        return _passed(kind, name, f"DKIM key published at {where}", f"p={key[:24]}…")

    # DMARC

    def check_dmarc(self, domain: str, *, from_domain: str | None = None) -> CheckResult:
        """The From domain's DMARC policy, and whether `domain` (the DKIM d= and SPF domain)
        aligns with it."""
        domain = normalize_domain(domain)
        from_ = normalize_domain(from_domain, field="from_domain") if from_domain else domain
        return _guarded(CheckKind.DMARC, "DMARC", lambda: self._dmarc(domain, from_))

    def _dmarc(self, domain: str, from_: str) -> CheckResult:
        kind, name = CheckKind.DMARC, "DMARC"
        rua = f"mailto:dmarc-reports@{from_}"
        requirement = (
            "Gmail and Yahoo require a DMARC record from bulk senders (5,000+ messages a day to "
            "their users); p=none is the minimum they accept."
        )
        found = self._dmarc_records(from_)
        if found is None:
            return _failed(
                kind,
                name,
                f"no DMARC record at _dmarc.{from_}",
                f'Publish TXT _dmarc.{from_} "v=DMARC1; p=none; rua={rua}", then move to '
                "p=quarantine once the reports show your mail passing aligned.",
                detail=requirement,
            )
        host, records = found
        if len(records) > 1:
            return _failed(
                kind,
                name,
                f"{len(records)} DMARC records at {host}; receivers ignore them all",
                f"Keep one TXT record at {host}.",
                detail="\n".join(f"record: {r}" for r in records),
            )
        tags = tag_list(records[0])
        inherited = host != f"_dmarc.{from_}"
        policy = tags.get("sp", tags.get("p", "")) if inherited else tags.get("p", "")
        policy = policy.lower()
        if policy not in ("none", "quarantine", "reject"):
            return _failed(
                kind,
                name,
                f"DMARC record at {host} has no valid p= policy",
                f'Set a policy: {host} TXT "v=DMARC1; p=none; rua={rua}".',
                detail=f"record: {records[0]}",
            )
        findings = _Findings()
        if policy == "none":
            findings.add(
                CheckStatus.WARN,
                "DMARC p=none: monitoring only, receivers take no action on spoofed mail",
                f"When the aggregate reports show all your mail passing aligned SPF or DKIM, move "
                f'to p=quarantine, then p=reject: {host} TXT "v=DMARC1; p=quarantine; rua={rua}".',
            )
        reports = tags.get("rua", "")
        if not reports:
            findings.add(
                CheckStatus.WARN,
                "DMARC has no rua=: nobody receives the aggregate reports",
                f"Add rua={rua} (or a DMARC report service's address) to the record at {host}.",
            )
        dkim_mode = "strict" if tags.get("adkim", "r").lower() == "s" else "relaxed"
        spf_mode = "strict" if tags.get("aspf", "r").lower() == "s" else "relaxed"
        dkim_aligned = _aligned(from_, domain, strict=dkim_mode == "strict")
        spf_aligned = _aligned(from_, domain, strict=spf_mode == "strict")
        if not dkim_aligned and not spf_aligned:
            findings.add(
                CheckStatus.FAIL,
                f"From domain {from_} does not align with the DKIM/SPF domain {domain}: "
                "DMARC fails for every message",
                f"Send From an address at {domain} (or a subdomain), or authenticate {from_} in "
                "SendGrid so DKIM signs with its own domain.",
            )
        elif not dkim_aligned:
            findings.add(
                CheckStatus.WARN,
                f"From domain {from_} aligns with {domain} only through SPF (adkim=s): "
                "forwarded mail will fail DMARC",
                f"Authenticate {from_} itself in SendGrid, or relax the record to adkim=r.",
            )
        pct = tags.get("pct", "100")
        detail = [
            f"record: {records[0]}" + (f" (inherited from {host})" if inherited else ""),
            f"policy: {policy}" + (f", applied to {pct}% of failing mail" if pct != "100" else ""),
            f"aggregate reports (rua): {reports or 'none'}",
            f"alignment: DKIM {dkim_mode}, SPF {spf_mode}; From {from_} vs DKIM/SPF {domain}: "
            + ("aligned" if dkim_aligned and spf_aligned else "not aligned"),
        ]
        if policy == "none":
            detail.append(requirement + " It protects nothing yet: it only asks for reports.")
        return findings.result(kind, name, passed=f"DMARC p={policy}, aligned", detail=detail)

    def _dmarc_records(self, from_: str) -> tuple[str, list[str]] | None:
        """The DMARC records at `_dmarc.<from_>`, else at the nearest parent domain that has
        some (the DMARCbis tree walk, stopping above the top-level domain)."""
        labels = from_.split(".")
        for start in range(len(labels) - 1):
            host = "_dmarc." + ".".join(labels[start:])
            try:
                texts = self.resolver.resolve(host, "TXT")
            except (NoDomain, NoRecords):
                continue
            records = [t for t in texts if t.replace(" ", "").lower().startswith("v=dmarc1")]
            if records:
                return host, records
        return None

    # MX

    def check_mx(self, domain: str) -> CheckResult:
        domain = normalize_domain(domain)
        return _guarded(CheckKind.MX, "MX", lambda: self._mx(domain))

    def _mx(self, domain: str) -> CheckResult:
        kind, name = CheckKind.MX, "MX"
        why = (
            "A sending domain that cannot receive mail loses bounces and replies, and receivers "
            "treat it as suspect."
        )
        fix = (
            f"Publish MX records for the mailbox provider that receives mail for {domain}, e.g. "
            f"{domain} MX 10 <your provider's mail host>."
        )
        try:
            hosts = self._mx_hosts(domain)
        except NoDomain:
            return _failed(kind, name, f"{domain} does not exist (NXDOMAIN)", fix, detail=why)
        if not hosts:
            return _failed(kind, name, f"no MX records at {domain}", fix, detail=why)
        if hosts == [(0, "")]:
            return _failed(
                kind,
                name,
                f"{domain} publishes a null MX: it declares it receives no mail (RFC 7505)",
                fix,
                detail=why,
            )
        listing = ", ".join(f"{pref} {host}" for pref, host in hosts)
        return _passed(kind, name, f"{len(hosts)} MX record(s): {listing}")

    def _mx_hosts(self, domain: str) -> list[tuple[int, str]]:
        """(preference, host) by preference; [] when the name has no MX; NoDomain propagates."""
        try:
            texts = self.resolver.resolve(domain, "MX")
        except NoRecords:
            return []
        hosts = []
        for text in texts:
            preference, _, host = text.strip().partition(" ")
            hosts.append((int(preference) if preference.isdigit() else 0, _bare(host)))
        return sorted(hosts)

    def check_inbound_mx(self, inbound_domain: str) -> CheckResult:
        """The reply domain (Reply-To reply+token@<it>) must route to SendGrid Inbound Parse."""
        inbound = normalize_domain(inbound_domain, field="inbound_domain")
        return _guarded(CheckKind.INBOUND_MX, "MX (inbound)", lambda: self._inbound_mx(inbound))

    def _inbound_mx(self, inbound: str) -> CheckResult:
        kind, name = CheckKind.INBOUND_MX, "MX (inbound)"
        fix = (
            f"Publish {inbound} MX 10 {SENDGRID_INBOUND_MX} (and no other MX there), and add "
            f"{inbound} under SendGrid Settings → Inbound Parse, posting to "
            "<public URL>/webhooks/sendgrid/inbound."
        )
        try:
            hosts = self._mx_hosts(inbound)
        except NoDomain:
            hosts = []
        if not hosts:
            return _warned(kind, name, f"no MX at {inbound}: replies cannot arrive", fix)
        others = [host for _, host in hosts if host != SENDGRID_INBOUND_MX]
        if others:
            return _warned(
                kind,
                name,
                f"{inbound} MX points at {', '.join(others)}, not {SENDGRID_INBOUND_MX}: "
                "replies miss Inbound Parse",
                fix,
            )
        return _passed(kind, name, f"{inbound} MX → {SENDGRID_INBOUND_MX} (Inbound Parse)")

    # blocklists

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


def _aligned(from_: str, domain: str, *, strict: bool) -> bool:
    """DMARC identifier alignment. Relaxed alignment is approximated without the Public Suffix
    List: one name equals or lies under the other (sibling subdomains count as not aligned)."""
    if strict:
        return from_ == domain
    return _is_within(from_, domain) or _is_within(domain, from_)


def _guarded(kind: CheckKind, name: str, check: Callable[[], CheckResult]) -> CheckResult:
    """Run `check`; a DNS failure becomes an `error` result that says which lookup failed."""
    try:
        return check()
    except DnsUnavailable as exc:
        return CheckResult(
            kind=kind,
            name=name,
            status=CheckStatus.ERROR,
            summary=f"DNS lookup failed: {exc}",
            detail=f"The {exc.rdtype} lookup of {exc.name} got no answer; nothing is known.",
            fix=f"Retry. If it keeps failing, check this machine's resolver (dig {exc.rdtype} "
            f"{exc.name}) and the domain's name servers.",
        )


def _passed(kind: CheckKind, name: str, summary: str, detail: str = "") -> CheckResult:
    return CheckResult(
        kind=kind, name=name, status=CheckStatus.PASS, summary=summary, detail=detail
    )


def _warned(kind: CheckKind, name: str, summary: str, fix: str, detail: str = "") -> CheckResult:
    return CheckResult(
        kind=kind, name=name, status=CheckStatus.WARN, summary=summary, detail=detail, fix=fix
    )


def _failed(kind: CheckKind, name: str, summary: str, fix: str, detail: str = "") -> CheckResult:
    return CheckResult(
        kind=kind, name=name, status=CheckStatus.FAIL, summary=summary, detail=detail, fix=fix
    )


def check_domain(
    domain: str,
    *,
    dkim_selectors: Sequence[str] = (),
    from_domain: str | None = None,
    inbound_domain: str | None = None,
    resolver: Resolver | None = None,
) -> DomainReport:
    """Every check of `domain`, through `resolver` (default: this machine's DNS)."""
    checker = DomainChecker(resolver or DnsPythonResolver())
    return checker.check_domain(
        domain,
        dkim_selectors=dkim_selectors,
        from_domain=from_domain,
        inbound_domain=inbound_domain,
    )


__all__ = [
    "BLOCKLISTS",
    "SENDGRID_DKIM_SELECTORS",
    "SENDGRID_INBOUND_MX",
    "SENDGRID_SPF_INCLUDE",
    "SPF_LOOKUP_LIMIT",
    "Blocklist",
    "CheckKind",
    "CheckResult",
    "CheckStatus",
    "DnsPythonResolver",
    "DomainChecker",
    "DomainReport",
    "Resolver",
    "SpfTerm",
    "StaticResolver",
    "check_domain",
    "is_spf",
    "normalize_domain",
    "normalize_selector",
    "spf_terms",
    "tag_list",
]
