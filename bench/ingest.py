"""Webhook ingest: signed Event Webhook batches into the live API — events acknowledged (stored)
per second when posted back to back, and per event the time from its commit (`received_at`) to
its signal accepted by Temporal (`forwarded_at`), posted back to back and at a steady rate."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import col, func, select

from activities.events.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bench.figures import latency_ms, rate
from models.db import session_scope
from models.tables import Event
from models.wire import CUSTOM_ARG_MESSAGE_ID

EVENTS_PATH = "/webhooks/sendgrid/events"


@dataclass(frozen=True)
class Target:
    """A live enrollment events are posted for: its workflow id and the contact's address."""

    workflow_id: str
    email: str
    message_id: str | None = None


def open_event(target: Target, event_id: str) -> dict[str, Any]:
    """A human open as SendGrid posts it, with nurture's custom args (flattened)."""
    event: dict[str, Any] = {
        "event": "open",
        "timestamp": int(time.time()),
        "sg_event_id": event_id,
        "email": target.email,
        "useragent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0",
        "ip": "203.0.113.7",
        "sg_machine_open": False,
        "nurture_workflow_id": target.workflow_id,
    }
    if target.message_id is not None:
        event[CUSTOM_ARG_MESSAGE_ID] = target.message_id
    return event


def build_batches(
    targets: Sequence[Target], *, batches: int, batch_size: int, prefix: str
) -> list[bytes]:
    """JSON bodies of `batches` batches of opens, spread over `targets` in turn."""
    bodies = []
    for b in range(batches):
        events = [
            open_event(targets[(b * batch_size + j) % len(targets)], f"{prefix}-{b}-{j}")
            for j in range(batch_size)
        ]
        bodies.append(json.dumps(events, separators=(",", ":")).encode())
    return bodies


async def post_signed(http: httpx.AsyncClient, url: str, private_pem: str, body: bytes) -> int:
    """POST one batch signed as SendGrid signs it; the number of events the API stored."""
    ts = str(int(time.time()))
    response = await http.post(
        url + EVENTS_PATH,
        content=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(private_pem, body, ts),
            TIMESTAMP_HEADER: ts,
        },
    )
    response.raise_for_status()
    return int(response.json()["stored"])


def forwarding_latencies(db: sa.Engine, prefix: str) -> tuple[int, list[float]]:
    """(events still waiting, seconds from commit to signal for each forwarded one)."""
    pattern = f"{prefix}-%"
    with session_scope(db) as session:
        rows = session.exec(
            select(Event.received_at, Event.forwarded_at, Event.late).where(
                col(Event.esp_event_id).like(pattern)
            )
        ).all()
    waiting = sum(1 for _, forwarded, _ in rows if forwarded is None)
    seconds = [
        (forwarded - received).total_seconds()
        for received, forwarded, late in rows
        if forwarded is not None and not late
    ]
    return waiting, seconds


async def drained(db: sa.Engine, prefix: str, *, within: float) -> list[float]:
    """Wait until the forwarder has handled every event of `prefix`; their latencies."""
    deadline = time.monotonic() + within
    while True:
        waiting, seconds = await asyncio.to_thread(forwarding_latencies, db, prefix)
        if waiting == 0:
            return seconds
        if time.monotonic() > deadline:
            raise TimeoutError(f"{waiting} events of {prefix} not forwarded in {within:.0f}s")
        await asyncio.sleep(0.25)


def stored_count(db: sa.Engine, prefix: str) -> int:
    with session_scope(db) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(Event)
                .where(col(Event.esp_event_id).like(f"{prefix}-%"))
            ).one()
        )


async def burst(
    api_url: str,
    private_pem: str,
    db: sa.Engine,
    targets: Sequence[Target],
    *,
    batches: int,
    batch_size: int = 1000,
    concurrency: int = 1,
    drain_within: float = 600,
) -> dict[str, Any]:
    """Batches back to back (`concurrency` in flight): events stored per second; then the
    latency of those events once the forwarder has caught up (a queue, under saturation)."""
    prefix = f"bench-burst-{uuid.uuid4().hex[:8]}"
    bodies = build_batches(targets, batches=batches, batch_size=batch_size, prefix=prefix)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    stored = 0

    async def poster(http: httpx.AsyncClient) -> None:
        nonlocal stored
        while not queue.empty():
            stored += await post_signed(http, api_url, private_pem, queue.get_nowait())

    async with httpx.AsyncClient(timeout=120) as http:
        began = time.perf_counter()
        await asyncio.gather(*(poster(http) for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    drain_began = time.perf_counter()
    latencies = await drained(db, prefix, within=drain_within)
    drain_seconds = time.perf_counter() - drain_began
    in_db = await asyncio.to_thread(stored_count, db, prefix)
    return {
        "batches": batches,
        "batch_size": batch_size,
        "concurrency": concurrency,
        "events": batches * batch_size,
        "stored": stored,
        "stored_in_db": in_db,
        "seconds": round(seconds, 2),
        "events_per_s": rate(stored, seconds),
        "forwarded_per_s": rate(len(latencies), seconds + drain_seconds),
        "drain_seconds_after_last_ack": round(drain_seconds, 2),
        "latency_ms": latency_ms(latencies),
    }


async def paced(
    api_url: str,
    private_pem: str,
    db: sa.Engine,
    targets: Sequence[Target],
    *,
    events_per_s: float,
    seconds: float,
    batch_size: int,
    drain_within: float = 300,
) -> dict[str, Any]:
    """Batches at a steady rate below capacity: the webhook → signal latency the target is on."""
    prefix = f"bench-paced-{uuid.uuid4().hex[:8]}"
    interval = batch_size / events_per_s
    batches = max(1, round(seconds / interval))
    bodies = build_batches(targets, batches=batches, batch_size=batch_size, prefix=prefix)
    stored = 0
    late_posts = 0
    async with httpx.AsyncClient(timeout=120) as http:
        began = time.perf_counter()
        for k, body in enumerate(bodies):
            delay = began + k * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif k:
                late_posts += 1  # the API acked the previous batch after this one was due
            stored += await post_signed(http, api_url, private_pem, body)
        posting = time.perf_counter() - began
    latencies = await drained(db, prefix, within=drain_within)
    return {
        "events_per_s_offered": events_per_s,
        "batch_size": batch_size,
        "batches": batches,
        "events": batches * batch_size,
        "stored": stored,
        "seconds": round(posting, 2),
        "batches_posted_late": late_posts,
        "latency_ms": latency_ms(latencies),
    }


__all__ = [
    "Target",
    "build_batches",
    "burst",
    "drained",
    "forwarding_latencies",
    "open_event",
    "paced",
    "post_signed",
]
