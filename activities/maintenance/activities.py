"""The Temporal activities of the maintenance workflows: thin wrappers over `RetentionPruner` and
`SenderDnsRechecker`, heartbeating after each batch or sender. Synchronous (DB and DNS block): they
run on the worker's activity threads, like the send step."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from temporalio import activity

from activities.deliverability.dns import DnsPythonResolver, Resolver
from activities.maintenance.dns_recheck import SenderDnsRechecker
from activities.maintenance.retention import RetentionPruner
from models.maintenance import DnsRecheckRequest, DnsRecheckResult, PruneRequest, PruneResult
from models.settings import Settings
from models.wire import PRUNE_EXPIRED_ROWS_ACTIVITY, RECHECK_SENDER_DNS_ACTIVITY


class MaintenanceActivities:
    """`prune_expired_rows` and `recheck_sender_dns`. `resolver` answers the DNS questions
    (default: this machine's name servers; tests give a `StaticResolver`)."""

    def __init__(
        self, engine: sa.Engine, settings: Settings, *, resolver: Resolver | None = None
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._resolver = resolver or DnsPythonResolver()

    @activity.defn(name=PRUNE_EXPIRED_ROWS_ACTIVITY)
    def prune_expired_rows(self, request: PruneRequest) -> PruneResult:
        prune = RetentionPruner(self._engine, self._settings, progress=activity.heartbeat)
        return prune.prune(request)

    @activity.defn(name=RECHECK_SENDER_DNS_ACTIVITY)
    def recheck_sender_dns(self, request: DnsRecheckRequest) -> DnsRecheckResult:
        recheck = SenderDnsRechecker(
            self._engine,
            self._resolver,
            inbound_domain=self._settings.inbound_domain,
            progress=activity.heartbeat,
        )
        return recheck.recheck(request)

    def all(self) -> list[Any]:
        return [self.prune_expired_rows, self.recheck_sender_dns]


__all__ = ["MaintenanceActivities"]
