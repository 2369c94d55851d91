"""The DMARC check: the From domain's policy (inherited from a parent when it has none), its
aggregate reports, and whether the DKIM/SPF domain aligns with it."""

from __future__ import annotations

from activities.deliverability.dns.names import _is_within, normalize_domain
from activities.deliverability.dns.records import tag_list
from activities.deliverability.dns.resolver import Resolver
from activities.deliverability.dns.results import (
    CheckKind,
    CheckResult,
    CheckStatus,
    _failed,
    _Findings,
    _guarded,
)
from models.errors import NoDomain, NoRecords


class DmarcChecks:
    """`DomainChecker`'s DMARC check of a From domain."""

    resolver: Resolver

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


def _aligned(from_: str, domain: str, *, strict: bool) -> bool:
    """DMARC identifier alignment. Relaxed alignment is approximated without the Public Suffix
    List: one name equals or lies under the other (sibling subdomains count as not aligned)."""
    if strict:
        return from_ == domain
    return _is_within(from_, domain) or _is_within(domain, from_)


__all__ = ["DmarcChecks"]
