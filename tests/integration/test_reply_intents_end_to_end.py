"""Replies understood, on real processes: a real worker, the live API (forwarder, trigger runner,
notification dispatcher), the simulator posting Inbound Parse replies, a real HTTP receiver for
notifications. A German "remove me" ends every live enrollment of the buyer `unsubscribed` and
suppresses the address; an interested reply ends `replied` and sends one signed notification,
retried after the receiver answered 500; a person's correction through `PATCH /api/replies`
unsubscribes; the workflow histories carry the intent's label, never the reply's words."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlmodel import select
from temporalio.client import Client

import worker as worker_module
from activities.contacts.consent import newest_consent_actions
from activities.enrollment.enrolling import EnrollmentService
from activities.notifications.signing import (
    NOTIFICATION_ID_HEADER,
    SIGNATURE_HEADER,
    verify_signature,
)
from models.db import get_engine, session_scope
from models.enrollment import EnrollmentResult, EnrollmentState, Outcome, enrollment_workflow_id
from models.settings import Settings
from models.tables import ConsentAction, Contact, Suppression, address_hash
from models.temporal_client import connect
from models.wire import STATE_QUERY
from simulator import running_simulator
from tests.activities.notifications import conftest as notification_fixtures
from tests.activities.notifications.conftest import Receiver
from tests.factories import make_contact, make_sender
from tests.integration.enrollments import SLOW
from tests.integration.live_api import live_api, script, until
from tests.workflows.test_replay import decoded_payloads

SIM_KEY = "SG.reply-intents-key"
TOKEN = "reply-intents-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
NOTIFY_SECRET = "reply-intents-notify-secret"
PUBLIC_URL = "https://nurture.example.com"

#: A real HTTP receiver for notifications (the notification tests' own fixture).
notify_receiver = notification_fixtures.receiver
OPT_OUT_WORDS = "Bitte nehmen Sie mich aus Ihrem Verteiler, ich möchte keine weiteren E-Mails."
INTERESTED_WORDS = "Please send your price list and the MOQ for 2,000 pcs of DN50 valves."


@pytest.fixture
def stack(database_url: str, dev_server_address: str, notify_receiver: Receiver):
    """Settings for the API and worker, with the simulator posting replies to the live API."""
    base = Settings(
        database_url=database_url,
        temporal_address=dev_server_address,
        task_queue=f"replies-{uuid.uuid4()}",
        sendgrid_api_key=SIM_KEY,
        forwarder_poll_seconds=0.2,
        inbound_domain="in.example.test",
        api_token=TOKEN,
        notify_url=notify_receiver.url,
        notify_secret=NOTIFY_SECRET,
        public_url=PUBLIC_URL,  # what links in notifications start with
    )
    with (
        live_api(base) as api_url,
        running_simulator(
            SIM_KEY, inbound_url=f"{api_url}/webhooks/sendgrid/inbound", flush_seconds=0.05
        ) as sim,
    ):
        settings = base.model_copy(update={"sendgrid_host": sim.url})
        yield settings, sim, api_url


async def state_of(client: Client, workflow_id: str) -> EnrollmentState:
    return await client.get_workflow_handle(workflow_id).query(
        STATE_QUERY, result_type=EnrollmentState
    )


async def history_text(client: Client, workflow_id: str) -> str:
    """The history's JSON with every payload decoded (payloads are base64 in it)."""
    history = (await client.get_workflow_handle(workflow_id).fetch_history()).to_json_dict()
    return json.dumps(history) + "\n".join(decoded_payloads(history))


async def enroll_and_wait_for_intro(settings, engine, client, contact) -> str:
    workflow_id = await EnrollmentService(engine, client, settings.task_queue).enroll(
        "trade_intro", contact.id, params=SLOW, send_windows=False
    )
    await until(lambda: state_of(client, workflow_id), lambda s: s.steps_sent)
    return workflow_id


async def test_a_german_opt_out_reply_ends_every_live_enrollment_and_suppresses(stack) -> None:
    settings, sim, api_url = stack
    engine = get_engine(settings.database_url)
    make_sender(engine)
    buyer = make_contact(engine, email=f"einkauf-{uuid.uuid4().hex[:6]}@maschinen.example.de")
    client = await connect(settings)
    with ThreadPoolExecutor(4) as pool:
        async with worker_module.build_worker(client, settings, engine, executor=pool):
            intro_workflow = await enroll_and_wait_for_intro(settings, engine, client, buyer)
            # The same buyer asks for a quote on the website: a second live enrollment.
            async with httpx.AsyncClient(base_url=api_url, headers=BEARER, timeout=30) as api:
                posted = await api.post(
                    "/api/events",
                    json={
                        "id": f"web-{uuid.uuid4()}",
                        "name": "quote_requested",
                        "contact": {"id": str(buyer.id)},
                        "properties": {"product": "DN50", "quote_number": "Q-1"},
                    },
                )
                assert posted.status_code == 200, posted.text
            quote_workflow = enrollment_workflow_id("quote_followup", buyer.id)
            await until(lambda: state_of(client, quote_workflow), lambda s: s.steps_sent)
            intro_state = await state_of(client, intro_workflow)

            await script(
                sim,
                message_id=intro_state.steps_sent[0].message_id,
                reply={"text": OPT_OUT_WORDS, "quote": True},
            )
            results = [
                await asyncio.wait_for(
                    client.get_workflow_handle(w, result_type=EnrollmentResult).result(), 30
                )
                for w in (intro_workflow, quote_workflow)
            ]
            history = await history_text(client, intro_workflow)

    replied, other = results
    assert (replied.outcome, replied.reply_intent) == (Outcome.UNSUBSCRIBED, "opt_out")
    assert other.outcome == Outcome.UNSUBSCRIBED
    with session_scope(engine) as s:
        assert newest_consent_actions(s, [buyer.id])[buyer.id] == ConsentAction.WITHDRAWN
        suppression = s.get(Suppression, address_hash(buyer.email))
        assert suppression is not None
    # The history has the label; the words stayed in SQL.
    assert '"opt_out"' in history
    for words in ("Verteiler", "keine weiteren", buyer.email):
        assert words not in history
    # Timeout: with the worker gone the state query waits its 5 s before the mirror answers.
    async with httpx.AsyncClient(base_url=api_url, headers=BEARER, timeout=30) as api:
        [reply] = (await api.get("/api/replies")).json()["replies"]
        enrollment = (await api.get(f"/api/enrollments/{intro_workflow}")).json()
    assert (reply["intent"], reply["language"]) == ("opt_out", "de")
    assert reply["text"] == OPT_OUT_WORDS  # without the quoted mail
    assert enrollment["reply_intent"] == "opt_out"
    assert len([m for m in sim.store.messages() if m.recipient == buyer.email]) == 2


async def test_an_interested_reply_notifies_once_signed_retried_after_a_500(
    stack, notify_receiver: Receiver
) -> None:
    settings, sim, api_url = stack
    engine = get_engine(settings.database_url)
    make_sender(engine)
    buyer = make_contact(engine, email=f"buyer-{uuid.uuid4().hex[:6]}@importer.example.com")
    client = await connect(settings)
    notify_receiver.fail_next = 1
    with ThreadPoolExecutor(4) as pool:
        async with worker_module.build_worker(client, settings, engine, executor=pool):
            workflow_id = await enroll_and_wait_for_intro(settings, engine, client, buyer)
            state = await state_of(client, workflow_id)
            await script(
                sim, message_id=state.steps_sent[0].message_id, reply={"text": INTERESTED_WORDS}
            )
            result = await asyncio.wait_for(
                client.get_workflow_handle(workflow_id, result_type=EnrollmentResult).result(), 30
            )
            history = await history_text(client, workflow_id)
            # The first POST got a 500; the retry comes about 5 s later with the same bytes.
            await until(
                lambda: asyncio.sleep(0, notify_receiver.requests[:]), lambda r: len(r) >= 2, 30
            )

    assert (result.outcome, result.reply_intent) == (Outcome.REPLIED, "interested")
    assert "MOQ" not in history
    first, second = notify_receiver.requests[:2]
    assert first.body == second.body
    assert (
        first.headers[NOTIFICATION_ID_HEADER.lower()]
        == second.headers[NOTIFICATION_ID_HEADER.lower()]
    )
    assert verify_signature(second.body, NOTIFY_SECRET, second.headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature(
        second.body, "another-secret", second.headers[SIGNATURE_HEADER.lower()]
    )
    sent = second.document
    assert sent["id"] == second.headers[NOTIFICATION_ID_HEADER.lower()]
    assert sent["kind"] == "reply"
    data = sent["data"]
    assert (data["intent"], data["contact_id"], data["enrollment"]) == (
        "interested",
        str(buyer.id),
        workflow_id,
    )
    path = f"/replies/{data['reply_id']}"
    assert data["link"] == PUBLIC_URL + path
    # The notification names; it does not quote.
    for words in ("MOQ", "price list", buyer.email):
        assert words not in second.body.decode()
    await asyncio.sleep(1.5)  # delivered: nothing more comes
    assert len(notify_receiver.requests) == 2
    async with httpx.AsyncClient() as http:  # the link opens the reply in the dashboard
        page = await http.get(api_url + path, headers=BEARER)
    assert page.status_code == 200
    assert "MOQ" in page.text  # the person reads it there


async def test_a_correction_to_opt_out_through_the_api_unsubscribes(stack) -> None:
    settings, sim, api_url = stack
    engine = get_engine(settings.database_url)
    make_sender(engine)
    buyer = make_contact(engine, email=f"achats-{uuid.uuid4().hex[:6]}@outillage.example.fr")
    client = await connect(settings)
    with ThreadPoolExecutor(4) as pool:
        async with worker_module.build_worker(client, settings, engine, executor=pool):
            workflow_id = await enroll_and_wait_for_intro(settings, engine, client, buyer)
            state = await state_of(client, workflow_id)
            await script(sim, message_id=state.steps_sent[0].message_id, reply={"text": "Merci."})
            result = await asyncio.wait_for(
                client.get_workflow_handle(workflow_id, result_type=EnrollmentResult).result(), 30
            )
            assert (result.outcome, result.reply_intent) == (Outcome.REPLIED, "neutral")
            async with httpx.AsyncClient(base_url=api_url, headers=BEARER, timeout=30) as api:
                [reply] = (await api.get("/api/replies")).json()["replies"]
                corrected = await api.patch(
                    f"/api/replies/{reply['id']}", json={"intent": "opt_out"}
                )
                assert corrected.status_code == 200, corrected.text
                enrollment = (await api.get(f"/api/enrollments/{workflow_id}")).json()

    assert enrollment["reply_intent"] == "opt_out"
    with session_scope(engine) as s:
        assert newest_consent_actions(s, [buyer.id])[buyer.id] == ConsentAction.WITHDRAWN
        assert s.exec(
            select(Suppression).where(Suppression.address_hash == address_hash(buyer.email))
        ).first()


async def test_wrong_person_not_interested_and_neutral_end_replied_each_with_its_effect(
    stack, notify_receiver: Receiver
) -> None:
    settings, sim, api_url = stack
    engine = get_engine(settings.database_url)
    make_sender(engine)
    left = make_contact(engine, email=f"m.braun-{uuid.uuid4().hex[:4]}@handel.example.de")
    thanks = make_contact(engine, email=f"buyer-{uuid.uuid4().hex[:4]}@importer.example.com")
    declines = make_contact(engine, email=f"compras-{uuid.uuid4().hex[:4]}@ferreteria.example.es")
    colleague = "p.hoffmann@handel.example.de"
    client = await connect(settings)

    def quote_request() -> dict:
        return {
            "id": f"web-{uuid.uuid4()}",
            "name": "quote_requested",
            "contact": {"id": str(declines.id)},
            "properties": {"product": "M8 bolts", "quote_number": "Q-7"},
        }

    with ThreadPoolExecutor(4) as pool:
        async with (
            worker_module.build_worker(client, settings, engine, executor=pool),
            httpx.AsyncClient(base_url=api_url, headers=BEARER, timeout=30) as api,
        ):
            assert (await api.post("/api/events", json=quote_request())).status_code == 200
            quote_workflow = enrollment_workflow_id("quote_followup", declines.id)
            workflows = {
                "wrong_person": await enroll_and_wait_for_intro(settings, engine, client, left),
                "neutral": await enroll_and_wait_for_intro(settings, engine, client, thanks),
            }
            await until(lambda: state_of(client, quote_workflow), lambda s: s.steps_sent)
            workflows["not_interested"] = quote_workflow
            texts = {
                "wrong_person": "I am no longer responsible for purchasing. Please contact "
                f"my colleague Petra Hoffmann, {colleague}.",
                "neutral": "Thanks, received.",
                "not_interested": "Gracias, pero de momento no nos interesa.",
            }
            for intent, workflow_id in workflows.items():
                state = await state_of(client, workflow_id)
                await script(
                    sim,
                    message_id=state.steps_sent[0].message_id,
                    reply={"text": texts[intent]},
                )
            results = {
                intent: await asyncio.wait_for(
                    client.get_workflow_handle(w, result_type=EnrollmentResult).result(), 30
                )
                for intent, w in workflows.items()
            }
            # The buyer who said no asks for a quote again: the cool-off refuses it.
            again = (await api.post("/api/events", json=quote_request())).json()
            replies = {r["intent"]: r for r in (await api.get("/api/replies")).json()["replies"]}
            await until(lambda: asyncio.sleep(0, notify_receiver.requests[:]), lambda r: r, 15)
            await asyncio.sleep(1.5)  # a second notification, if one were queued, comes now

    for intent, result in results.items():
        assert (result.outcome, result.reply_intent) == (Outcome.REPLIED, intent)
    [triggered] = again["results"][0]["triggered"]
    assert triggered["status"] == "refused"
    assert "replied not interested" in triggered["reason"]
    # Only the referral is told to a person; the address it names is stored, not enrolled.
    [notification] = notify_receiver.requests
    assert notification.document["data"]["intent"] == "wrong_person"
    assert replies["wrong_person"]["referred_email"] == colleague
    with session_scope(engine) as s:
        assert not s.exec(select(Contact).where(Contact.email == colleague)).first()
