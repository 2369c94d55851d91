"""The maintenance schedules on a real Temporal dev server: a worker's start creates the retention
prune and the DNS re-check schedules; a second start (and several at once) updates them instead
of failing, keeping a pause ops made; triggering each once prunes exactly the expired rows and
stores every sender's DNS result (a static zone: never real DNS)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleHandle
from temporalio.service import RPCError

import worker as worker_module
from activities.deliverability.dns import StaticResolver
from activities.maintenance.schedules import ScheduleIds, ensure_schedules
from models.db import get_engine, session_scope
from models.maintenance import DnsRecheckResult, PruneResult
from models.settings import Settings
from models.tables import Event, Notification, SenderDnsCheck, utcnow
from models.temporal_client import connect
from models.wire import RETENTION_PRUNE_WORKFLOW, SENDER_DNS_RECHECK_WORKFLOW
from tests.activities.deliverability.test_dns import healthy_zone
from tests.factories import make_contact, make_sender, make_sent_message

T = TypeVar("T")
OLD = timedelta(days=500)


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 20.0) -> T:
    """The first truthy answer of `probe`, polled for up to `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            found = await probe()
        except RPCError:
            found = None
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


class Workers:
    """Workers started with `worker.run` (as `nurture worker` starts one), stopped at the end."""

    def __init__(self) -> None:
        self._running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    def start(self, settings: Settings) -> asyncio.Task[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(
            worker_module.run(settings, stop=stop, resolver=StaticResolver(healthy_zone()))
        )
        self._running.append((stop, task))
        return task

    def all_running(self) -> bool:
        return not any(task.done() for _, task in self._running)

    async def stop_all(self) -> None:
        for stop, _ in self._running:
            stop.set()
        await asyncio.gather(*(task for _, task in self._running))


@pytest.fixture
async def temporal(dev_server_address: str) -> Client:
    return await connect(Settings(temporal_address=dev_server_address))


@pytest.fixture
async def workers() -> AsyncIterator[Workers]:
    started = Workers()
    try:
        yield started
    finally:
        await started.stop_all()


def seed(engine: sa.Engine) -> dict[str, Any]:
    """An expired forwarded event, a recent one, an expired one still in the outbox, and two
    delivered notifications (one expired)."""
    make_sender(engine, from_email="sales@example.com", reply_domain="reply.example.com")
    message = make_sent_message(engine, make_contact(engine))
    now = utcnow()
    ids: dict[str, Any] = {}
    with session_scope(engine) as s:
        for name, age, forwarded in (
            ("expired", OLD, True),
            ("recent", timedelta(days=3), True),
            ("pending", OLD, False),
        ):
            event = Event(
                esp_event_id=f"{name}-{uuid.uuid4()}",
                esp_type="delivered",
                kind="delivered",
                message_id=message.id,
                workflow_id=message.workflow_id,
                contact_id=message.contact_id,
                occurred_at=now - age,
                received_at=now - age,
                forwarded_at=now - age if forwarded else None,
            )
            s.add(event)
            s.flush()
            ids[name] = event.id
        for name, age in (("old_notification", OLD), ("new_notification", timedelta(days=1))):
            row = Notification(
                kind="reply.interested", created_at=now - age, delivered_at=now - age
            )
            s.add(row)
            ids[name] = row.id
    return ids


async def last_run(client: Client, handle: ScheduleHandle, result_type: type[T]) -> T:
    """The result of the workflow the schedule started most recently."""

    async def started() -> str | None:
        actions = (await handle.describe()).info.recent_actions
        return actions[-1].action.workflow_id if actions else None  # type: ignore[attr-defined]

    workflow_id = await eventually(started)
    return await client.get_workflow_handle(workflow_id, result_type=result_type).result()


async def test_worker_start_keeps_the_schedules_and_a_trigger_prunes_the_right_rows(
    database_url: str, dev_server_address: str, temporal: Client, workers: Workers
) -> None:
    engine = get_engine(database_url)
    rows = seed(engine)
    settings = Settings(
        database_url=database_url,
        temporal_address=dev_server_address,
        task_queue=f"maint-{uuid.uuid4()}",
        maintenance_hour_utc=2,
    )
    ids = ScheduleIds.for_queue(settings.task_queue)
    prune = temporal.get_schedule_handle(ids.retention_prune)
    dns = temporal.get_schedule_handle(ids.sender_dns_recheck)
    try:
        first = workers.start(settings)
        described = await eventually(prune.describe)
        await eventually(dns.describe)
        assert not first.done()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == RETENTION_PRUNE_WORKFLOW
        assert action.task_queue == settings.task_queue
        [calendar] = described.schedule.spec.calendars
        assert [r.start for r in calendar.hour] == [2]
        assert [r.start for r in calendar.minute] == [0]
        dns_action = (await dns.describe()).schedule.action
        assert isinstance(dns_action, ScheduleActionStartWorkflow)
        assert dns_action.workflow == SENDER_DNS_RECHECK_WORKFLOW

        # Ops pause the prune; a second worker starts with another hour, and three more
        # processes ensure the schedules at the same moment: all succeed, the pause stays.
        await prune.pause(note="paused by ops for the audit")
        moved = settings.model_copy(update={"maintenance_hour_utc": 4})
        workers.start(moved)
        await asyncio.gather(*(ensure_schedules(temporal, moved) for _ in range(3)))

        async def moved_to_four() -> Any:
            now = await prune.describe()
            return now if now.schedule.spec.calendars[0].hour[0].start == 4 else None

        updated = await eventually(moved_to_four)
        assert updated.schedule.state.paused
        assert updated.schedule.state.note == "paused by ops for the audit"
        assert workers.all_running()

        await prune.trigger()
        pruned = await last_run(temporal, prune, PruneResult)
        await dns.trigger()
        checked = await last_run(temporal, dns, DnsRecheckResult)
    finally:
        for handle in (prune, dns):
            with contextlib.suppress(RPCError):
                await handle.delete()

    assert pruned.events == 1
    assert pruned.notifications == 1
    with session_scope(engine) as s:
        events = set(s.exec(select(Event.id)).all())
        notifications = set(s.exec(select(Notification.id)).all())
        stored = s.exec(select(SenderDnsCheck).where(col(SenderDnsCheck.sender_id) == "default"))
        dns_row = stored.one()
    assert events == {rows["recent"], rows["pending"]}
    assert notifications == {rows["new_notification"]}
    assert [(o.sender_id, o.ok) for o in checked.checked] == [("default", True)]
    assert dns_row.ok
    assert dns_row.domain == "example.com"
