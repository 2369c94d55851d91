"""Sequences per second: the raw baseline (Temporal alone, no-op activities) and the engine
(`trade_intro` through the real send path into the simulator, its webhooks signalling back),
each as N sequences started at once and run to completion, on the same dev server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from activities.enrollment.enrolling import EnrollmentService
from bench.figures import rate
from bench.raw_workflows import RAW_SEQUENCE
from bench.stack import RAW_TASK_QUEUE
from models.db import session_scope
from models.enrollment import EnrollmentStatus
from models.search_attributes import COHORT, SEQUENCE, STATUS
from models.tables import Enrollment, Message, MessageStatus

#: How many starts are in flight at once: the cohort launch's enrolling concurrency.
START_CONCURRENCY = 20
#: Waits that a signal cuts short: long enough never to run out on a loaded machine.
ENGINE_PARAMS = {"open_window": "PT10M", "case_study_after": "PT20M", "offer_after": "PT1M"}
RAW_WINDOW_SECONDS = 600.0


async def wait_closed(
    client: Client, query: str, count: int, *, within: float
) -> tuple[datetime, dict[str, int]]:
    """Wait until `count` workflows matching `query` are closed; the last close time and how
    many closed with each status."""
    deadline = time.monotonic() + within
    while True:
        running = (await client.count_workflows(f"{query} AND ExecutionStatus = 'Running'")).count
        closed = (await client.count_workflows(f"{query} AND ExecutionStatus != 'Running'")).count
        if running == 0 and closed >= count:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{closed}/{count} closed after {within:.0f}s ({query})")
        await asyncio.sleep(0.25)
    last = datetime.min.replace(tzinfo=UTC)
    statuses: dict[str, int] = {}
    async for wf in client.list_workflows(query):
        if wf.close_time is not None and wf.close_time > last:
            last = wf.close_time
        name = wf.status.name.lower() if wf.status else "unknown"
        statuses[name] = statuses.get(name, 0) + 1
    return last, statuses


async def start_all(count: int, start_one: Callable[[int], Awaitable[Any]]) -> float:
    """Start `count` workflows, `START_CONCURRENCY` at a time; seconds it took."""
    semaphore = asyncio.Semaphore(START_CONCURRENCY)

    async def one(i: int) -> None:
        async with semaphore:
            await start_one(i)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - began


async def raw_sequences(
    client: Client, count: int, *, upserts: bool = False, within: float = 900
) -> dict[str, Any]:
    """N `bench_raw_sequence`s at once, to completion. With `upserts`: started with the search
    attributes an enrollment is started with, and upserting as `trade_intro` does."""
    tag = f"bench-raw-{uuid.uuid4().hex[:8]}"
    pairs = [SearchAttributePair(COHORT, tag)]
    if upserts:
        pairs += [
            SearchAttributePair(SEQUENCE, RAW_SEQUENCE),
            SearchAttributePair(STATUS, EnrollmentStatus.RUNNING.value),
        ]

    async def start_one(i: int) -> None:
        await client.start_workflow(
            RAW_SEQUENCE,
            args=[RAW_WINDOW_SECONDS, upserts],
            id=f"{tag}/{i}",
            task_queue=RAW_TASK_QUEUE,
            search_attributes=TypedSearchAttributes(pairs),
        )

    began = datetime.now(UTC)
    start_seconds = await start_all(count, start_one)
    last, statuses = await wait_closed(client, f"NurtureCohort = '{tag}'", count, within=within)
    wall = (last - began).total_seconds()
    return {
        "cohort": tag,
        "sequences": count,
        "seconds": round(wall, 2),
        "seq_per_s": rate(count, wall),
        "start_seconds": round(start_seconds, 2),
        "statuses": statuses,
        "per_sequence": {
            "activities": 3,
            "timers": 1,
            "signals": 1,
            "upserts": 4 if upserts else 0,
        },
    }


async def enroll_engine(
    service: EnrollmentService,
    contact_id: Any,
    *,
    tag: str,
    sender_id: str = "default",
    params: dict[str, str] | None = None,
) -> str:
    """One `trade_intro` enrollment as the engine part and the soak make it: the bench's waits
    (unless `params` says others), no send windows, the run's tag as its cohort."""
    return await service.enroll(
        "trade_intro",
        contact_id,
        cohort_id=tag,
        sender_id=sender_id,
        params=params or ENGINE_PARAMS,
        send_windows=False,
    )


async def engine_sequences(
    client: Client,
    db: sa.Engine,
    task_queue: str,
    contact_ids: list[Any],
    *,
    tag: str,
    sender_id: str,
    params: dict[str, str] | None = None,
    within: float = 1800,
) -> dict[str, Any]:
    """One `trade_intro` enrollment per contact, all at once, to completion; figures from the
    dev server (close times) and the database (what was sent, how each ended)."""
    service = EnrollmentService(db, client, task_queue)
    params = params or ENGINE_PARAMS

    async def start_one(i: int) -> None:
        await enroll_engine(service, contact_ids[i], tag=tag, sender_id=sender_id, params=params)

    count = len(contact_ids)
    began = datetime.now(UTC)
    start_seconds = await start_all(count, start_one)
    last, statuses = await wait_closed(client, f"NurtureCohort = '{tag}'", count, within=within)
    wall = (last - began).total_seconds()
    with session_scope(db) as session:
        steps = dict(
            session.exec(
                select(Message.step, func.count())
                .where(Message.cohort_id == tag, Message.status == MessageStatus.SENT)
                .group_by(Message.step)
            ).all()
        )
        outcomes = dict(
            session.exec(
                select(Enrollment.outcome, func.count())
                .where(Enrollment.cohort_id == tag, col(Enrollment.outcome).is_not(None))
                .group_by(Enrollment.outcome)
            ).all()
        )
    sends = sum(steps.values())
    return {
        "sequences": count,
        "seconds": round(wall, 2),
        "seq_per_s": rate(count, wall),
        "sends_per_s": rate(sends, wall),
        "sends": sends,
        "start_seconds": round(start_seconds, 2),
        "steps_sent": steps,
        "outcomes": outcomes,
        "statuses": statuses,
        "params": params,
    }


__all__ = [
    "ENGINE_PARAMS",
    "START_CONCURRENCY",
    "engine_sequences",
    "enroll_engine",
    "raw_sequences",
    "wait_closed",
]
