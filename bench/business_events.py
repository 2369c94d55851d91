"""Business events: `POST /api/events` at a steady rate for contacts with live enrollments, and per
event the time from its post to its signal accepted by Temporal (the outbox row's
`forwarded_at`), the same path and target as ESP events (p95 < 1 s)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import col, select

from bench.figures import latency_ms
from bench.ingest import Target
from models.db import session_scope
from models.tables import BusinessEvent, Event

EVENTS_PATH = "/api/events"
#: Not a goal or exit of any sequence: the enrollments record it and go on.
EVENT_NAME = "bench_ping"


def event_body(target: Target, key: str) -> dict[str, Any]:
    return {"id": key, "name": EVENT_NAME, "contact": {"email": target.email}, "properties": {}}


def signal_latencies(
    db: sa.Engine, prefix: str, posted_at: dict[str, datetime]
) -> tuple[int, list[float]]:
    """(events whose signal is still waiting, seconds from post to signal for the others)."""
    with session_scope(db) as session:
        events = dict(
            session.exec(
                select(BusinessEvent.id, BusinessEvent.key).where(
                    col(BusinessEvent.key).like(f"{prefix}-%")
                )
            ).all()
        )
        rows = session.exec(
            select(Event.esp_event_id, Event.forwarded_at, Event.late).where(
                Event.esp_type == "business", col(Event.received_at) >= min(posted_at.values())
            )
        ).all()
    waiting = 0
    seconds: list[float] = []
    for esp_event_id, forwarded_at, late in rows:
        event_id = esp_event_id.split(":")[1]
        key = events.get(uuid.UUID(event_id))
        if key is None:
            continue  # another run's event
        if forwarded_at is None:
            waiting += 1
        elif not late:
            seconds.append((forwarded_at - posted_at[key]).total_seconds())
    return waiting, seconds


async def paced_business_events(
    api_url: str,
    api_token: str,
    db: sa.Engine,
    targets: Sequence[Target],
    *,
    events_per_s: float = 200.0,
    seconds: float = 30.0,
    batch_size: int = 10,
    drain_within: float = 300,
) -> dict[str, Any]:
    """Batches of `batch_size` events at `events_per_s`: post → signal latency per event."""
    prefix = f"bench-biz-{uuid.uuid4().hex[:8]}"
    interval = batch_size / events_per_s
    batches = max(1, round(seconds / interval))
    posted_at: dict[str, datetime] = {}
    stored = late_posts = 0
    headers = {"Authorization": f"Bearer {api_token}"}
    async with httpx.AsyncClient(timeout=60, headers=headers) as http:
        began = time.perf_counter()
        for b in range(batches):
            delay = began + b * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif b:
                late_posts += 1
            keys = [f"{prefix}-{b}-{j}" for j in range(batch_size)]
            body = [
                event_body(targets[(b * batch_size + j) % len(targets)], key)
                for j, key in enumerate(keys)
            ]
            now = datetime.now().astimezone()
            response = await http.post(api_url + EVENTS_PATH, json=body)
            response.raise_for_status()
            stored += int(response.json()["stored"])
            posted_at.update(dict.fromkeys(keys, now))
        posting = time.perf_counter() - began
    deadline = time.monotonic() + drain_within
    while True:
        waiting, latencies = await asyncio.to_thread(signal_latencies, db, prefix, posted_at)
        if waiting == 0 and latencies:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{waiting} business event signals of {prefix} still waiting")
        await asyncio.sleep(0.25)
    return {
        "events_per_s_offered": events_per_s,
        "batch_size": batch_size,
        "events": batches * batch_size,
        "stored": stored,
        "signals": len(latencies),
        "seconds": round(posting, 2),
        "batches_posted_late": late_posts,
        "latency_ms": latency_ms(latencies),
    }


__all__ = ["EVENT_NAME", "paced_business_events", "signal_latencies"]
