"""EventForwarder, one pass at a time, against the time-skipping Temporal server: a workflow's
events arrive in order, in one signal per pass of at most 100 events; closed or unknown workflows
keep their events as late; an unavailable Temporal leaves rows for a later pass, in order; a lease
keeps a second forwarder off rows the first is signalling.

The target workflows run on a task queue no worker polls: Temporal still records every signal in
their histories, which is what these tests read."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlmodel import col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.events.forwarder import (
    LEASE,
    MAX_BACKOFF_SECONDS,
    MAX_EVENTS_PER_SIGNAL,
    EventForwarder,
    backlog,
)
from activities.events.ingest import EventIngestService, insert_once
from models.db import session_scope
from models.esp_events import EspEvent
from models.events import EngagementEvent, EventKind
from models.tables import Event, EventSignal, utcnow
from models.wire import CANCEL_SIGNAL, EVENTS_SIGNAL, PAUSE_SIGNAL
from tests.workflows.scenarios import start_env

#: Signals as a target's history holds them: (name, esp event ids) for engagement events, else
#: (name, the signal's argument or None).
Received = list[tuple[str, Any]]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_env()
    try:
        yield environment
    finally:
        await environment.shutdown()


class Temporal:
    """The real client, with a switchboard: refuse a workflow's next signals as UNAVAILABLE,
    or hold every signal until `release()` (to catch a forwarder mid-pass)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        #: workflow id -> how many of its next signals Temporal refuses
        self.unavailable: dict[str, int] = {}
        #: workflow id -> an exception its next signal raises, once (not an RPCError)
        self.broken: dict[str, Exception] = {}
        self.holding = False
        self.held = asyncio.Event()
        #: How many signals are being held now.
        self.waiting = 0
        self._released = asyncio.Event()

    def get_workflow_handle(self, workflow_id: str) -> _Handle:
        return _Handle(self, self.client.get_workflow_handle(workflow_id))

    def release(self) -> None:
        self._released.set()


class _Handle:
    def __init__(self, temporal: Temporal, handle: WorkflowHandle) -> None:
        self._temporal = temporal
        self._handle = handle

    async def signal(self, name: str, *args: Any) -> None:
        t, workflow_id = self._temporal, self._handle.id
        if t.holding:
            t.held.set()
            t.waiting += 1
            await t._released.wait()
            t.waiting -= 1
        if t.unavailable.get(workflow_id, 0) > 0:
            t.unavailable[workflow_id] -= 1
            raise RPCError("connection reset", RPCStatusCode.UNAVAILABLE, b"")
        if workflow_id in t.broken:
            raise t.broken.pop(workflow_id)
        await self._handle.signal(name, *args)


@pytest.fixture
def switchboard(temporal: WorkflowEnvironment) -> Temporal:
    return Temporal(temporal.client)


def forwarder_for(
    engine: sa.Engine, temporal: Temporal, connect: Callable[[], Awaitable[Any]] | None = None
) -> EventForwarder:
    async def connect_to_switchboard() -> Any:
        return temporal

    return EventForwarder(engine, connect or connect_to_switchboard)


@pytest.fixture
def forwarder(engine: sa.Engine, switchboard: Temporal) -> EventForwarder:
    return forwarder_for(engine, switchboard)


async def running_workflow(temporal: WorkflowEnvironment) -> str:
    """A started workflow nobody runs: it stays open and records the signals it is sent."""
    workflow_id = f"nurture/trade_intro/{uuid.uuid4()}"
    await temporal.client.start_workflow(
        "ForwarderTarget", id=workflow_id, task_queue=f"nobody-{uuid.uuid4()}"
    )
    return workflow_id


async def received(temporal: WorkflowEnvironment, workflow_id: str) -> Received:
    history = await temporal.client.get_workflow_handle(workflow_id).fetch_history()
    signals: Received = []
    for e in history.events:
        if not e.HasField("workflow_execution_signaled_event_attributes"):
            continue
        attrs = e.workflow_execution_signaled_event_attributes
        args = [json.loads(p.data) for p in attrs.input.payloads]
        if attrs.signal_name == EVENTS_SIGNAL:
            signals.append((EVENTS_SIGNAL, [event["esp_event_id"] for event in args[0]]))
        else:
            signals.append((attrs.signal_name, args[0] if args else None))
    return signals


def queue_events(engine: sa.Engine, *items: tuple[str, str]) -> None:
    """Store (workflow id, esp event id) opens in one webhook batch, as the ingest does."""
    now = utcnow()
    EventIngestService(engine).ingest_esp_events(
        [
            EspEvent(
                event=EngagementEvent(kind=EventKind.OPEN, occurred_at=now, esp_event_id=eid),
                esp_type="open",
                esp_event_id=eid,
                workflow_id=workflow_id,
                occurred_at=now,
            )
            for workflow_id, eid in items
        ]
    )


def queue_control(engine: sa.Engine, workflow_id: str, signal: EventSignal, **payload: Any) -> None:
    with session_scope(engine) as s:
        insert_once(
            s,
            esp_event_id=f"{signal}-{uuid.uuid4()}",
            esp_type=str(signal),
            kind=None,
            message_id=None,
            workflow_id=workflow_id,
            contact_id=None,
            occurred_at=utcnow(),
            details={},
            signal=signal,
            payload=payload or None,
            forwarded_at=None,
        )


def rows_of(engine: sa.Engine, workflow_id: str) -> list[Event]:
    with session_scope(engine) as s:
        return list(
            s.exec(select(Event).where(Event.workflow_id == workflow_id).order_by(Event.id)).all()
        )


def end_retry_pauses(engine: sa.Engine) -> None:
    """Skip the pause failed rows wait out (instead of sleeping through it)."""
    with session_scope(engine) as s:
        s.execute(
            sa.update(Event)
            .where(col(Event.forwarded_at).is_(None))
            .values(claimed_until=utcnow() - timedelta(seconds=1))
        )


# --- order and grouping --------------------------------------------------------------------------


async def test_one_pass_signals_each_workflow_once_with_its_events_in_order(
    engine, temporal, forwarder
) -> None:
    a, b = await running_workflow(temporal), await running_workflow(temporal)
    queue_events(engine, (a, "a1"), (b, "b1"), (a, "a2"), (b, "b2"), (a, "a3"))

    result = await forwarder.forward_pending()

    assert (result.forwarded, result.late, result.failed) == (5, 0, 0)
    assert await received(temporal, a) == [(EVENTS_SIGNAL, ["a1", "a2", "a3"])]
    assert await received(temporal, b) == [(EVENTS_SIGNAL, ["b1", "b2"])]
    rows = rows_of(engine, a) + rows_of(engine, b)
    assert all(r.forwarded_at is not None and r.claimed_until is None for r in rows)
    assert len(result.signal_latencies) == 5
    assert backlog(engine) == 0
    assert (await forwarder.forward_pending()).handled == 0  # nothing is sent twice


async def test_a_long_backlog_goes_in_signals_of_at_most_100_events_in_order(
    engine, temporal, forwarder
) -> None:
    workflow_id = await running_workflow(temporal)
    count = 2 * MAX_EVENTS_PER_SIGNAL + 50
    ids = [f"e{n:03}" for n in range(count)]
    queue_events(engine, *((workflow_id, eid) for eid in ids))

    result = await forwarder.forward_pending()

    signals = await received(temporal, workflow_id)
    assert result.forwarded == count
    assert [(name, len(carried)) for name, carried in signals] == [
        (EVENTS_SIGNAL, MAX_EVENTS_PER_SIGNAL),
        (EVENTS_SIGNAL, MAX_EVENTS_PER_SIGNAL),
        (EVENTS_SIGNAL, 50),
    ]
    assert [eid for _, carried in signals for eid in carried] == ids


async def test_control_signals_go_alone_and_in_their_place(engine, temporal, forwarder) -> None:
    workflow_id = await running_workflow(temporal)
    queue_events(engine, (workflow_id, "e1"), (workflow_id, "e2"))
    queue_control(engine, workflow_id, EventSignal.PAUSE)
    queue_events(engine, (workflow_id, "e3"))
    queue_control(engine, workflow_id, EventSignal.CANCEL, reason="a colleague replied")

    assert (await forwarder.forward_pending()).forwarded == 5

    assert await received(temporal, workflow_id) == [
        (EVENTS_SIGNAL, ["e1", "e2"]),
        (PAUSE_SIGNAL, None),
        (EVENTS_SIGNAL, ["e3"]),
        (CANCEL_SIGNAL, "a colleague replied"),
    ]


# --- late, failed, retried -----------------------------------------------------------------------


async def test_events_for_a_closed_or_unknown_workflow_are_kept_as_late_and_never_retried(
    engine, temporal, forwarder
) -> None:
    closed = await running_workflow(temporal)
    await temporal.client.get_workflow_handle(closed).terminate("finished")
    unknown = f"nurture/trade_intro/{uuid.uuid4()}"  # never started
    live = await running_workflow(temporal)
    queue_events(engine, (closed, "c1"), (unknown, "u1"), (live, "l1"), (closed, "c2"))

    result = await forwarder.forward_pending()

    assert (result.forwarded, result.late, result.failed) == (1, 3, 0)
    late = rows_of(engine, closed) + rows_of(engine, unknown)
    assert all(r.late and r.forwarded_at is not None and r.forward_attempts == 0 for r in late)
    assert not rows_of(engine, live)[0].late
    end_retry_pauses(engine)
    assert (await forwarder.forward_pending()).handled == 0


async def test_unavailable_temporal_leaves_a_workflows_rows_for_the_next_pass_in_order(
    engine, temporal, switchboard, forwarder
) -> None:
    a, b = await running_workflow(temporal), await running_workflow(temporal)
    queue_events(engine, (a, "a1"), (b, "b1"), (a, "a2"))
    queue_control(engine, a, EventSignal.CANCEL, reason="ops cancelled")
    switchboard.unavailable[a] = 1  # only the first signal to `a` is refused

    before = utcnow()
    first = await forwarder.forward_pending()

    assert (first.forwarded, first.failed) == (1, 3)
    assert await received(temporal, b) == [(EVENTS_SIGNAL, ["b1"])]
    # The cancel is not sent ahead of the events it follows: all of `a` waits.
    assert await received(temporal, a) == []
    waiting = rows_of(engine, a)
    assert all(r.forwarded_at is None and r.forward_attempts == 1 for r in waiting)
    assert all(r.forward_error.startswith("UNAVAILABLE") for r in waiting)
    assert all(r.claimed_until > before for r in waiting)
    assert (await forwarder.forward_pending()).handled == 0  # still in its retry pause

    end_retry_pauses(engine)
    second = await forwarder.forward_pending()

    assert (second.forwarded, second.failed) == (3, 0)
    assert await received(temporal, a) == [
        (EVENTS_SIGNAL, ["a1", "a2"]),
        (CANCEL_SIGNAL, "ops cancelled"),
    ]
    assert all(r.forwarded_at is not None and r.forward_error is None for r in rows_of(engine, a))


@pytest.mark.parametrize(
    ("attempts", "pause"),
    [(0, 0.5), (3, 4.0), (20, MAX_BACKOFF_SECONDS)],
    ids=["1st", "4th", "cap"],
)
async def test_the_retry_pause_doubles_with_each_failure_up_to_a_minute(
    engine, temporal, switchboard, forwarder, attempts, pause
) -> None:
    workflow_id = await running_workflow(temporal)
    queue_events(engine, (workflow_id, "e1"))
    with session_scope(engine) as s:
        s.execute(sa.update(Event).values(forward_attempts=attempts))
    switchboard.unavailable[workflow_id] = 1

    before = utcnow()
    await forwarder.forward_pending()
    after = utcnow()

    [row] = rows_of(engine, workflow_id)
    assert row.forward_attempts == attempts + 1
    assert (
        before + timedelta(seconds=pause) <= row.claimed_until <= after + timedelta(seconds=pause)
    )


async def test_unreachable_temporal_fails_the_pass_and_is_connected_to_again_next_time(
    engine, temporal, switchboard
) -> None:
    workflow_id = await running_workflow(temporal)
    queue_events(engine, (workflow_id, "e1"), (workflow_id, "e2"))
    attempts = 0

    async def connect() -> Any:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("Failed client connect: connection refused")
        return switchboard

    forwarder = forwarder_for(engine, switchboard, connect)
    down = await forwarder.forward_pending()
    assert (down.forwarded, down.failed) == (0, 2)
    assert {r.forward_error for r in rows_of(engine, workflow_id)} == {"Temporal unreachable"}

    end_retry_pauses(engine)
    up = await forwarder.forward_pending()
    assert up.forwarded == 2
    assert attempts == 2
    assert await received(temporal, workflow_id) == [(EVENTS_SIGNAL, ["e1", "e2"])]


# --- leases --------------------------------------------------------------------------------------


async def test_a_lease_keeps_a_second_forwarder_off_rows_the_first_is_signalling(
    engine, temporal, switchboard
) -> None:
    workflow_id = await running_workflow(temporal)
    queue_events(engine, (workflow_id, "e1"), (workflow_id, "e2"))
    first, second = forwarder_for(engine, switchboard), forwarder_for(engine, switchboard)
    switchboard.holding = True

    pass_one = asyncio.create_task(first.forward_pending())
    await asyncio.wait_for(switchboard.held.wait(), 10)  # the first has claimed and is signalling
    meanwhile = await second.forward_pending()
    switchboard.release()
    done = await asyncio.wait_for(pass_one, 10)

    assert meanwhile.handled == 0
    assert done.forwarded == 2
    assert await received(temporal, workflow_id) == [(EVENTS_SIGNAL, ["e1", "e2"])]
    assert (await second.forward_pending()).handled == 0


async def test_rows_of_a_forwarder_that_died_mid_pass_are_taken_over_when_its_lease_ends(
    engine, temporal, switchboard
) -> None:
    workflow_id = await running_workflow(temporal)
    queue_events(engine, (workflow_id, "e1"))
    dying, survivor = forwarder_for(engine, switchboard), forwarder_for(engine, switchboard)
    switchboard.holding = True
    pass_one = asyncio.create_task(dying.forward_pending())
    await asyncio.wait_for(switchboard.held.wait(), 10)
    pass_one.cancel()  # the process is gone before it recorded anything
    with pytest.raises(asyncio.CancelledError):
        await pass_one
    switchboard.holding = False

    [row] = rows_of(engine, workflow_id)
    assert row.forwarded_at is None
    assert row.claimed_until <= utcnow() + LEASE
    assert (await survivor.forward_pending()).handled == 0  # leased: not yet

    end_retry_pauses(engine)  # the lease runs out
    assert (await survivor.forward_pending()).forwarded == 1
    assert await received(temporal, workflow_id) == [(EVENTS_SIGNAL, ["e1"])]


# --- a row that cannot be signalled --------------------------------------------------------------


async def test_a_row_that_fails_to_signal_is_recorded_failed_and_others_are_recorded_forwarded(
    engine, temporal, switchboard, forwarder
) -> None:
    good, bad = await running_workflow(temporal), await running_workflow(temporal)
    queue_events(engine, (good, "g1"), (bad, "x1"))
    switchboard.broken[bad] = TypeError("payload cannot be serialised")

    result = await forwarder.forward_pending()

    assert (result.forwarded, result.failed) == (1, 1)
    assert rows_of(engine, good)[0].forwarded_at is not None
    [failed] = rows_of(engine, bad)
    assert failed.forwarded_at is None
    assert failed.forward_attempts == 1
    assert "payload cannot be serialised" in (failed.forward_error or "")


async def test_a_business_event_for_a_closed_workflow_is_kept_as_late(
    engine, temporal, forwarder
) -> None:
    from activities.events.business import BusinessEventService
    from models.tables import Enrollment
    from tests.factories import make_contact

    contact = make_contact(engine)
    closed = await running_workflow(temporal)
    await temporal.client.get_workflow_handle(closed).terminate("finished")
    with session_scope(engine) as s:  # the SQL mirror has not heard of the end yet
        s.add(
            Enrollment(
                workflow_id=closed,
                sequence="trade_intro",
                contact_id=contact.id,
                sender_id="default",
            )
        )
    report = BusinessEventService(engine, triggers=lambda name: []).store(
        [
            {
                "id": f"crm-{uuid.uuid4()}",
                "name": "meeting_booked",
                "contact": {"id": str(contact.id)},
            }
        ]
    )
    assert report.stored == 1

    result = await forwarder.forward_pending()

    assert (result.forwarded, result.late, result.failed) == (0, 1, 0)
    [row] = rows_of(engine, closed)
    assert (row.kind, row.late, row.forward_attempts) == ("business", True, 0)
    assert row.forwarded_at is not None


# --- run(): passes overlap, each workflow's order holds ------------------------------------------


def claimed(engine: sa.Engine) -> int:
    with session_scope(engine) as s:
        rows = s.exec(select(Event).where(col(Event.claimed_until).is_not(None))).all()
        return sum(1 for r in rows if r.forwarded_at is None)


async def eventually(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.02)


async def test_run_claims_the_next_batch_while_a_pass_signals_and_keeps_each_workflows_order(
    engine, temporal, switchboard
) -> None:
    a, b, c = [await running_workflow(temporal) for _ in range(3)]
    queue_events(engine, (a, "a1"), (b, "b1"), (c, "c1"), (a, "a2"), (b, "b2"), (a, "a3"))
    forwarder = EventForwarder(engine, lambda: _switched(switchboard), batch_size=3)
    switchboard.holding = True

    running = asyncio.create_task(forwarder.run())
    try:
        await asyncio.wait_for(switchboard.held.wait(), 10)
        # The first pass's signals are held, and the second batch is claimed all the same.
        await eventually(lambda: claimed(engine) == 6)
        switchboard.release()
        await eventually(lambda: backlog(engine) == 0)
    finally:
        running.cancel()

    assert await received(temporal, a) == [(EVENTS_SIGNAL, ["a1"]), (EVENTS_SIGNAL, ["a2", "a3"])]
    assert await received(temporal, b) == [(EVENTS_SIGNAL, ["b1"]), (EVENTS_SIGNAL, ["b2"])]
    assert await received(temporal, c) == [(EVENTS_SIGNAL, ["c1"])]


async def test_run_holds_a_later_passs_events_behind_an_earlier_one_waiting_for_a_retry(
    engine, temporal, switchboard
) -> None:
    """Two passes under way at once: the later one's event for a workflow waits for the
    earlier one's, and when that is refused both wait for the retry, in order. (A pass that
    starts after an earlier one has finished may overtake a row waiting out its retry pause,
    as a sequential forwarder does: see the module's docstring.)"""
    a, b, c = [await running_workflow(temporal) for _ in range(3)]
    queue_events(engine, (a, "a1"), (b, "b1"), (a, "a2"), (c, "c1"))
    switchboard.unavailable[a] = 1  # the first pass's signal to `a` is refused
    forwarder = EventForwarder(engine, lambda: _switched(switchboard), batch_size=2)
    switchboard.holding = True

    running = asyncio.create_task(forwarder.run())
    try:
        # a1 and b1 (first pass) and c1 (second pass) held: both passes are under way.
        await eventually(lambda: switchboard.waiting == 3)
        switchboard.release()
        await eventually(lambda: {r.forward_attempts for r in rows_of(engine, a)} == {1})
        # a2 was not sent ahead of a1: both wait for the retry, which sends them in order.
        assert await received(temporal, a) == []
        end_retry_pauses(engine)
        forwarder.wake()
        await eventually(lambda: backlog(engine) == 0)
    finally:
        running.cancel()

    assert await received(temporal, a) == [(EVENTS_SIGNAL, ["a1", "a2"])]
    assert await received(temporal, b) == [(EVENTS_SIGNAL, ["b1"])]
    assert await received(temporal, c) == [(EVENTS_SIGNAL, ["c1"])]


async def _switched(switchboard: Temporal) -> Any:
    return switchboard
