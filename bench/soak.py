"""The soak run (not in CI): `trade_intro` enrollments at a fixed rate for a long time, through
the same stack and path as the engine part (real sends into the simulator, its webhooks
signalling back), sampling every minute what must stay flat: the processes' memory, the
webhook → signal latency, and whether the engine keeps up (completions per minute, outbox
backlog, enrollments in flight).

    .venv/bin/python -m bench.run --soak 3600 --rate 5 [--sample-every 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select

from activities.enrollment.enrolling import EnrollmentService
from activities.events.forwarder import backlog
from bench.figures import latency_ms, process_memory_mb
from bench.seeding import bench_sender, seed_contacts
from bench.stack import BenchStack
from bench.throughput import ENGINE_PARAMS, enroll_engine
from models.db import get_engine, session_scope
from models.tables import Enrollment, Event
from models.temporal_client import connect

TAG = "soak"
#: The worker's and the API's memory may grow this much from the first third to the last.
RSS_GROWTH_BOUND = 0.10
#: The last third's p95 may be this much above the first third's (and under the 1 s target).
LATENCY_GROWTH_BOUND = 1.5


def window_figures(db: sa.Engine, since: datetime, until: datetime) -> dict[str, Any]:
    """Latency of the events received in [since, until) and enrollments completed then."""
    with session_scope(db) as session:
        rows = session.exec(
            select(Event.received_at, Event.forwarded_at).where(
                col(Event.received_at) >= since,
                col(Event.received_at) < until,
                col(Event.forwarded_at).is_not(None),
                col(Event.late).is_(False),
            )
        ).all()
        completed = session.exec(
            select(func.count())
            .select_from(Enrollment)
            .where(
                Enrollment.cohort_id == TAG,
                col(Enrollment.ended_at) >= since,
                col(Enrollment.ended_at) < until,
            )
        ).one()
    seconds = [(f - r).total_seconds() for r, f in rows if f is not None]
    return {"latency_ms": latency_ms(seconds), "completed": int(completed)}


def verdict(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Flat or not: memory, latency and throughput of the last third against the first."""
    steady = samples[1:] or samples  # the first minute fills caches and pools
    third = max(1, len(steady) // 3)
    first, last = steady[:third], steady[-third:]

    def mean(rows: list[dict[str, Any]], get: Callable[[dict[str, Any]], float]) -> float:
        return sum(get(r) for r in rows) / len(rows)

    rss = {
        name: (mean(first, itemgetter(f"{name}_rss_mb")), mean(last, itemgetter(f"{name}_rss_mb")))
        for name in ("worker", "api", "simulator", "temporal")
    }
    p95_first = mean(first, lambda r: r["latency_ms"]["p95"])
    p95_last = mean(last, lambda r: r["latency_ms"]["p95"])
    expected = mean(steady, lambda r: r["enrolled"])
    completed = mean(last, lambda r: r["completed"])
    # nurture's own processes; the simulator keeps every mail it got and the dev server is
    # Temporal's: their growth is reported, not judged.
    memory_flat = all(
        rss[name][1] <= rss[name][0] * (1 + RSS_GROWTH_BOUND) for name in ("worker", "api")
    )
    latency_flat = p95_last <= max(p95_first * LATENCY_GROWTH_BOUND, 100.0) and p95_last < 1000
    keeps_up = completed >= 0.9 * expected and last[-1]["outbox_backlog"] < expected
    return {
        "rss_mb_first_third": {name: round(v[0], 1) for name, v in rss.items()},
        "rss_mb_last_third": {name: round(v[1], 1) for name, v in rss.items()},
        "p95_ms_first_third": round(p95_first, 1),
        "p95_ms_last_third": round(p95_last, 1),
        "completed_per_sample_last_third": round(completed, 1),
        "enrolled_per_sample": round(expected, 1),
        "memory_flat": memory_flat,
        "latency_flat": latency_flat,
        "keeps_up": keeps_up,
        "flat": memory_flat and latency_flat and keeps_up,
    }


async def soak(
    args: argparse.Namespace, stack: BenchStack, say: Callable[[str], None]
) -> dict[str, Any]:
    client = await connect(stack.settings, address=stack.temporal_address)
    db = get_engine(stack.database_url)
    bench_sender(db, "default")
    total = int(args.soak * args.rate)
    contacts = seed_contacts(db, total, tag=TAG)
    service = EnrollmentService(db, client, stack.settings.task_queue)
    enrolled = 0
    failures: list[str] = []
    tasks: set[asyncio.Task[None]] = set()

    async def enroll(i: int) -> None:
        nonlocal enrolled
        try:
            await enroll_engine(service, contacts[i], tag=TAG)
            enrolled += 1
        except Exception as exc:  # a soak reports failures instead of stopping at the first
            failures.append(f"{type(exc).__name__}: {exc}"[:300])

    samples: list[dict[str, Any]] = []
    began = time.monotonic()
    window_start = datetime.now(UTC)
    next_sample = began + args.sample_every
    enrolled_at_sample = 0
    say(f"soak: {args.rate}/s for {args.soak:.0f} s, a sample every {args.sample_every:.0f} s")
    for i in range(total):
        delay = began + i / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(enroll(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        if time.monotonic() >= next_sample:
            now = datetime.now(UTC)
            # Events of the last few seconds may still be in flight: look one window back.
            figures = await asyncio.to_thread(
                window_figures, db, window_start - timedelta(seconds=5), now - timedelta(seconds=5)
            )
            running = await client.count_workflows(
                f"NurtureCohort = '{TAG}' AND ExecutionStatus = 'Running'"
            )
            sample = {
                "t_s": round(time.monotonic() - began),
                "enrolled": enrolled - enrolled_at_sample,
                "completed": figures["completed"],
                "running": running.count,
                "outbox_backlog": await asyncio.to_thread(backlog, db),
                "latency_ms": figures["latency_ms"],
                "worker_rss_mb": process_memory_mb(stack.pid("worker"))["rss"],
                "api_rss_mb": process_memory_mb(stack.pid("api"))["rss"],
                "simulator_rss_mb": process_memory_mb(stack.pid("simulator"))["rss"],
                "temporal_rss_mb": process_memory_mb(stack.pid("temporal"))["rss"],
            }
            samples.append(sample)
            say(f"soak: {json.dumps(sample)}")
            enrolled_at_sample = enrolled
            window_start = now
            next_sample += args.sample_every
    await asyncio.gather(*tasks)
    return {
        "soak": {
            "seconds": args.soak,
            "rate_per_s": args.rate,
            "sample_every_s": args.sample_every,
            "enrolled": enrolled,
            "failures": len(failures),
            "first_failures": failures[:5],
            "params": ENGINE_PARAMS,
            "samples": samples,
            "verdict": verdict(samples) if samples else None,
        }
    }


__all__ = ["soak", "verdict", "window_figures"]
