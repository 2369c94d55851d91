"""Cohort launch: enrollments started per second by a real `CohortService` launch of a seeded
cohort, against raw `start_workflow` of the same shape at the launch's concurrency — each measured
as a start rate with nothing running what was started meanwhile: the raw workflows go to a task
queue no worker polls yet, and the launch (`bench.launcher`) enrolls onto one no worker polls yet.
Then a worker polls each queue and the time until all of them wait is measured (the enrollments'
sender is paused: each tries its intro once, then waits in a 30-minute timer) — so the rates
with the running included are reported too, and the worker's memory is read with all waiting.

The raw workflows do what a launched enrollment does before it waits (the same search
attributes at start, upserts, one refused activity, a long timer; see
`bench.raw_workflows.RawLaunched`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import select
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from activities.cohorts.service import CohortService
from bench.figures import rate
from bench.ingest import Target
from bench.raw_workflows import RAW_LAUNCHED
from bench.throughput import START_CONCURRENCY, start_all
from models.cohort import CohortLaunchResult, cohort_launch_workflow_id
from models.db import session_scope
from models.enrollment import EnrollmentStatus
from models.search_attributes import COHORT, SEQUENCE, STATUS
from models.tables import CohortMember, Contact, MemberStatus

#: The launch's own rate bound, set far above what it reaches so it never is the limiter.
LAUNCH_PER_SECOND = 100_000.0
LAUNCH_BATCH_SIZE = 100
#: The raw workflows wait this long, like the enrollments behind a paused sender.
RAW_WAIT_SECONDS = 1800.0


async def raw_starts(client: Client, count: int, task_queue: str) -> dict[str, Any]:
    """The launch's baseline: `count` `bench_raw_launched` workflows started at the launch's
    concurrency (`START_CONCURRENCY`) onto `task_queue`, which no worker polls yet."""
    tag = f"bench-rawlaunch-{uuid.uuid4().hex[:8]}"
    attributes = TypedSearchAttributes(
        [
            SearchAttributePair(SEQUENCE, RAW_LAUNCHED),
            SearchAttributePair(STATUS, EnrollmentStatus.RUNNING.value),
            SearchAttributePair(COHORT, tag),
        ]
    )

    async def start_one(i: int) -> None:
        await client.start_workflow(
            RAW_LAUNCHED,
            args=[tag, RAW_WAIT_SECONDS],
            id=f"{tag}/{i}",
            task_queue=task_queue,
            search_attributes=attributes,
        )

    seconds = await start_all(count, start_one)
    return {
        "cohort": tag,
        "task_queue": task_queue,
        "workflows": count,
        "seconds": round(seconds, 2),
        "starts_per_s": rate(count, seconds),
        "concurrency": START_CONCURRENCY,
        "runs": "3 search attributes at start, 1 upsert, 1 activity failed non-retryably, a "
        "30-minute timer (as a launched trade_intro enrollment behind a paused sender)",
    }


async def cohort_launch(
    client: Client,
    db: sa.Engine,
    launcher_queue: str,
    templates_dir: Any,
    *,
    tag: str,
    sender_id: str,
    within: float = 1800,
) -> dict[str, Any]:
    """Start the cohort of the contacts tagged `tag` (its launch runs on `launcher_queue`) and
    wait for the launch to finish."""
    service = CohortService(db, client, launcher_queue, templates_dir)
    began = time.perf_counter()
    started = await service.start(
        name=f"bench {tag}",
        sequence="trade_intro",
        sender_id=sender_id,
        segment={"bench": tag},
        send_windows=False,
        per_second=LAUNCH_PER_SECOND,
        batch_size=LAUNCH_BATCH_SIZE,
    )
    recorded = time.perf_counter() - began
    handle = client.get_workflow_handle(
        cohort_launch_workflow_id(started.cohort_id), result_type=CohortLaunchResult
    )
    result = await asyncio.wait_for(handle.result(), within)
    seconds = time.perf_counter() - began
    return {
        "cohort_id": started.cohort_id,
        "members": started.members,
        "enrolled": result.enrolled,
        "skipped": result.skipped,
        "seconds": round(seconds, 2),
        "recording_members_seconds": round(recorded, 2),
        "enrollments_per_s": rate(result.enrolled, seconds),
        "per_second_bound": LAUNCH_PER_SECOND,
        "batch_size": LAUNCH_BATCH_SIZE,
        "concurrency": START_CONCURRENCY,
        "limited_by": "the engine (the per_second bound adds "
        f"{started.members / LAUNCH_PER_SECOND:.2f} s of sleeps in all)",
    }


async def all_waiting(client: Client, cohort_id: str, count: int, *, within: float) -> float:
    """Seconds until all `count` enrollments of the cohort (raw workflows of the tag) wait
    behind their paused sender."""
    query = (
        f"NurtureCohort = '{cohort_id}' AND NurtureStatus = '{EnrollmentStatus.SENDER_PAUSED}' "
        "AND ExecutionStatus = 'Running'"
    )
    began = time.perf_counter()
    while (waiting := (await client.count_workflows(query)).count) < count:
        if time.perf_counter() - began > within:
            raise TimeoutError(f"only {waiting}/{count} enrollments waiting after {within:.0f}s")
        await asyncio.sleep(1)
    return time.perf_counter() - began


def launched_targets(db: sa.Engine, cohort_id: str) -> list[Target]:
    """The cohort's enrolled members, as targets for webhook events."""
    with session_scope(db) as session:
        rows = session.exec(
            select(CohortMember.workflow_id, Contact.email)
            .join(Contact, Contact.id == CohortMember.contact_id)  # type: ignore[arg-type]
            .where(
                CohortMember.cohort_id == cohort_id,
                CohortMember.status == MemberStatus.ENROLLED,
            )
        ).all()
    return [Target(workflow_id=wf, email=email) for wf, email in rows if wf]


__all__ = ["all_waiting", "cohort_launch", "launched_targets", "raw_starts"]
