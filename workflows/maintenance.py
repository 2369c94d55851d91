"""The maintenance workflows the worker's Temporal Schedules start daily (docs/architecture.md,
"Retention"): `RetentionPrune` deletes rows past NURTURE_EVENT_RETENTION_DAYS, `SenderDnsRecheck`
re-checks every sender's DNS. Each runs one activity, retried until it succeeds; the activity
does the work in bounded batches and heartbeats."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.maintenance import DnsRecheckRequest, DnsRecheckResult, PruneRequest, PruneResult
    from models.wire import (
        PRUNE_EXPIRED_ROWS_ACTIVITY,
        RECHECK_SENDER_DNS_ACTIVITY,
        RETENTION_PRUNE_WORKFLOW,
        SENDER_DNS_RECHECK_WORKFLOW,
    )

#: A lost worker's activity is retried after this long without a heartbeat (one per batch).
HEARTBEAT_TIMEOUT = timedelta(minutes=2)
MAINTENANCE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10)
)


@workflow.defn(name=RETENTION_PRUNE_WORKFLOW)
class RetentionPrune:
    @workflow.run
    async def run(self, request: PruneRequest) -> PruneResult:
        result: PruneResult = await workflow.execute_activity(
            PRUNE_EXPIRED_ROWS_ACTIVITY,
            request,
            result_type=PruneResult,
            start_to_close_timeout=timedelta(hours=6),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=MAINTENANCE_RETRY,
        )
        return result


@workflow.defn(name=SENDER_DNS_RECHECK_WORKFLOW)
class SenderDnsRecheck:
    @workflow.run
    async def run(self, request: DnsRecheckRequest) -> DnsRecheckResult:
        result: DnsRecheckResult = await workflow.execute_activity(
            RECHECK_SENDER_DNS_ACTIVITY,
            request,
            result_type=DnsRecheckResult,
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=MAINTENANCE_RETRY,
        )
        return result


#: The maintenance workflows, for the worker to register.
MAINTENANCE_WORKFLOWS = (RetentionPrune, SenderDnsRecheck)

__all__ = ["MAINTENANCE_WORKFLOWS", "RetentionPrune", "SenderDnsRecheck"]
