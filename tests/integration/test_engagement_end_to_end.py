"""The whole loop on real processes: a mail goes out through the real `sendgrid` client, the
simulator plays SendGrid back (signed Event Webhook, Inbound Parse) to the live API, the
forwarder signals the workflow, and the enrollment reacts."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

import worker as worker_module
from activities.enrollment.enrolling import EnrollmentService
from models.db import get_engine
from models.enrollment import EnrollmentResult, EnrollmentState, Outcome
from models.settings import Settings
from models.temporal_client import connect
from models.wire import STATE_QUERY
from tests.factories import make_contact, make_sender
from tests.integration.enrollments import SLOW
from tests.integration.live_api import script, until


async def run_enrollment(
    settings: Settings, act
) -> tuple[EnrollmentResult, EnrollmentState, float]:
    engine = get_engine(settings.database_url)
    make_sender(engine)
    contact = make_contact(engine, email=f"buyer-{uuid.uuid4().hex[:6]}@importer.example.de")
    client = await connect(settings)
    with ThreadPoolExecutor(4) as pool:
        async with worker_module.build_worker(client, settings, engine, executor=pool):
            workflow_id = await EnrollmentService(engine, client, settings.task_queue).enroll(
                "trade_intro", contact.id, params=SLOW, send_windows=False
            )
            handle = client.get_workflow_handle(workflow_id, result_type=EnrollmentResult)
            await until(
                lambda: handle.query(STATE_QUERY, result_type=EnrollmentState),
                lambda s: s.steps_sent,
            )
            state = await handle.query(STATE_QUERY, result_type=EnrollmentState)
            started = time.monotonic()
            await act(state.steps_sent[0].message_id, handle)
            state = await until(
                lambda: handle.query(STATE_QUERY, result_type=EnrollmentState),
                lambda s: s.events_seen,
            )
            elapsed = time.monotonic() - started
            if state.outcome is None:
                await handle.signal("cancel", "test over")
            result = await asyncio.wait_for(handle.result(), 30)
    return result, state, elapsed


async def test_human_reply_ends_the_enrollment_replied(loop_stack):
    settings, sim, _ = loop_stack

    async def reply(message_id, handle):
        await script(sim, message_id=message_id, reply={"text": "Yes, please quote 500 pcs."})

    result, state, elapsed = await run_enrollment(settings, reply)
    assert result.outcome == Outcome.REPLIED
    assert [s.step for s in result.steps_sent] == ["intro"]
    assert state.events_seen[0].kind == "reply"
    assert not state.events_seen[0].auto_reply
    assert elapsed < 10  # the latency target itself (p95 < 1 s) is measured in bench/


async def test_out_of_office_reply_pauses_instead_of_ending(loop_stack):
    settings, sim, _ = loop_stack

    async def away(message_id, handle):
        await script(sim, message_id=message_id, reply={"auto": True})

    result, state, _ = await run_enrollment(settings, away)
    assert state.outcome is None
    assert state.paused_until is not None
    assert state.events_seen[0].auto_reply
    assert result.outcome == Outcome.CANCELLED  # ended by the test, not by the auto-reply


async def test_delayed_hard_bounce_without_custom_args_ends_bounced(loop_stack):
    settings, sim, _ = loop_stack

    async def bounce(message_id, handle):
        await script(
            sim, message_id=message_id, event="bounce", delayed=True, status="5.1.1", type="bounce"
        )

    result, state, _ = await run_enrollment(settings, bounce)
    assert result.outcome == Outcome.BOUNCED
    assert state.events_seen[0].bounce_class == "hard"


async def test_one_click_unsubscribe_from_the_mail_ends_unsubscribed(loop_stack):
    settings, sim, _ = loop_stack

    async def unsubscribe(message_id, handle):
        [mail] = [
            m for m in sim.store.messages() if m.custom_args.get("nurture_message_id") == message_id
        ]
        url = mail.headers["List-Unsubscribe"].strip("<>")
        assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        async with httpx.AsyncClient() as http:
            response = await http.post(
                url,
                content="List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        assert response.status_code == 200

    result, _, _ = await run_enrollment(settings, unsubscribe)
    assert result.outcome == Outcome.UNSUBSCRIBED


async def test_cohort_funnel_counts_scripted_events_and_cancel_ends_every_enrollment(loop_stack):
    settings, sim, api_url = loop_stack
    engine = get_engine(settings.database_url)
    make_sender(engine)
    contacts = [
        make_contact(engine, email=f"b{i}@funnel{i}.example.de", country="DE") for i in range(4)
    ]
    auth = {"Authorization": f"Bearer {settings.api_token}"}
    client = await connect(settings)
    with ThreadPoolExecutor(4) as pool:
        async with (
            worker_module.build_worker(client, settings, engine, executor=pool),
            httpx.AsyncClient(base_url=api_url, headers=auth, timeout=30) as api,
        ):
            started = await api.post(
                "/api/cohorts",
                json={
                    "name": "Funnel test",
                    "sequence": "trade_intro",
                    "segment": "country=DE",
                    "params": SLOW,
                    "send_windows": False,
                },
            )
            assert started.status_code == 201, started.text
            cohort_id = started.json()["cohort_id"]
            await until(lambda: asyncio.sleep(0, len(sim.store.messages())), lambda n: n == 4)
            by_recipient = {m.recipient: m for m in sim.store.messages()}
            ids = [by_recipient[c.email].custom_args["nurture_message_id"] for c in contacts]
            for message_id in ids:
                await script(sim, message_id=message_id, event="delivered")
            await script(sim, message_id=ids[0], event="open")
            await script(
                sim, message_id=ids[0], event="click", url="https://example.com/specifications"
            )
            await script(sim, message_id=ids[1], event="open", sg_machine_open=True)
            await script(sim, message_id=ids[2], event="bounce", status="5.1.1", type="bounce")
            await script(sim, message_id=ids[3], reply={"text": "Please call me."})

            async def funnel():
                return (await api.get(f"/api/cohorts/{cohort_id}")).json()

            def settled(f) -> bool:
                steps = {s["step"]: s["counts"] for s in f["steps"]}
                intro = steps.get("intro", {})
                return (
                    intro.get("replied_human") == 1
                    and intro.get("bounced_hard") == 1
                    and intro.get("clicked") == 1
                )

            result = await until(funnel, settled)
            intro = next(s for s in result["steps"] if s["step"] == "intro")["counts"]
            assert result["enrolled"] == 4
            assert result["skipped"] == 0
            assert intro["sent"] == 4
            assert intro["delivered"] == 4
            assert intro["opened_human"] == 1
            assert intro["opened_machine"] == 1
            assert intro["clicked"] == 1
            assert intro["bounced_hard"] == 1
            assert intro["replied_human"] == 1
            assert intro["complained"] == 0

            cancelled = await api.post(f"/api/cohorts/{cohort_id}/cancel", json={"reason": "test"})
            assert cancelled.json()["status"] == "cancelled"

            async def outcomes():
                return (await funnel())["outcomes"]

            final = await until(outcomes, lambda o: "running" not in o and sum(o.values()) == 4)
    assert final.get("replied") == 1
    assert final.get("bounced") == 1
    assert (
        final.get("cancelled", 0) + final.get("completed", 0) == 2
    )  # the clicked one got its offer
