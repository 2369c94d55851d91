"""The Temporal Schedules of nurture's recurring upkeep (docs/architecture.md, "Retention"): a daily
retention prune and a daily sender DNS re-check, per task queue. `ensure_schedules` creates them
or, when they exist, updates them to the current spec, action and policy (keeping whether ops
paused them); every worker calls it at start, so several workers starting at once all succeed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from models.maintenance import DnsRecheckRequest, PruneRequest
from models.settings import Settings
from models.wire import RETENTION_PRUNE_WORKFLOW, SENDER_DNS_RECHECK_WORKFLOW

log = structlog.stdlib.get_logger(__name__)

#: A run still going after this long is ended, so it never overlaps the next day's.
RUN_TIMEOUT = timedelta(hours=23)
#: Runs missed while Temporal was down are caught up within this window (then skipped).
CATCHUP_WINDOW = timedelta(days=1)
#: Create-or-update attempts before giving up (a schedule deleted between the two calls).
_ATTEMPTS = 3


@dataclass(frozen=True)
class ScheduleIds:
    """The schedule ids of one task queue (two deployments on one namespace stay apart)."""

    retention_prune: str
    sender_dns_recheck: str

    @classmethod
    def for_queue(cls, task_queue: str) -> ScheduleIds:
        return cls(
            retention_prune=f"nurture/{task_queue}/retention-prune",
            sender_dns_recheck=f"nurture/{task_queue}/sender-dns-recheck",
        )


def _daily(hour: int, minute: int, comment: str) -> ScheduleSpec:
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                hour=[ScheduleRange(hour)], minute=[ScheduleRange(minute)], comment=comment
            )
        ],
        time_zone_name="UTC",
    )


def maintenance_schedules(settings: Settings) -> dict[str, Schedule]:
    """The schedules this worker's settings ask for, by id."""
    ids = ScheduleIds.for_queue(settings.task_queue)
    policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW)
    note = "Managed by the nurture worker: its next start resets spec, action and policy."
    return {
        ids.retention_prune: Schedule(
            action=ScheduleActionStartWorkflow(
                RETENTION_PRUNE_WORKFLOW,
                PruneRequest(),
                id=ids.retention_prune,
                task_queue=settings.task_queue,
                execution_timeout=RUN_TIMEOUT,
            ),
            spec=_daily(
                settings.maintenance_hour_utc,
                0,
                f"prune rows older than {settings.event_retention_days} days",
            ),
            policy=policy,
            state=ScheduleState(note=note),
        ),
        ids.sender_dns_recheck: Schedule(
            action=ScheduleActionStartWorkflow(
                SENDER_DNS_RECHECK_WORKFLOW,
                DnsRecheckRequest(),
                id=ids.sender_dns_recheck,
                task_queue=settings.task_queue,
                execution_timeout=RUN_TIMEOUT,
            ),
            spec=_daily(settings.maintenance_hour_utc, 30, "re-check every sender's DNS"),
            policy=policy,
            state=ScheduleState(note=note),
        ),
    }


async def ensure_schedule(client: Client, schedule_id: str, wanted: Schedule) -> ScheduleHandle:
    """Create the schedule, or update an existing one to `wanted` (its paused state kept)."""

    def updater(current: ScheduleUpdateInput) -> ScheduleUpdate:
        kept = current.description.schedule.state
        return ScheduleUpdate(
            schedule=Schedule(
                action=wanted.action,
                spec=wanted.spec,
                policy=wanted.policy,
                state=ScheduleState(note=kept.note, paused=kept.paused),
            )
        )

    for attempt in range(1, _ATTEMPTS + 1):
        try:
            handle = await client.create_schedule(schedule_id, wanted)
            log.info("schedule created", schedule_id=schedule_id)
            return handle
        except ScheduleAlreadyRunningError:
            handle = client.get_schedule_handle(schedule_id)
        try:
            await handle.update(updater)
        except RPCError as exc:
            # Deleted between our create and update: create it again.
            if exc.status != RPCStatusCode.NOT_FOUND or attempt == _ATTEMPTS:
                raise
            continue
        log.info("schedule updated", schedule_id=schedule_id)
        return handle
    raise AssertionError("unreachable")  # pragma: no cover


async def ensure_schedules(client: Client, settings: Settings) -> dict[str, ScheduleHandle]:
    """Every maintenance schedule of `settings.task_queue`, created or brought up to date."""
    return {
        schedule_id: await ensure_schedule(client, schedule_id, schedule)
        for schedule_id, schedule in maintenance_schedules(settings).items()
    }


__all__ = ["ScheduleIds", "ensure_schedule", "ensure_schedules", "maintenance_schedules"]
