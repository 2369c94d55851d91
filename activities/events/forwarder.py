"""Forwards stored events to their workflows as signals: the outbox relay between the webhook
(which only commits) and Temporal (which may be down).

Each pass leases a batch of unforwarded rows (`claimed_until`, safe with several API replicas),
signals them — in order within a workflow, concurrently across workflows — and records the
result: forwarded, late (the workflow is closed or gone: kept, never retried), or failed (Temporal
unreachable: retried after a growing pause). A workflow's consecutive engagement events in one
pass go in one `engagement_events` signal (ESPs post processed, delivered and open together):
one history event and one workflow task instead of one per event. Nothing is lost across
restarts: the rows are the queue. A duplicate signal is harmless: workflows drop events they
have seen (`esp_event_id`).
`run()` keeps two passes going at once (the next batch is claimed and signalled while the
previous one's slowest signals and its bookkeeping finish); a workflow's relay in the later pass
waits for its relay in the earlier one, and fails with it, so passes under way together keep
each workflow's order. An event waiting out its retry pause can still be overtaken by a newer
one for the same workflow, which the workflows allow for (ESP events come unordered too).
Each pass's result goes to the observers given to `observe()` (the API's `/metrics`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from models.db import session_scope
from models.events import EngagementEvent
from models.tables import Event, EventSignal, utcnow
from models.wire import CANCEL_SIGNAL, EVENTS_SIGNAL, PAUSE_SIGNAL, RESUME_SIGNAL

log = structlog.stdlib.get_logger(__name__)

LEASE = timedelta(seconds=30)
MAX_BACKOFF_SECONDS = 60.0
#: Engagement events carried by one signal at most (a signal's payload is one history event).
MAX_EVENTS_PER_SIGNAL = 100
#: Passes `run()` keeps going at once: one claims and starts signalling while the other's last
#: signals and its bookkeeping finish.
PASSES_IN_FLIGHT = 2

#: Rows the forwarder still has to signal (due now or waiting out a retry pause).
UNFORWARDED = sa.and_(col(Event.forwarded_at).is_(None), col(Event.workflow_id).is_not(None))


@dataclass(frozen=True)
class PendingSignal:
    id: int
    workflow_id: str
    signal: str
    payload: dict[str, Any] | None
    attempts: int
    received_at: datetime


@dataclass
class _Outcome:
    """What one pass's relays did, row by row, for `_record`."""

    done: list[tuple[int, datetime]] = field(default_factory=list)
    late: list[int] = field(default_factory=list)
    failed: list[tuple[PendingSignal, str]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


@dataclass
class PassResult:
    forwarded: int = 0
    late: int = 0
    failed: int = 0
    #: For each forwarded event: seconds from its webhook's arrival to the signal's acceptance.
    signal_latencies: list[float] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.forwarded + self.late + self.failed


class EventForwarder:
    """Relays the event outbox to Temporal; `wake()` after a commit for sub-second latency."""

    def __init__(
        self,
        engine: sa.Engine,
        connect: Callable[[], Awaitable[Client]],
        *,
        batch_size: int = 2000,
        concurrency: int = 64,
        poll_seconds: float = 1.0,
    ) -> None:
        self._engine = engine
        self._connect = connect
        self._client: Client | None = None
        self._batch_size = batch_size
        self._semaphore = asyncio.Semaphore(concurrency)
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._observers: list[Callable[[PassResult], None]] = []
        #: Each workflow's newest relay still running: a later pass's relay waits for it.
        self._lanes: dict[str, asyncio.Task[bool]] = {}

    def observe(self, observer: Callable[[PassResult], None]) -> None:
        """Call `observer` with the result of every pass that handled at least one event."""
        self._observers.append(observer)

    def wake(self) -> None:
        """New rows were committed: forward them now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Forward until cancelled, passes overlapping: the next batch is claimed and signalled
        while the previous one's slowest signals and its bookkeeping finish, so a burst drains
        near the server's signal rate (`concurrency` signals in flight across passes). A
        workflow's events still go in order: its relay in a later pass waits for its relay in
        the earlier one (`_lanes`)."""
        passes: set[asyncio.Task[PassResult]] = set()
        try:
            while True:
                if len(passes) >= PASSES_IN_FLIGHT:
                    await asyncio.wait(passes, return_when=asyncio.FIRST_COMPLETED)
                self._wake.clear()
                try:
                    batch = await asyncio.to_thread(self._claim)
                except Exception:  # the relay must outlive any one failure; logged, not lost
                    log.exception("forwarder pass failed; retrying")
                    batch = []
                if batch:
                    task = asyncio.create_task(self._pass(batch))
                    passes.add(task)
                    task.add_done_callback(passes.discard)
                    if len(batch) >= self._batch_size:
                        continue  # more is waiting: claim it now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
        finally:
            for task in passes:
                task.cancel()

    async def _pass(self, batch: list[PendingSignal]) -> PassResult:
        try:
            result = await self._relay_batch(batch)
        except Exception:  # logged; the rows' lease runs out and the next pass takes them
            log.exception("forwarder pass failed; retrying")
            return PassResult()
        for observer in self._observers:
            observer(result)
        return result

    async def forward_pending(self) -> PassResult:
        """One pass over the due rows (at most one batch), recorded before it returns."""
        self._wake.clear()
        batch = await asyncio.to_thread(self._claim)
        if not batch:
            return PassResult()
        result = await self._relay_batch(batch)
        for observer in self._observers:
            observer(result)
        return result

    async def _relay_batch(self, batch: list[PendingSignal]) -> PassResult:
        client = await self._client_or_none()
        if client is None:
            await asyncio.to_thread(
                self._record, [], [], [(p, "Temporal unreachable") for p in batch]
            )
            return PassResult(failed=len(batch))
        by_workflow: dict[str, list[PendingSignal]] = defaultdict(list)
        for pending in batch:
            by_workflow[pending.workflow_id].append(pending)
        outcome = _Outcome()
        relays = []
        for workflow_id, items in by_workflow.items():
            before = self._lanes.get(workflow_id)
            task = asyncio.create_task(self._relay(client, items, before, outcome))
            self._lanes[workflow_id] = task
            task.add_done_callback(functools.partial(self._leave_lane, workflow_id))
            relays.append(task)
        await asyncio.gather(*relays)
        await asyncio.to_thread(self._record, outcome.done, outcome.late, outcome.failed)
        if outcome.late:
            log.info("events for closed workflows kept as late", events=len(outcome.late))
        if outcome.failed:
            log.warning("events not delivered; will retry", events=len(outcome.failed))
        return PassResult(
            forwarded=len(outcome.done),
            late=len(outcome.late),
            failed=len(outcome.failed),
            signal_latencies=outcome.latencies,
        )

    async def _relay(
        self,
        client: Client,
        items: list[PendingSignal],
        before: asyncio.Task[bool] | None,
        outcome: _Outcome,
    ) -> bool:
        """Signal one workflow's rows in order, after its relay of an earlier pass (`before`);
        False if some of them wait for a retry."""
        if before is not None and not await asyncio.shield(before):
            # Its earlier events wait for a retry: these wait with them, in order.
            error = "an earlier event of this workflow waits for a retry"
            outcome.failed.extend((p, error) for p in items)
            return False
        groups = signal_groups(items)
        async with self._semaphore:
            for i, group in enumerate(groups):
                try:
                    await self._signal(client, group)
                except RPCError as err:
                    if err.status == RPCStatusCode.NOT_FOUND:
                        outcome.late.extend(p.id for p in group)
                        continue
                    # Keep this workflow's order: the rest of its events wait too.
                    error = f"{err.status.name}: {err.message}"
                    outcome.failed.extend((p, error) for rest in groups[i:] for p in rest)
                    return False
                except Exception as exc:
                    # Anything else (a timeout, a payload the converter refuses) fails this
                    # workflow's rows alone: the other workflows' signals of this pass were
                    # accepted and must still be recorded, or the next lease re-sends them.
                    error = f"{type(exc).__name__}: {exc}"
                    outcome.failed.extend((p, error) for rest in groups[i:] for p in rest)
                    return False
                at = utcnow()
                for pending in group:
                    outcome.done.append((pending.id, at))
                    outcome.latencies.append((at - pending.received_at).total_seconds())
        return True

    def _leave_lane(self, workflow_id: str, task: asyncio.Task[bool]) -> None:
        if self._lanes.get(workflow_id) is task:
            del self._lanes[workflow_id]

    # -- Temporal --------------------------------------------------------------------------------

    async def client(self) -> Client | None:
        """The Temporal client, connecting on first use; None while Temporal is unreachable."""
        return await self._client_or_none()

    async def _client_or_none(self) -> Client | None:
        if self._client is None:
            try:
                self._client = await self._connect()
            except Exception as exc:  # connection refused, DNS, TLS: all mean "retry later"
                log.warning(
                    "forwarder cannot reach Temporal", error=type(exc).__name__, reason=str(exc)
                )
                return None
        return self._client

    async def _signal(self, client: Client, group: list[PendingSignal]) -> None:
        """One signal: a control signal (a group of one) or a group's engagement events."""
        first = group[0]
        handle = client.get_workflow_handle(first.workflow_id)
        if first.signal == EventSignal.CANCEL:
            reason = (first.payload or {}).get("reason")
            await handle.signal(CANCEL_SIGNAL, reason)
        elif first.signal == EventSignal.PAUSE:
            await handle.signal(PAUSE_SIGNAL)
        elif first.signal == EventSignal.RESUME:
            await handle.signal(RESUME_SIGNAL)
        else:
            events = [EngagementEvent.model_validate(p.payload) for p in group]
            await handle.signal(EVENTS_SIGNAL, events)

    # -- the outbox rows -----------------------------------------------------------------------

    def _claim(self) -> list[PendingSignal]:
        now = utcnow()
        due = sa.and_(
            UNFORWARDED,
            sa.or_(col(Event.claimed_until).is_(None), col(Event.claimed_until) < now),
        )
        ids = sa.select(col(Event.id)).where(due).order_by(col(Event.id)).limit(self._batch_size)
        stmt = (
            sa.update(Event)
            .where(col(Event.id).in_(ids.scalar_subquery()), due)
            .values(claimed_until=now + LEASE)
            .returning(
                col(Event.id),
                col(Event.workflow_id),
                col(Event.signal),
                col(Event.payload),
                col(Event.forward_attempts),
                col(Event.received_at),
            )
        )
        with session_scope(self._engine) as session:
            rows = session.execute(stmt).all()
        return sorted(
            (
                PendingSignal(
                    r.id, r.workflow_id, r.signal, r.payload, r.forward_attempts, r.received_at
                )
                for r in rows
            ),
            key=lambda p: p.id,
        )

    def _record(
        self,
        done: list[tuple[int, datetime]],
        late: list[int],
        failed: list[tuple[PendingSignal, str]],
    ) -> None:
        now = utcnow()
        with session_scope(self._engine) as session:
            if done:
                # Each row keeps the moment its signal was accepted (the latency we report).
                session.execute(
                    sa.update(Event),
                    [
                        {
                            "id": row_id,
                            "forwarded_at": at,
                            "claimed_until": None,
                            "forward_error": None,
                        }
                        for row_id, at in done
                    ],
                )
            if late:
                session.execute(
                    sa.update(Event)
                    .where(col(Event.id).in_(late))
                    .values(forwarded_at=now, claimed_until=None, late=True)
                )
            for pending, error in failed:
                backoff = min(MAX_BACKOFF_SECONDS, 0.5 * 2**pending.attempts)
                session.execute(
                    sa.update(Event)
                    .where(col(Event.id) == pending.id)
                    .values(
                        forward_attempts=pending.attempts + 1,
                        forward_error=error[:500],
                        claimed_until=now + timedelta(seconds=backoff),
                    )
                )


def signal_groups(items: list[PendingSignal]) -> list[list[PendingSignal]]:
    """One workflow's pending rows, in order, cut into signals: runs of consecutive engagement
    events (at most `MAX_EVENTS_PER_SIGNAL` each) and every control signal on its own."""
    groups: list[list[PendingSignal]] = []
    for pending in items:
        batchable = pending.signal == EventSignal.ENGAGEMENT
        last = groups[-1] if groups else None
        if (
            batchable
            and last is not None
            and last[0].signal == EventSignal.ENGAGEMENT
            and len(last) < MAX_EVENTS_PER_SIGNAL
        ):
            last.append(pending)
        else:
            groups.append([pending])
    return groups


@dataclass(frozen=True)
class OutboxState:
    """How far behind the forwarder is: rows waiting, and when the oldest of them arrived."""

    backlog: int
    oldest_received_at: datetime | None

    def lag_seconds(self, now: datetime) -> float:
        """Age of the oldest waiting event; 0 when nothing waits."""
        if self.oldest_received_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_received_at).total_seconds())


def outbox_state(session: Session) -> OutboxState:
    """The backlog and its oldest row, in one aggregate query."""
    count, oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(col(Event.received_at)))
        .select_from(Event)
        .where(UNFORWARDED)
    ).one()  # MIN() keeps the column's type: an aware UTC datetime on every backend
    return OutboxState(backlog=int(count), oldest_received_at=oldest)


def backlog(engine: sa.Engine) -> int:
    """Events waiting to be signalled (for /metrics and tests)."""
    with session_scope(engine) as session:
        return outbox_state(session).backlog


__all__ = [
    "EventForwarder",
    "OutboxState",
    "PassResult",
    "backlog",
    "outbox_state",
    "signal_groups",
]
