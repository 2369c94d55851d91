"""Inputs and results of the maintenance workflows and activities that the worker's Temporal
Schedules start: the retention prune and the sender DNS re-check (plain pydantic, no sqlmodel)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class PruneRequest(BaseModel):
    """One prune run. `retention_days` None: the worker's NURTURE_EVENT_RETENTION_DAYS."""

    retention_days: int | None = Field(default=None, ge=1)
    #: Rows deleted per transaction (bounded: no long lock, no huge transaction).
    batch_size: int = Field(default=1000, ge=1, le=50_000)


class PruneResult(BaseModel):
    """What one prune run deleted, per table, and the instant older than which it deleted."""

    cutoff: datetime
    events: int = 0
    business_events: int = 0
    notifications: int = 0
    #: Messages whose pruned events' funnel metrics were folded into `message.pruned_metrics`.
    messages_folded: int = 0

    @property
    def total(self) -> int:
        return self.events + self.business_events + self.notifications


class DnsRecheckRequest(BaseModel):
    """One DNS re-check run: every sender (or only `sender_ids`)."""

    sender_ids: list[str] | None = None


class SenderDnsOutcome(BaseModel):
    sender_id: str
    domain: str
    ok: bool
    #: Names of the checks that failed (`spf`, `dkim s1`, `dmarc`, …).
    failed: list[str] = []


class DnsRecheckResult(BaseModel):
    checked: list[SenderDnsOutcome] = []

    @property
    def failing(self) -> list[str]:
        return [outcome.sender_id for outcome in self.checked if not outcome.ok]


__all__ = [
    "DnsRecheckRequest",
    "DnsRecheckResult",
    "PruneRequest",
    "PruneResult",
    "SenderDnsOutcome",
]
