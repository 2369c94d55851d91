"""The SPF check: one record, ending in -all or ~all, including SendGrid, within the 10-lookup
limit (the include: and redirect= chain walked, bounded)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from activities.deliverability.dns.names import _bare, _is_within, normalize_domain
from activities.deliverability.dns.records import (
    SENDGRID_DOMAIN,
    SENDGRID_SPF_INCLUDE,
    SpfTerm,
    is_spf,
    spf_terms,
)
from activities.deliverability.dns.resolver import Resolver
from activities.deliverability.dns.results import (
    CheckKind,
    CheckResult,
    CheckStatus,
    _failed,
    _Findings,
    _guarded,
)
from models.errors import DnsUnavailable, NoDomain, NoRecords

#: RFC 7208 §4.6.4: receivers stop (permerror) after 10 DNS-querying terms.
SPF_LOOKUP_LIMIT = 10
#: Bound of the SPF include walk, so a hostile or endless chain cannot keep us querying.
_SPF_MAX_RECORD_LOOKUPS = 30
#: RFC 7208 §4.6.4: the terms that cost a DNS lookup.
_SPF_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})


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


@dataclass
class _SpfWalk:
    lookups: int = 0
    record_lookups: int = 0
    targets: set[str] = field(default_factory=set)
    broken: list[str] = field(default_factory=list)
    truncated: bool = False


class SpfChecks:
    """`DomainChecker`'s SPF check of a sending domain."""

    resolver: Resolver

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
        suggested = _suggested_spf(terms)
        _check_spf_syntax(findings, terms, suggested)
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


def _check_spf_syntax(findings: _Findings, terms: Sequence[SpfTerm], suggested: str) -> None:
    """What the record itself gets wrong: a missing or permissive `all`, invalid terms."""
    all_terms = [t for t in terms if t.name == "all"]
    has_redirect = any(t.name == "redirect" for t in terms)
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


__all__ = ["SPF_LOOKUP_LIMIT", "SpfChecks"]
