"""One enrollment end to end: real dev server, real worker, real `sendgrid` client, simulator, DB."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select
from temporalio.client import WorkflowExecutionStatus

import worker as worker_module
from activities.enrollment.enrolling import EnrollmentService
from models import search_attributes
from models.db import get_engine, session_scope
from models.enrollment import EnrollmentResult, Outcome
from models.errors import EnrollmentConflict
from models.settings import Settings
from models.tables import Enrollment, Message, MessageStatus
from models.temporal_client import connect
from tests.factories import make_contact, make_sender
from tests.sim_fixtures import SIM_API_KEY

FAST = {"open_window": "PT1S", "case_study_after": "PT3S", "offer_after": "PT1S"}


@pytest.fixture
def settings(database_url: str, simulator, dev_server_address: str) -> Settings:
    return Settings(
        database_url=database_url,
        temporal_address=dev_server_address,
        task_queue=f"it-{uuid.uuid4()}",
        sendgrid_host=simulator.url,
        sendgrid_api_key=SIM_API_KEY,
    )


async def test_one_enrollment_runs_through_trade_intro_end_to_end(settings, sim):
    engine = get_engine(settings.database_url)
    make_sender(engine)
    contact = make_contact(engine, first_name="Julien", company="Outillage Dupont SARL")
    client = await connect(settings)

    with ThreadPoolExecutor(max_workers=4) as executor:
        async with worker_module.build_worker(client, settings, engine, executor=executor):
            service = EnrollmentService(engine, client, settings.task_queue)
            workflow_id = await service.enroll(
                "trade_intro", contact.id, cohort_id="it-cohort", params=FAST, send_windows=False
            )
            with pytest.raises(EnrollmentConflict):
                await service.enroll("trade_intro", contact.id, params=FAST, send_windows=False)
            handle = client.get_workflow_handle(workflow_id, result_type=EnrollmentResult)
            result = await asyncio.wait_for(handle.result(), 60)
            description = await handle.describe()

    assert result.outcome == Outcome.COMPLETED
    assert [s.step for s in result.steps_sent] == ["intro", "bump", "case_study", "offer"]
    async with httpx.AsyncClient() as http:
        received = (await http.get(f"{sim.url}/_sim/messages")).json()
    mails = [m for m in received if m["recipient"] == contact.email]
    assert len(mails) == 4
    intro, bump, case_study, offer = mails
    assert intro["text"].startswith("Hi Julien,")
    assert bump["subject"] == f"Re: {intro['subject']}"
    assert bump["headers"]["In-Reply-To"] == intro["headers"]["Message-ID"]
    assert "case study" in case_study["text"]
    assert "trial order" in offer["subject"]
    assert {m["custom_args"]["nurture_workflow_id"] for m in mails} == {workflow_id}
    assert description.status == WorkflowExecutionStatus.COMPLETED
    attrs = description.typed_search_attributes
    assert attrs.get(search_attributes.SEQUENCE) == "trade_intro"
    assert attrs.get(search_attributes.COHORT) == "it-cohort"
    # No step attribute; the status shows the outcome (upserted once, at the end).
    assert attrs.get(search_attributes.STEP) is None
    assert attrs.get(search_attributes.STATUS) == "completed"
    with session_scope(engine) as s:
        rows = s.exec(select(Message).where(Message.workflow_id == workflow_id)).all()
        assert sorted(r.status for r in rows) == [MessageStatus.SENT] * 4
        enrollment = s.get(Enrollment, workflow_id)
        assert enrollment.cohort_id == "it-cohort"
        assert enrollment.outcome == Outcome.COMPLETED
        assert enrollment.ended_at is not None
    # The history holds ids, never the address or the name.
    history = (await handle.fetch_history()).to_json()
    assert contact.email not in history
    assert "Julien" not in history


async def test_enrollment_carries_the_contacts_calendar_not_its_identity(settings, sim):
    engine = get_engine(settings.database_url)
    make_sender(engine, time_zone="Asia/Shanghai")
    berliner = make_contact(engine, country="DE", time_zone=None)
    nowhere = make_contact(engine, country=None, time_zone=None)
    client = await connect(settings)
    service = EnrollmentService(engine, client, settings.task_queue)
    calendars = []
    for contact in (berliner, nowhere):
        workflow_id = await service.enroll("trade_intro", contact.id)  # no worker: nothing runs
        handle = client.get_workflow_handle(workflow_id)
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        payload = started.input.payloads[0].data.decode()
        calendars.append(json.loads(payload)["calendar"])
        assert contact.email not in payload
        assert "Anna" not in payload
        await handle.terminate("test over")
    assert calendars[0] == {"time_zone": "Europe/Berlin", "country": "DE"}
    assert calendars[1] == {"time_zone": "Asia/Shanghai", "country": None}  # the sender's zone


async def test_reenrollment_follows_the_sequence_rule(settings, sim):
    engine = get_engine(settings.database_url)
    make_sender(engine)
    contact = make_contact(engine)
    client = await connect(settings)
    service = EnrollmentService(engine, client, settings.task_queue)
    with ThreadPoolExecutor(max_workers=4) as executor:
        async with worker_module.build_worker(client, settings, engine, executor=executor):
            workflow_id = await service.enroll(
                "trade_intro", contact.id, params=FAST, send_windows=False
            )
            await asyncio.wait_for(client.get_workflow_handle(workflow_id).result(), 60)
            # trade_intro re-enrolls 180 days after the last enrollment ended: not today.
            with pytest.raises(EnrollmentConflict, match="180 days"):
                await service.enroll("trade_intro", contact.id, params=FAST, send_windows=False)
            with session_scope(engine) as s:  # half a year later
                row = s.get(Enrollment, workflow_id)
                row.ended_at = row.ended_at - timedelta(days=181)
                s.add(row)
            again = await service.enroll("trade_intro", contact.id, params=FAST, send_windows=False)
            assert again == workflow_id
            await client.get_workflow_handle(again).terminate("test over")
