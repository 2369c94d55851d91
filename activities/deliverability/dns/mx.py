"""The MX checks: the sending domain receives mail (bounces, replies), and the reply domain routes
to SendGrid Inbound Parse."""

from __future__ import annotations

from activities.deliverability.dns.names import _bare, normalize_domain
from activities.deliverability.dns.records import SENDGRID_INBOUND_MX
from activities.deliverability.dns.resolver import Resolver
from activities.deliverability.dns.results import (
    CheckKind,
    CheckResult,
    _failed,
    _guarded,
    _passed,
    _warned,
)
from models.errors import NoDomain, NoRecords


class MxChecks:
    """`DomainChecker`'s MX checks: the sending domain's and the inbound (reply) domain's."""

    resolver: Resolver

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


__all__ = ["MxChecks"]
