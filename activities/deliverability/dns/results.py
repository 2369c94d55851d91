"""What a check returns: its kind, status and `CheckResult`, the findings collector that picks the
worst problem, and the pass/warn/fail/error result builders the checks share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from models.errors import DnsUnavailable


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


__all__ = ["CheckKind", "CheckResult", "CheckStatus"]
