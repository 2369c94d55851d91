"""Every check of one sending domain: `DomainChecker` (the checks of `spf`, `dkim`, `dmarc`, `mx`
and `blocklists` together) and the `DomainReport` it returns."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, computed_field

from activities.deliverability.dns.blocklists import BlocklistChecks
from activities.deliverability.dns.dkim import DkimChecks
from activities.deliverability.dns.dmarc import DmarcChecks
from activities.deliverability.dns.mx import MxChecks
from activities.deliverability.dns.names import normalize_domain, normalize_selector
from activities.deliverability.dns.records import SENDGRID_DKIM_SELECTORS
from activities.deliverability.dns.resolver import DnsPythonResolver, Resolver
from activities.deliverability.dns.results import CheckResult, CheckStatus
from activities.deliverability.dns.spf import SpfChecks


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


class DomainChecker(SpfChecks, DkimChecks, DmarcChecks, BlocklistChecks, MxChecks):
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


__all__ = ["DomainChecker", "DomainReport", "check_domain"]
