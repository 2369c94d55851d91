"""The forwarder's drain rate against a raw client's signal rate, on the same server in the same
run: a burst of human opens for live enrollments committed to the event outbox in one
transaction (stored by `EventIngestService`, as the webhook stores them), forwarded by the API's
forwarder until none is left; then as many signals, each carrying one of those events, sent by a
bare client to as many live raw workflows (`bench_raw_live`), at the forwarder's concurrency."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from activities.enrollment.enrolling import EnrollmentService
from activities.events.esp_events import parse_event_batch
from activities.events.ingest import EventIngestService
from bench.figures import rate
from bench.ingest import Target, build_batches
from bench.launch import all_waiting
from bench.raw_workflows import RAW_EVENTS_SIGNAL, RAW_LIVE
from bench.seeding import bench_sender, seed_contacts
from bench.stack import RAW_TASK_QUEUE, BenchStack
from bench.throughput import enroll_engine, start_all
from models.db import session_scope
from models.search_attributes import COHORT
from models.tables import Contact, Enrollment, Event, utcnow

#: `EventForwarder`'s signals in flight at most (its default), and so the raw client's.
SIGNAL_CONCURRENCY = 64
#: The live workflows on both sides wait this long: far beyond the part.
LIVE_SECONDS = 1800.0
DRAIN_TAG = "drain"

Measure = Callable[[str, Awaitable[Any]], Awaitable[tuple[Any, dict[str, float]]]]


async def live_enrollments(
    client: Client, db: sa.Engine, task_queue: str, count: int, *, tag: str
) -> list[Target]:
    """`count` `trade_intro` enrollments waiting behind a paused sender (each tried its intro
    once), as the launched ones wait; their workflow ids and addresses."""
    bench_sender(db, "paused", paused=True)
    contacts = seed_contacts(db, count, tag=tag)
    service = EnrollmentService(db, client, task_queue)

    async def start_one(i: int) -> None:
        await enroll_engine(service, contacts[i], tag=tag, sender_id="paused")

    await start_all(count, start_one)
    await all_waiting(client, tag, count, within=900)
    with session_scope(db) as session:
        rows = session.exec(
            select(Enrollment.workflow_id, Contact.email)
            .join(Contact, Contact.id == Enrollment.contact_id)  # type: ignore[arg-type]
            .where(Enrollment.cohort_id == tag)
            .order_by(col(Enrollment.workflow_id))
        ).all()
    return [Target(workflow_id=wf, email=email) for wf, email in rows]


async def live_raw_workflows(client: Client, count: int) -> list[str]:
    """`count` `bench_raw_live` workflows, started with a cohort attribute like an enrollment."""
    tag = f"bench-rawlive-{uuid.uuid4().hex[:8]}"
    attributes = TypedSearchAttributes([SearchAttributePair(COHORT, tag)])

    async def start_one(i: int) -> None:
        await client.start_workflow(
            RAW_LIVE,
            LIVE_SECONDS,
            id=f"{tag}/{i}",
            task_queue=RAW_TASK_QUEUE,
            search_attributes=attributes,
        )

    await start_all(count, start_one)
    return [f"{tag}/{i}" for i in range(count)]


def commit_burst(db: sa.Engine, targets: list[Target], events: int, prefix: str) -> datetime:
    """`events` human opens spread over `targets` in turn, stored in one transaction; when."""
    (body,) = build_batches(targets, batches=1, batch_size=events, prefix=prefix)
    EventIngestService(db).ingest_esp_events(parse_event_batch(body))
    return utcnow()


def waiting_rows(db: sa.Engine, prefix: str) -> int:
    with session_scope(db) as session:
        return int(
            session.exec(
                select(func.count()).where(
                    col(Event.esp_event_id).like(f"{prefix}-%"), col(Event.forwarded_at).is_(None)
                )
            ).one()
        )


async def wait_drained(db: sa.Engine, prefix: str, *, within: float) -> None:
    """Until no row of `prefix` waits: one count every half second, light beside the drain."""
    deadline = time.monotonic() + within
    while waiting := await asyncio.to_thread(waiting_rows, db, prefix):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{waiting} events of {prefix} not forwarded in {within:.0f}s")
        await asyncio.sleep(0.5)


def forwarded_rows(db: sa.Engine, prefix: str) -> dict[str, Any]:
    """The burst's rows once forwarded: how many signalled, how many late, first and last."""
    like = col(Event.esp_event_id).like(f"{prefix}-%")
    with session_scope(db) as session:
        late = session.exec(select(func.count()).where(like, col(Event.late))).one()
        count, first, last = session.exec(
            select(func.count(), func.min(Event.forwarded_at), func.max(Event.forwarded_at)).where(
                like, col(Event.late).is_(False), col(Event.forwarded_at).is_not(None)
            )
        ).one()
    return {"forwarded": int(count), "late": int(late), "first": first, "last": last}


def burst_payloads(db: sa.Engine, prefix: str) -> list[dict[str, Any]]:
    """The burst's engagement events as the forwarder signalled them, in order."""
    with session_scope(db) as session:
        rows = session.exec(
            select(Event.payload)
            .where(col(Event.esp_event_id).like(f"{prefix}-%"))
            .order_by(col(Event.id))
        ).all()
    return [dict(row) for row in rows if row is not None]


async def forwarder_drain(
    db: sa.Engine, targets: list[Target], events: int, *, within: float = 1800
) -> dict[str, Any]:
    """Commit the burst, wait until the forwarder has handled every row; rows forwarded per
    second from its first signal accepted to its last (the poll that finds the burst — at most
    `forwarder_poll_seconds` after the commit — is left out, and reported)."""
    prefix = f"bench-drain-{uuid.uuid4().hex[:8]}"
    began = time.perf_counter()
    committed_at = await asyncio.to_thread(commit_burst, db, targets, events, prefix)
    storing = time.perf_counter() - began
    await wait_drained(db, prefix, within=within)
    rows = await asyncio.to_thread(forwarded_rows, db, prefix)
    if rows["first"] is None:
        raise RuntimeError(f"no event of {prefix} was signalled ({rows['late']} late)")
    seconds = (rows["last"] - rows["first"]).total_seconds()
    return {
        "prefix": prefix,
        "events": events,
        "targets": len(targets),
        "forwarded": rows["forwarded"],
        "late": rows["late"],
        "storing_seconds": round(storing, 2),
        "first_signal_after_commit_s": round((rows["first"] - committed_at).total_seconds(), 2),
        "seconds": round(seconds, 2),
        "forwarded_per_s": rate(rows["forwarded"], seconds),
    }


async def raw_signals(
    client: Client, workflow_ids: list[str], payloads: list[dict[str, Any]]
) -> dict[str, Any]:
    """One signal per payload (a one-event list, as the forwarder sends one workflow's event),
    spread over `workflow_ids` in turn, `SIGNAL_CONCURRENCY` in flight."""
    next_index = 0

    async def sender() -> None:
        nonlocal next_index
        while next_index < len(payloads):
            i = next_index
            next_index += 1
            handle = client.get_workflow_handle(workflow_ids[i % len(workflow_ids)])
            await handle.signal(RAW_EVENTS_SIGNAL, [payloads[i]])

    began = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(SIGNAL_CONCURRENCY)))
    seconds = time.perf_counter() - began
    return {
        "signals": len(payloads),
        "targets": len(workflow_ids),
        "concurrency": SIGNAL_CONCURRENCY,
        "seconds": round(seconds, 2),
        "signals_per_s": rate(len(payloads), seconds),
    }


async def drain_part(
    client: Client,
    db: sa.Engine,
    stack: BenchStack,
    measure: Measure,
    *,
    events: int,
    targets: int,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Both rates, each measured once the workers and the API are idle again."""
    say(f"drain: {targets} live enrollments and {targets} live raw workflows")
    live = await live_enrollments(client, db, stack.settings.task_queue, targets, tag=DRAIN_TAG)
    raw_ids = await live_raw_workflows(client, targets)
    idle = ("worker", "raw-worker", "api")
    await stack.quiet(idle)
    say(f"drain: {events} events committed at once, the forwarder drains them")
    forwarder, forwarder["cpu_seconds"] = await measure(
        "drain-forwarder", forwarder_drain(db, live, events)
    )
    say(f"drain: {forwarder['forwarded_per_s']} rows/s; a raw client signals as many")
    payloads = await asyncio.to_thread(burst_payloads, db, forwarder["prefix"])
    await stack.quiet(idle)
    raw, raw["cpu_seconds"] = await measure("drain-raw", raw_signals(client, raw_ids, payloads))
    say(f"drain: raw client {raw['signals_per_s']} signals/s")
    ratio = forwarder["forwarded_per_s"] / raw["signals_per_s"] if raw["signals_per_s"] else None
    return {
        "forwarder": forwarder,
        "raw_client": raw,
        "ratio": round(ratio, 2) if ratio is not None else None,
    }


__all__ = [
    "SIGNAL_CONCURRENCY",
    "drain_part",
    "forwarder_drain",
    "live_enrollments",
    "live_raw_workflows",
    "raw_signals",
]
