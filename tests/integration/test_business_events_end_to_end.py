"""Business events end to end on a real dev server: the API (forwarder and trigger runner), a
real worker, the simulator and the DB. A quote request enrolls the buyer in quote_followup once
— posted twice, the API restarted between — the quote goes out, an order converts it; and a
buyer who books a meeting gets no further mail from trade_intro, whose goal it is."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import pytest

import worker as worker_module
from activities.enrollment.enrolling import EnrollmentService
from models.db import get_engine, session_scope
from models.enrollment import EnrollmentResult, Outcome, enrollment_workflow_id
from models.settings import Settings
from models.tables import Enrollment
from models.temporal_client import connect
from simulator import running_simulator
from tests.factories import make_contact, make_sender
from tests.integration.live_api import live_api, until

SIM_KEY = "SG.business-events-key"
TOKEN = "business-events-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(database_url: str, dev_server_address: str):
    base = Settings(
        database_url=database_url,
        temporal_address=dev_server_address,
        task_queue=f"biz-{uuid.uuid4()}",
        sendgrid_api_key=SIM_KEY,
        forwarder_poll_seconds=0.2,
        api_token=TOKEN,
    )
    with running_simulator(SIM_KEY, flush_seconds=0.05) as sim:
        yield base.model_copy(update={"sendgrid_host": sim.url}), sim


async def post_events(api_url: str, events: list[dict]) -> dict:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{api_url}/api/events", json=events, headers=BEARER)
    assert response.status_code == 200, response.text
    return response.json()


async def mails_to(sim, email: str) -> list[dict]:
    async with httpx.AsyncClient() as http:
        received = (await http.get(f"{sim.url}/_sim/messages")).json()
    return [m for m in received if m["recipient"] == email]


def quote_requested(key: str, email: str) -> dict:
    valid_until = (date.today() + timedelta(days=30)).isoformat()
    return {
        "id": key,
        "name": "quote_requested",
        "contact": {"email": email},
        "properties": {
            "product": "CNC lathe CK6150",
            "quote_number": "Q-4711",
            "valid_until": valid_until,
        },
    }


async def test_a_quote_request_enrolls_once_across_an_api_restart_and_an_order_converts(settings):
    settings, sim = settings
    engine = get_engine(settings.database_url)
    make_sender(engine)
    buyer = make_contact(engine, first_name="Anna", company="Schmidt Maschinen GmbH")
    workflow_id = enrollment_workflow_id("quote_followup", buyer.id)
    client = await connect(settings)
    request = quote_requested(f"crm-quote-{uuid.uuid4()}", buyer.email)

    with ThreadPoolExecutor(max_workers=4) as executor:
        async with worker_module.build_worker(client, settings, engine, executor=executor):
            with live_api(settings) as api_url:
                first = await post_events(api_url, [request])
            with live_api(settings) as api_url:  # the API restarted; the CRM retries the post
                again = await post_events(api_url, [request])
                [stored], [repeated] = first["results"], again["results"]
                assert stored["status"] == "stored"
                assert [
                    (t["sequence"], t["status"], t["workflow_id"]) for t in stored["triggered"]
                ] == [("quote_followup", "enrolled", workflow_id)]
                assert repeated["status"] == "duplicate"
                assert repeated["event_id"] == stored["event_id"]

                quote = await until(lambda: mails_to(sim, buyer.email), lambda m: len(m) == 1)
                assert "Q-4711" in quote[0]["subject"] + quote[0]["text"]

                ordered = await post_events(
                    api_url,
                    [
                        {
                            "id": f"shop-{uuid.uuid4()}",
                            "name": "order_placed",
                            "contact": {"id": str(buyer.id)},
                        }
                    ],
                )
                assert ordered["stored"] == 1
                handle = client.get_workflow_handle(workflow_id, result_type=EnrollmentResult)
                result = await asyncio.wait_for(handle.result(), 30)

    assert (result.outcome, result.goal) == (Outcome.CONVERTED, "order_placed")
    assert [s.step for s in result.steps_sent] == ["quote"]
    runs = [e async for e in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len(runs) == 1  # enrolled once, whatever the re-post and the restart
    with session_scope(engine) as s:
        row = s.get(Enrollment, workflow_id)
        assert row is not None
        assert (row.outcome, row.outcome_event, row.cohort_id) == (
            "converted",
            "order_placed",
            "trigger:quote_requested",
        )


async def test_a_booked_meeting_stops_trade_intro_before_its_next_mail(settings):
    settings, sim = settings
    engine = get_engine(settings.database_url)
    make_sender(engine)
    buyer = make_contact(engine, first_name="Julien", company="Outillage Dupont SARL")
    client = await connect(settings)
    # Unopened: the bump would follow a few seconds after the intro, then the rest.
    fast = {"open_window": "PT4S", "case_study_after": "PT6S", "offer_after": "PT2S"}

    with ThreadPoolExecutor(max_workers=4) as executor:
        async with worker_module.build_worker(client, settings, engine, executor=executor):
            with live_api(settings) as api_url:
                service = EnrollmentService(engine, client, settings.task_queue)
                workflow_id = await service.enroll(
                    "trade_intro", buyer.id, params=fast, send_windows=False
                )
                await until(lambda: mails_to(sim, buyer.email), lambda m: len(m) == 1)
                booked = await post_events(
                    api_url,
                    [
                        {
                            "id": f"cal-{uuid.uuid4()}",
                            "name": "meeting_booked",
                            "contact": {"email": buyer.email},
                        }
                    ],
                )
                assert booked["stored"] == 1
                handle = client.get_workflow_handle(workflow_id, result_type=EnrollmentResult)
                result = await asyncio.wait_for(handle.result(), 30)
                await asyncio.sleep(0.5)  # the workflow is closed: nothing can follow; a last look

    assert (result.outcome, result.goal) == (Outcome.CONVERTED, "meeting_booked")
    assert len(await mails_to(sim, buyer.email)) == 1
