"""The daily sender DNS re-check (docs/architecture.md, "Retention"): every sender's domain through
the same checks as `nurture senders check` (SPF, DKIM, DMARC, MX, the reply domain's MX,
blocklists), the latest result stored per sender in `sender_dns_check` for the dashboard's
/senders page and /metrics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from activities.deliverability.dns import CheckResult, CheckStatus, DomainChecker, Resolver
from models.db import session_scope
from models.errors import InvalidInput
from models.maintenance import DnsRecheckRequest, DnsRecheckResult, SenderDnsOutcome
from models.tables import Sender, SenderDnsCheck, utcnow

log = structlog.stdlib.get_logger(__name__)


class SenderDnsRechecker:
    """Checks senders' DNS through `resolver` and stores each result; `progress` is called after
    each sender (the activity heartbeats there). A DNS failure is a check's `error` status,
    never an exception; a sender whose domain is not a domain name is stored as failing."""

    def __init__(
        self,
        engine: sa.Engine,
        resolver: Resolver,
        *,
        inbound_domain: str | None = None,
        progress: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._checker = DomainChecker(resolver)
        self._inbound_domain = inbound_domain
        self._progress = progress or (lambda: None)

    def recheck(self, request: DnsRecheckRequest, now: datetime | None = None) -> DnsRecheckResult:
        with session_scope(self._engine) as session:
            query = select(Sender).order_by(col(Sender.id))
            if request.sender_ids is not None:
                query = query.where(col(Sender.id).in_(request.sender_ids))
            senders = [(s.id, s.domain, s.reply_domain) for s in session.exec(query).all()]
        result = DnsRecheckResult()
        for sender_id, domain, reply_domain in senders:
            check = self._check(sender_id, domain, reply_domain or self._inbound_domain)
            check.checked_at = now or utcnow()
            with session_scope(self._engine) as session:
                _store(session, check)
            failed = [p["name"] for p in check.problems if p["status"] == CheckStatus.FAIL]
            if not check.ok:
                log.warning("sender DNS check failed", sender_id=sender_id, failed=failed)
            result.checked.append(
                SenderDnsOutcome(sender_id=sender_id, domain=domain, ok=check.ok, failed=failed)
            )
            self._progress()
        return result

    def _check(self, sender_id: str, domain: str, inbound: str | None) -> SenderDnsCheck:
        try:
            report = self._checker.check_domain(domain, inbound_domain=inbound)
        except InvalidInput as exc:
            problem = {
                "kind": exc.field,
                "name": exc.field,
                "status": CheckStatus.FAIL.value,
                "summary": exc.reason,
                "fix": "correct the sender's address or reply domain (nurture senders update)",
            }
            return SenderDnsCheck(
                sender_id=sender_id,
                domain=domain,
                checked_at=utcnow(),
                ok=False,
                counts={CheckStatus.FAIL.value: 1},
                problems=[problem],
            )
        counts = {status.value: len(report.with_status(status)) for status in CheckStatus}
        problems = [
            {
                "kind": r.kind.value,
                "name": r.name,
                "status": r.status.value,
                "summary": r.summary,
                "fix": r.fix,
            }
            for r in _worst_first(report.results)
            if r.status is not CheckStatus.PASS
        ]
        return SenderDnsCheck(
            sender_id=sender_id,
            domain=report.domain,
            checked_at=utcnow(),
            ok=report.ok,
            counts=counts,
            problems=problems,
        )


_ORDER = {CheckStatus.FAIL: 0, CheckStatus.ERROR: 1, CheckStatus.WARN: 2, CheckStatus.PASS: 3}


def _worst_first(results: Sequence[CheckResult]) -> list[CheckResult]:
    return sorted(results, key=lambda r: _ORDER[r.status])


def _store(session: Session, check: SenderDnsCheck) -> None:
    """The latest result replaces the sender's previous one (a sender deleted meanwhile: none)."""
    if session.get(Sender, check.sender_id) is None:
        return
    row = session.get(SenderDnsCheck, check.sender_id)
    if row is None:
        session.add(check)
        return
    for field in ("domain", "checked_at", "ok", "counts", "problems"):
        setattr(row, field, getattr(check, field))
    session.add(row)


def latest_dns_checks(session: Session) -> dict[str, SenderDnsCheck]:
    """Every sender's latest stored DNS re-check, by sender id."""
    return {row.sender_id: row for row in session.exec(select(SenderDnsCheck)).all()}


__all__ = ["SenderDnsRechecker", "latest_dns_checks"]
