"""A continuous stream of signed Event Webhook batches while the Temporal dev server crashes
(SIGKILL) and comes back: every batch is answered 2xx and stored, and once Temporal returns the
API's own forwarder delivers every event to its workflow, none lost, none seen twice.

tests/integration/test_event_forwarding.py proves one batch posted during a clean stop and
forwarded by hand; this adds the stream before, during and after a crash, many workflows, and the
forwarder loop of a running API (its retry pauses included)."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter, defaultdict

import httpx
import pytest
from sqlmodel import col, func, select

from activities.events.signature import generate_key_pair
from models.db import get_engine, session_scope
from models.events import SIGNALLED_KINDS
from models.tables import Contact, Event, Message, MessageStatus
from models.temporal_client import connect
from models.wire import EVENTS_SIGNAL
from tests.factories import sendgrid_event
from tests.faults.esp_webhooks import (
    EVENTS_PATH,
    signals_in,
    signed_headers,
    state_of,
    unforwarded,
)
from tests.faults.runs import enroll_all, eventually, seed_contacts
from tests.integration.enrollments import SLOW
from tests.integration.live_api import live_api

ENROLLMENTS = 20
#: Events that change nothing a workflow waits on beyond the intro's open: they stay running.
#: Only the open is signalled; the rest stay in SQL.
KINDS = ("processed", "delivered", "deferred", "open")
KEYS = generate_key_pair()


def intros_sent(engine, workflow_ids: list[str]) -> bool:
    with session_scope(engine) as s:
        sent = s.exec(
            select(func.count())
            .select_from(Message)
            .where(
                col(Message.workflow_id).in_(workflow_ids),
                Message.step == "intro",
                Message.status == MessageStatus.SENT,
            )
        ).one()
    return int(sent) == len(workflow_ids)


@pytest.mark.timeout(120)
async def test_webhook_stream_through_a_temporal_crash_reaches_every_workflow_once(
    sqlite_database_url, sim, dev_server, stack_settings, workers, fault_rng: random.Random
):
    settings = stack_settings(
        sqlite_database_url, dev_server.address, sendgrid_webhook_public_key=KEYS[1]
    )
    engine = get_engine(settings.database_url)
    contact_ids = seed_contacts(engine, ENROLLMENTS)
    worker = workers(settings)
    worker.start()
    client = await connect(settings)
    workflow_ids = await enroll_all(
        engine, client, settings.task_queue, contact_ids, cohort_id="stream", params=SLOW
    )
    await eventually(lambda: intros_sent(engine, workflow_ids), 30, "every intro sent")
    with session_scope(engine) as s:
        intros = s.exec(
            select(Message).where(
                col(Message.workflow_id).in_(workflow_ids), Message.step == "intro"
            )
        ).all()
        emails = {c.id: c.email for c in s.exec(select(Contact)).all()}

    posted: dict[str, list[str]] = defaultdict(list)
    answers: list[tuple[int, dict]] = []
    signalled_in: list[int] = []  # per answered batch: how many of its events a workflow gets
    streaming = asyncio.Event()
    streaming.set()

    async def stream(api_url: str) -> None:
        async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
            while streaming.is_set():
                batch = [
                    sendgrid_event(kind, intro, email=emails[intro.contact_id])
                    for intro, kind in (
                        (fault_rng.choice(intros), fault_rng.choice(KINDS))
                        for _ in range(fault_rng.randint(1, 5))
                    )
                ]
                body = json.dumps(batch).encode()
                response = await http.post(
                    EVENTS_PATH, content=body, headers=signed_headers(KEYS[0], body)
                )
                ok = response.status_code == 200
                answers.append((response.status_code, response.json() if ok else {}))
                signalled_in.append(sum(e["event"] in SIGNALLED_KINDS for e in batch))
                if ok:
                    for event in batch:
                        if event["event"] in SIGNALLED_KINDS:
                            posted[event["nurture_workflow_id"]].append(event["sg_event_id"])
                await asyncio.sleep(fault_rng.uniform(0.02, 0.15))

    with live_api(settings) as api_url:
        streamer = asyncio.create_task(stream(api_url))
        await asyncio.sleep(fault_rng.uniform(1.5, 3.0))
        dev_server.kill()  # Temporal crashes; webhooks keep coming
        before = len(answers)  # counted once it is dead: batches before may have got through
        # Longer than the client's own retries (10 s): the forwarder's retry path runs too.
        down = fault_rng.uniform(12.0, 15.0)
        await asyncio.sleep(down)
        during = answers[before + 1 :]  # the batch in flight at the kill may have gone through
        signalled_during = sum(signalled_in[before + 1 : before + 1 + len(during)])
        waiting = await asyncio.to_thread(unforwarded, engine)
        dev_server.start()
        await asyncio.sleep(fault_rng.uniform(1.0, 2.0))
        streaming.clear()
        await streamer
        # The API's forwarder works the backlog off by itself, retry pauses included.
        await eventually(lambda: unforwarded(engine) == 0, 60, "every event forwarded")

    total = sum(a["stored"] for _, a in answers)
    signalled = sum(len(ids) for ids in posted.values())
    stored_during = sum(a["stored"] for _, a in during)
    print(
        f"{len(answers)} batches ({total} events); {len(during)} batches ({stored_during} "
        f"events) during a {down:.1f} s Temporal outage, {waiting} events waiting at its end"
    )
    assert all(status == 200 for status, _ in answers), [a for a in answers if a[0] != 200]
    # Answered 2xx and stored while Temporal was down, and none of them got through.
    assert stored_during > 0
    assert waiting >= signalled_during
    assert worker.running, "the worker process did not survive the outage"
    with session_scope(engine) as s:
        rows = s.exec(select(Event).where(col(Event.workflow_id).in_(workflow_ids))).all()
    assert len(rows) == total
    assert not any(r.late for r in rows)
    assert any(r.forward_attempts > 0 for r in rows), "the forwarder never had to retry"

    signals = carried = 0
    for workflow_id in workflow_ids:
        state = await state_of(client, workflow_id)
        seen = Counter(e.esp_event_id for e in state.events_seen)
        assert seen == Counter(posted[workflow_id]), workflow_id
        assert all(n == 1 for n in seen.values())
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        for name, ids in signals_in(history):
            assert name == EVENTS_SIGNAL
            signals += 1
            carried += len(ids)
    # A signal Temporal took whose answer was lost is sent again; the workflow drops its events.
    print(
        f"{signals} signals carried {carried} events for {signalled} "
        f"({carried - signalled} dropped)"
    )
    assert carried >= signalled
