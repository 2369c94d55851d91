"""Kill recovery: enrollments whose first send is in flight when their worker is SIGKILLed, and
the seconds from the kill until the simulator has received every interrupted step, sent by the
worker started in its place.

"In flight" is made certain, not left to timing: the database's write lock is held while the
worker starts, so every send activity is started (dispatched to the worker, consent read,
email rendered) and waits on its first write — the quota reservation, in the transaction that
commits the message row — when the worker is killed. Nothing of it is committed: the retry sends
the mail. (A send killed during the ESP call is, by design, never sent again: its row stays
`pending` and the retry records `unknown` — at most once.) The server retries an attempt whose
worker vanished once its start-to-close timeout (or, with heartbeats, its heartbeat timeout) has
passed, after the retry policy's first interval."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client

from activities.enrollment.enrolling import EnrollmentService
from bench.figures import percentile
from bench.seeding import seed_contacts
from bench.stack import KILL_TASK_QUEUE, BenchStack
from bench.throughput import enroll_engine, start_all, wait_closed
from models.wire import CUSTOM_ARG_WORKFLOW_ID, SEND_STEP_ACTIVITY
from workflows.engine import SEND_RETRY_POLICY, SEND_START_TO_CLOSE

KILL_TAG = "kill"
INTRO_CATEGORY = "trade_intro/intro"
#: How long the sends may wait on the lock before the kill: well under SQLite's busy timeout
#: (30 s), after which they would fail instead of waiting.
IN_FLIGHT_WITHIN = 20.0


@contextlib.contextmanager
def write_lock(database_url: str) -> Iterator[None]:
    """Hold the SQLite database's write lock (readers go on: WAL)."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise NotImplementedError("the kill part holds SQLite's write lock; run it on SQLite")
    conn = sqlite3.connect(url.database, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        conn.close()


async def sends_in_flight(client: Client, workflow_ids: list[str], *, within: float) -> float:
    """Seconds until every workflow's send activity is started on a worker."""
    began = time.monotonic()
    waiting = set(workflow_ids)
    while waiting:
        if time.monotonic() - began > within:
            raise TimeoutError(f"{len(waiting)} sends not started after {within:.0f}s")
        descriptions = await asyncio.gather(
            *(client.get_workflow_handle(wid).describe() for wid in waiting)
        )
        for wid, description in zip(list(waiting), descriptions, strict=True):
            if any(
                pending.activity_type.name == SEND_STEP_ACTIVITY
                and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                for pending in description.raw_description.pending_activities
            ):
                waiting.discard(wid)
        await asyncio.sleep(0.1)
    return time.monotonic() - began


async def intros_received(
    simulator_url: str, workflow_ids: list[str], *, within: float
) -> dict[str, list[datetime]]:
    """For each workflow, when the simulator received its intro(s); waits until each has one."""
    received: dict[str, list[datetime]] = {}
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=simulator_url, timeout=30) as http:
        while True:
            for wid in [w for w in workflow_ids if w not in received]:
                response = await http.get(
                    "/_sim/messages", params={f"custom_args.{CUSTOM_ARG_WORKFLOW_ID}": wid}
                )
                response.raise_for_status()
                times = [
                    datetime.fromisoformat(m["sent_at"])
                    for m in response.json()
                    if INTRO_CATEGORY in m["categories"]
                ]
                if times:
                    received[wid] = times
            if len(received) == len(workflow_ids):
                return received
            if time.monotonic() > deadline:
                missing = len(workflow_ids) - len(received)
                raise TimeoutError(f"{missing} interrupted intros not received after {within:.0f}s")
            await asyncio.sleep(0.25)


async def kill_recovery(
    client: Client,
    db: sa.Engine,
    stack: BenchStack,
    *,
    enrollments: int,
    within: float = 600,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Enroll, start a worker with every intro held in flight, SIGKILL it, start another; the
    seconds from the kill to the last interrupted intro received."""
    contacts = seed_contacts(db, enrollments, tag=KILL_TAG)
    service = EnrollmentService(db, client, KILL_TASK_QUEUE)
    workflow_ids: list[str] = [""] * enrollments

    async def start_one(i: int) -> None:
        workflow_ids[i] = await enroll_engine(service, contacts[i], tag=KILL_TAG)

    await start_all(enrollments, start_one)  # onto a queue no worker polls yet
    say(f"kill: {enrollments} enrollments; a worker starts with every intro held in flight")
    with write_lock(stack.database_url):
        stack.start_worker("kill-worker", KILL_TASK_QUEUE)
        in_flight = await sends_in_flight(client, workflow_ids, within=IN_FLIGHT_WITHIN)
        await asyncio.sleep(0.5)  # each attempt now waits on the lock
        stack.kill_child("kill-worker")
        killed_at = datetime.now(UTC)
    say("kill: worker killed (SIGKILL) with every intro in flight; a new worker starts")
    stack.start_worker("kill-worker-2", KILL_TASK_QUEUE)
    try:
        received = await intros_received(stack.simulator_url, workflow_ids, within=within)
        after = [(min(times) - killed_at).total_seconds() for times in received.values()]
        say(f"kill: every interrupted intro received {max(after):.1f} s after the kill")
        _, statuses = await wait_closed(
            client, f"NurtureCohort = '{KILL_TAG}'", enrollments, within=within
        )
        received = await intros_received(stack.simulator_url, workflow_ids, within=10)
    finally:
        stack.stop_child("kill-worker-2")
    return {
        "enrollments": enrollments,
        "in_flight_at_kill": enrollments,
        "seconds_to_all_in_flight": round(in_flight, 2),
        "recovery_s": round(max(after), 1),
        "per_step_s": {"p50": round(percentile(after, 0.5), 1), "max": round(max(after), 1)},
        "intros_sent_twice": sum(1 for times in received.values() if len(times) > 1),
        "statuses": statuses,
        "send_start_to_close_s": SEND_START_TO_CLOSE.total_seconds(),
        "send_retry_initial_interval_s": SEND_RETRY_POLICY.initial_interval.total_seconds(),
    }


__all__ = ["intros_received", "kill_recovery", "sends_in_flight", "write_lock"]
