"""Webhook events reach their workflows on a real Temporal dev server: once each, in any order,
late when the workflow is closed, and after a Temporal outage — nothing lost."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

import worker as worker_module
from activities.enrollment.enrolling import EnrollmentService
from activities.events.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, generate_key_pair, sign
from api.app import create_app
from cli.processes import free_port, temporal_dev_server
from models.db import get_engine, session_scope
from models.enrollment import EnrollmentResult, EnrollmentState, Outcome
from models.settings import Settings
from models.tables import Event
from models.temporal_client import connect
from models.wire import EVENTS_SIGNAL, STATE_QUERY
from tests.factories import make_contact, make_sender, sendgrid_event
from tests.integration.enrollments import SLOW, live_enrollment, until_intro_sent
from tests.sim_fixtures import SIM_API_KEY

KEYS = generate_key_pair()


def settings_for(database_url: str, temporal_address: str, sim_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        temporal_address=temporal_address,
        task_queue=f"it-{uuid.uuid4()}",
        sendgrid_host=sim_url,
        sendgrid_api_key=SIM_API_KEY,
        sendgrid_webhook_public_key=KEYS[1],
    )


def post(client: TestClient, events: list[dict]) -> dict:
    body = json.dumps(events).encode()
    ts = str(int(time.time()))
    response = client.post(
        "/webhooks/sendgrid/events",
        content=body,
        headers={SIGNATURE_HEADER: sign(KEYS[0], body, ts), TIMESTAMP_HEADER: ts},
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def stack(database_url, simulator, dev_server_address):
    settings = settings_for(database_url, dev_server_address, simulator.url)
    app = create_app(settings, run_forwarder=False)
    with TestClient(app) as client:
        yield settings, client, app.state.services


async def test_events_reach_the_workflow_once_whatever_the_order_and_duplicates(stack, sim):
    settings, client, services = stack
    async with live_enrollment(settings) as live:
        # A click that arrives before its delivered event, and the same batch twice.
        email = live.contact.email
        click = sendgrid_event(
            "click", live.intro, email=email, url="https://example.com/catalogue"
        )
        delivered = sendgrid_event("delivered", live.intro, email=email)
        await asyncio.to_thread(post, client, [click, delivered])
        await asyncio.to_thread(post, client, [click, delivered])
        first = await services.forwarder.forward_pending()
        second = await services.forwarder.forward_pending()

        handle = live.client.get_workflow_handle(live.workflow_id, result_type=EnrollmentResult)
        result = await asyncio.wait_for(handle.result(), 30)
        state = await handle.query(STATE_QUERY, result_type=EnrollmentState)

    assert first.forwarded == 1  # the click: a delivery never reaches the workflow
    assert second.handled == 0
    assert [e.kind for e in state.events_seen] == ["click"]
    # The click on the intro brought the offer forward.
    assert result.outcome == Outcome.COMPLETED
    assert [s.step for s in result.steps_sent] == ["intro", "offer"]


async def test_one_pass_relays_a_workflows_events_in_one_signal(stack, sim):
    settings, client, services = stack
    async with live_enrollment(settings) as live:
        email = live.contact.email
        kinds = ["open", "click", "open"]
        # Deliveries in the same batch stay in SQL: the signal carries what can change the flow.
        posted = [sendgrid_event(kind, live.intro, email=email) for kind in kinds]
        posted.insert(0, sendgrid_event("delivered", live.intro, email=email))
        posted.insert(0, sendgrid_event("processed", live.intro, email=email))
        await asyncio.to_thread(post, client, posted)
        result = await services.forwarder.forward_pending()
        handle = live.client.get_workflow_handle(live.workflow_id)
        history = await handle.fetch_history()
        state = await handle.query(STATE_QUERY, result_type=EnrollmentState)

    signalled = [
        e.workflow_execution_signaled_event_attributes
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert result.forwarded == 3
    assert len(result.signal_latencies) == 3
    assert [s.signal_name for s in signalled] == [EVENTS_SIGNAL]
    [payload] = signalled[0].input.payloads
    assert [e["kind"] for e in json.loads(payload.data)] == kinds
    assert [e.kind for e in state.events_seen] == kinds


async def test_event_for_a_closed_workflow_is_kept_as_late(stack, sim):
    settings, client, services = stack
    engine = get_engine(settings.database_url)
    async with live_enrollment(settings) as live:
        workflow_id = live.workflow_id
        await live.client.get_workflow_handle(workflow_id).terminate("test")
        await asyncio.to_thread(
            post, client, [sendgrid_event("open", live.intro, email=live.contact.email)]
        )
        result = await services.forwarder.forward_pending()
    assert result.late == 1
    with session_scope(engine) as s:
        [row] = s.exec(select(Event).where(Event.workflow_id == workflow_id)).all()
        assert row.late
        assert row.forwarded_at is not None


async def test_events_arriving_while_temporal_is_down_are_delivered_after_it_returns(
    database_url, simulator, sim, tmp_path: Path
):
    port = free_port()
    server = temporal_dev_server(
        tmp_path, db_file=tmp_path / "temporal.db", port=port, ui_port=None
    )
    server.start().wait_for_port(port)
    settings = settings_for(database_url, f"127.0.0.1:{port}", simulator.url)
    engine = get_engine(settings.database_url)
    make_sender(engine)
    contact = make_contact(engine)
    try:
        temporal = await connect(settings)
        with ThreadPoolExecutor(4) as pool:
            async with worker_module.build_worker(temporal, settings, engine, executor=pool):
                workflow_id = await EnrollmentService(engine, temporal, settings.task_queue).enroll(
                    "trade_intro", contact.id, params=SLOW, send_windows=False
                )
                intro = await until_intro_sent(engine, workflow_id)
        server.stop()  # Temporal goes away

        app = create_app(settings, run_forwarder=False)
        with TestClient(app) as client:
            services = app.state.services
            events = [sendgrid_event("open", intro, email=contact.email) for _ in range(3)]
            assert (await asyncio.to_thread(post, client, events))["stored"] == 3  # 2xx and stored
            down = await services.forwarder.forward_pending()
            assert down.failed == 3
            assert down.forwarded == 0

            server.start().wait_for_port(port)  # back, same persisted state
            # The API restarts too: a fresh app finds the backlog in the database.
            fresh = create_app(settings, run_forwarder=False).state.services
            deadline = time.monotonic() + 60
            delivered = 0
            while delivered < 3 and time.monotonic() < deadline:
                with session_scope(engine) as s:  # skip the retry pause the failures earned
                    for row in s.exec(select(Event)).all():
                        row.claimed_until = None
                        s.add(row)
                delivered += (await fresh.forwarder.forward_pending()).forwarded
                await asyncio.sleep(0.5)
        temporal = await connect(settings)
        history = await temporal.get_workflow_handle(workflow_id).fetch_history()
        signalled = [
            e for e in history.events if e.HasField("workflow_execution_signaled_event_attributes")
        ]
        assert delivered == 3
        # The three waited together: one signal carried them.
        assert [e.workflow_execution_signaled_event_attributes.signal_name for e in signalled] == [
            EVENTS_SIGNAL
        ]
    finally:
        server.stop()
