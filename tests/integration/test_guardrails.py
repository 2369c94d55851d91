"""Guardrails on a real dev server: a paused sender holds enrollments (visible to ops as waiting)
and resuming it through the API sends the held step at once, exactly once."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

import worker as worker_module
from activities.enrollment.enrolling import EnrollmentService
from api.app import create_app
from models.db import get_engine
from models.enrollment import EnrollmentState, EnrollmentStatus
from models.settings import Settings
from models.temporal_client import connect
from models.wire import STATE_QUERY
from tests.factories import make_contact, make_sender
from tests.sim_fixtures import SIM_API_KEY

AUTH = {"Authorization": "Bearer guard-token"}


async def eventually(check, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        await asyncio.sleep(0.2)


async def test_paused_sender_holds_enrollments_until_ops_resume_it(
    database_url, simulator, sim, dev_server_address
):
    settings = Settings(
        database_url=database_url,
        temporal_address=dev_server_address,
        task_queue=f"guard-{uuid.uuid4()}",
        sendgrid_host=simulator.url,
        sendgrid_api_key=SIM_API_KEY,
        api_token="guard-token",
    )
    engine = get_engine(database_url)
    make_sender(engine)
    contact = make_contact(engine)
    app = create_app(settings, run_forwarder=False)
    client = await connect(settings)
    with TestClient(app) as api, ThreadPoolExecutor(4) as pool:
        paused = await asyncio.to_thread(
            api.post, "/api/senders/default/pause", json={"reason": "DNS change"}, headers=AUTH
        )
        assert paused.json()["paused"] is True
        async with worker_module.build_worker(client, settings, engine, executor=pool):
            workflow_id = await EnrollmentService(engine, client, settings.task_queue).enroll(
                "trade_intro",
                contact.id,
                params={"open_window": "P2D", "case_study_after": "P4D"},
                send_windows=False,
            )
            handle = client.get_workflow_handle(workflow_id)

            async def held() -> bool:
                state = await handle.query(STATE_QUERY, result_type=EnrollmentState)
                return state.status == EnrollmentStatus.SENDER_PAUSED

            await eventually(held)

            async def counted() -> dict | None:
                counts = (
                    await asyncio.to_thread(api.get, "/api/enrollments/waiting", headers=AUTH)
                ).json()
                return counts if counts.get("sender_paused", 0) >= 1 else None

            assert (await eventually(counted))["sender_paused"] >= 1
            assert sim.store.messages() == []

            resumed = await asyncio.to_thread(api.post, "/api/senders/default/resume", headers=AUTH)
            assert resumed.json()["paused"] is False

            async def sent() -> bool:
                return len(sim.store.messages()) >= 1

            await eventually(sent, seconds=10)  # not after the 30-minute recheck: at once
            await asyncio.sleep(0.5)
            assert len(sim.store.messages()) == 1
            await handle.terminate("test over")
