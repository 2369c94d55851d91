"""`POST /api/enrollments` and `GET /api/enrollments/{workflow_id}` on the real Temporal dev
server: 201 / 409 / 422 (no consent, withdrawn, suppressed, re-enrollment) / 404 (sequence,
contact by each kind of reference) / idempotency keys / 503 / 401, and an enrollment's state while
it runs and once it ended — from the `state` query, or from the SQL mirror when Temporal does not
know it or cannot be reached. The app runs in the test's event loop (ASGI transport), beside the
worker that answers the queries."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlmodel import select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

import worker as worker_module
from api.app import create_app
from api.enrollments import IDEMPOTENCY_MEMO_KEY
from models.db import session_scope
from models.enrollment import (
    EnrollmentInput,
    EnrollmentResult,
    Outcome,
    enrollment_workflow_id,
)
from models.events import EngagementEvent, EventKind
from models.settings import Settings
from models.tables import (
    ConsentAction,
    Contact,
    Enrollment,
    Event,
    EventSignal,
    Message,
    MessageStatus,
    SuppressionReason,
    utcnow,
)
from models.temporal_client import connect
from models.wire import CANCEL_SIGNAL, EVENT_SIGNAL
from tests.factories import (
    INBOUND_DOMAIN,
    PUBLIC_URL,
    SECRET,
    make_contact,
    make_enrollment,
    make_sender,
    suppress,
    withdraw_consent,
)
from tests.sim_fixtures import SIM_API_KEY

TOKEN = "enrollments-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: trade_intro timings under which nothing but the intro goes out during a test.
SLOW = {"open_window": "P2D", "case_study_after": "P4D", "offer_after": "P4D"}


@pytest.fixture
def settings(database_url: str, dev_server_address: str, sim: Any) -> Settings:
    return Settings(
        database_url=database_url,
        temporal_address=dev_server_address,
        task_queue=f"api-enroll-{uuid.uuid4()}",
        sendgrid_host=sim.url,
        sendgrid_api_key=SIM_API_KEY,
        api_token=TOKEN,
        secret_key=SECRET,
        public_url=PUBLIC_URL,
        inbound_domain=INBOUND_DOMAIN,
    )


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, run_forwarder=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://nurture.test") as http:
        yield http


@pytest_asyncio.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(settings) as http:
        yield http


@pytest_asyncio.fixture
async def temporal(settings: Settings) -> Client:
    return await connect(settings)


@pytest.fixture
def sender(engine: sa.Engine) -> None:
    make_sender(engine)


@pytest_asyncio.fixture
async def running_worker(
    temporal: Client, settings: Settings, engine: sa.Engine
) -> AsyncIterator[None]:
    with ThreadPoolExecutor(4) as pool:
        async with worker_module.build_worker(temporal, settings, engine, executor=pool):
            yield


Enroll = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def enroll(api: httpx.AsyncClient) -> Enroll:
    """POST /api/enrollments for trade_intro with the token; keyword arguments go in the body."""

    async def post(contact: dict[str, Any], **body: Any) -> httpx.Response:
        payload = {"sequence": "trade_intro", "contact": contact, "params": SLOW} | body
        return await api.post("/api/enrollments", json=payload, headers=AUTH)

    return post


async def _status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    try:
        return (await client.get_workflow_handle(workflow_id).describe()).status
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


def _enrollment(engine: sa.Engine, workflow_id: str) -> Enrollment | None:
    with session_scope(engine) as s:
        return s.get(Enrollment, workflow_id)


def _end(engine: sa.Engine, workflow_id: str, outcome: str, event: str | None = None) -> None:
    with session_scope(engine) as s:
        row = s.get(Enrollment, workflow_id)
        assert row is not None
        row.outcome, row.outcome_event, row.ended_at = outcome, event, utcnow()


# --- POST: 201 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "email", "external_id"])
async def test_post_enrolls_the_contact_it_names_and_answers_201(
    enroll: Enroll, temporal: Client, engine: sa.Engine, sender: None, by: str
) -> None:
    contact = make_contact(engine, external_id=f"crm-{uuid.uuid4().hex[:8]}")
    ref = {
        "id": str(contact.id),
        "email": contact.email.upper(),
        "external_id": contact.external_id,
    }

    response = await enroll({by: ref[by]}, cohort="web-form")

    assert response.status_code == 201, response.text
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    assert response.json() == {"workflow_id": workflow_id}
    assert await _status(temporal, workflow_id) == WorkflowExecutionStatus.RUNNING
    row = _enrollment(engine, workflow_id)
    assert row is not None
    assert (row.cohort_id, row.sender_id, row.outcome) == ("web-form", "default", None)
    # Send windows on: the contact's calendar travels in the input (ids and zone, no address).
    history = await temporal.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    payload = started.input.payloads[0].data.decode()
    assert EnrollmentInput.model_validate_json(payload).calendar is not None
    assert contact.email not in payload
    await temporal.get_workflow_handle(workflow_id).terminate("test over")


# --- POST: 409, 422, 404 --------------------------------------------------------------------------


async def test_a_live_enrollment_is_409(
    enroll: Enroll, temporal: Client, engine: sa.Engine, sender: None
) -> None:
    contact = make_contact(engine)
    first = await enroll({"id": str(contact.id)})

    again = await enroll({"id": str(contact.id)})

    assert first.status_code == 201
    assert again.status_code == 409
    assert "still running" in again.json()["detail"]
    await temporal.get_workflow_handle(first.json()["workflow_id"]).terminate("test over")


async def test_a_workflow_running_without_its_sql_row_is_409_too(
    enroll: Enroll, temporal: Client, engine: sa.Engine, settings: Settings, sender: None
) -> None:
    contact = make_contact(engine)
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    await temporal.start_workflow(
        "trade_intro",
        EnrollmentInput(contact_id=contact.id, params=SLOW),
        id=workflow_id,
        task_queue=settings.task_queue,
    )

    response = await enroll({"id": str(contact.id)})

    assert response.status_code == 409
    assert "already enrolled" in response.json()["detail"]
    await temporal.get_workflow_handle(workflow_id).terminate("test over")


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [
        ("no consent", "has no consent on record"),
        ("withdrawn", "withdrew consent"),
        ("suppressed", "is suppressed"),
        ("re-enrollment", "re-enrolls 180 days after the last one ended"),
    ],
)
async def test_a_contact_that_may_not_be_enrolled_is_422_with_the_reason(
    enroll: Enroll, temporal: Client, engine: sa.Engine, sender: None, refusal: str, reason: str
) -> None:
    contact = make_contact(
        engine, consent=None if refusal == "no consent" else ConsentAction.GRANTED
    )
    if refusal == "withdrawn":
        withdraw_consent(engine, contact.id)
    if refusal == "suppressed":
        suppress(engine, contact.email, SuppressionReason.HARD_BOUNCE)
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    if refusal == "re-enrollment":
        make_enrollment(engine, contact)
        _end(engine, workflow_id, "completed")

    response = await enroll({"id": str(contact.id)})

    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "contact"]
    assert reason in problem["msg"]
    assert str(contact.id) in problem["msg"]
    assert contact.email not in response.text
    assert await _status(temporal, workflow_id) is None  # nothing started
    if refusal != "re-enrollment":
        assert _enrollment(engine, workflow_id) is None


async def test_an_unknown_sequence_is_404(enroll: Enroll, engine: sa.Engine) -> None:
    contact = make_contact(engine)

    response = await enroll({"id": str(contact.id)}, sequence="no_such_sequence")

    assert response.status_code == 404
    assert "no sequence named 'no_such_sequence'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("ref", "said"),
    [
        ({"id": "0b6f4f8e-9a57-4c1e-9a8e-3f1c2d4e5f60"}, "0b6f4f8e-9a57-4c1e-9a8e-3f1c2d4e5f60"),
        ({"email": "nobody@unknown.example.org"}, "contact with that email"),
        ({"external_id": "crm-missing"}, "external_id 'crm-missing'"),
    ],
)
async def test_an_unknown_contact_is_404_by_each_kind_of_reference(
    enroll: Enroll, ref: dict[str, str], said: str
) -> None:
    response = await enroll(ref)

    assert response.status_code == 404
    assert said in response.json()["detail"]
    assert "nobody@" not in response.text


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"contact": {}}, ["body", "contact"]),
        ({"contact": {"id": str(uuid.uuid4()), "external_id": "x"}}, ["body", "contact"]),
        ({"contact": {"email": "not an address"}}, ["body", "contact"]),
        ({"sequence": ""}, ["body", "sequence"]),
        ({"params": {"open_window": "soon"}}, ["body", "params"]),
        ({"sender": "nobody"}, ["body", "sender"]),
        ({"surprise": 1}, ["body", "surprise"]),
    ],
)
async def test_a_malformed_body_is_422_naming_the_field(
    enroll: Enroll, engine: sa.Engine, sender: None, body: dict[str, Any], loc: list[str]
) -> None:
    contact = make_contact(engine)

    given = dict(body)  # the parameter is shared by each backend's run
    response = await enroll(given.pop("contact", {"id": str(contact.id)}), **given)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][: len(loc)] == loc
    assert _enrollment(engine, enrollment_workflow_id("trade_intro", contact.id)) is None


async def test_a_body_that_is_not_json_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/enrollments",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)


# --- idempotency ------------------------------------------------------------------------------------


async def test_a_retry_with_the_same_key_answers_200_with_the_same_workflow(
    enroll: Enroll, temporal: Client, engine: sa.Engine, sender: None
) -> None:
    contact = make_contact(engine)
    ref = {"id": str(contact.id)}

    first = await enroll(ref, idempotency_key="form-submit-77")
    retry = await enroll(ref, idempotency_key="form-submit-77")
    other_key = await enroll(ref, idempotency_key="form-submit-78")
    no_key = await enroll(ref)

    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert (other_key.status_code, no_key.status_code) == (409, 409)
    workflow_id = first.json()["workflow_id"]
    description = await temporal.get_workflow_handle(workflow_id).describe()
    assert await description.memo_value(IDEMPOTENCY_MEMO_KEY) == "form-submit-77"
    await temporal.get_workflow_handle(workflow_id).terminate("test over")


async def test_a_retry_after_a_start_whose_answer_was_lost_writes_the_missing_row(
    enroll: Enroll, temporal: Client, engine: sa.Engine, settings: Settings, sender: None
) -> None:
    contact = make_contact(engine)
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    # The first request started the workflow, then died before its SQL row and its answer.
    await temporal.start_workflow(
        "trade_intro",
        EnrollmentInput(contact_id=contact.id, params=SLOW, cohort_id="crm"),
        id=workflow_id,
        task_queue=settings.task_queue,
        memo={IDEMPOTENCY_MEMO_KEY: "crm-sync-1"},
    )

    retry = await enroll({"id": str(contact.id)}, idempotency_key="crm-sync-1", cohort="crm")

    assert retry.status_code == 200
    assert retry.json() == {"workflow_id": workflow_id}
    row = _enrollment(engine, workflow_id)
    assert row is not None
    assert (row.cohort_id, row.outcome) == ("crm", None)
    await temporal.get_workflow_handle(workflow_id).terminate("test over")


async def test_a_keyed_retry_that_cannot_ask_temporal_is_503_not_409(
    enroll: Enroll,
    temporal: Client,
    engine: sa.Engine,
    sender: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import api.enrollments

    contact = make_contact(engine)
    first = await enroll({"id": str(contact.id)}, idempotency_key="k-1")

    async def no_answer(client: Client, *args: Any) -> bool:
        return False

    # Temporal went away between the conflict and the memo check: "not ours" proves nothing.
    monkeypatch.setattr(api.enrollments, "started_with_memo", no_answer)
    monkeypatch.setattr(api.enrollments, "_answers", no_answer)
    retry = await enroll({"id": str(contact.id)}, idempotency_key="k-1")

    assert first.status_code == 201
    assert retry.status_code == 503
    await temporal.get_workflow_handle(first.json()["workflow_id"]).terminate("test over")


# --- Temporal unreachable, no token -----------------------------------------------------------------


async def test_post_is_503_while_temporal_is_unreachable(
    settings: Settings, engine: sa.Engine, sender: None
) -> None:
    contact = make_contact(engine)
    down = settings.model_copy(update={"temporal_address": "127.0.0.1:1"})
    async with serving(down) as api:
        response = await api.post(
            "/api/enrollments",
            json={"sequence": "trade_intro", "contact": {"id": str(contact.id)}},
            headers=AUTH,
        )
    assert response.status_code == 503
    assert _enrollment(engine, enrollment_workflow_id("trade_intro", contact.id)) is None


async def test_the_routes_need_the_token(api: httpx.AsyncClient, engine: sa.Engine) -> None:
    contact = make_contact(engine)
    workflow_id = make_enrollment(engine, contact)
    body = {"sequence": "trade_intro", "contact": {"id": str(contact.id)}}

    assert (await api.post("/api/enrollments", json=body)).status_code == 401
    assert (await api.get(f"/api/enrollments/{workflow_id}")).status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert (await api.get(f"/api/enrollments/{workflow_id}", headers=bad)).status_code == 401


# --- GET --------------------------------------------------------------------------------------------


async def _until_sent(engine: sa.Engine, workflow_id: str, step: str, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.1)):
        with session_scope(engine) as s:
            row = s.exec(
                select(Message).where(Message.workflow_id == workflow_id, Message.step == step)
            ).first()
        if row is not None and row.status == MessageStatus.SENT:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{step} never sent")


async def test_get_a_running_enrollment_from_its_state_query(
    enroll: Enroll,
    api: httpx.AsyncClient,
    temporal: Client,
    engine: sa.Engine,
    sender: None,
    running_worker: None,
) -> None:
    contact = make_contact(engine)
    workflow_id = (await enroll({"id": str(contact.id)}, cohort="fair")).json()["workflow_id"]
    clicked = "https://example.test/catalogue?who=" + contact.email
    event = EngagementEvent(kind=EventKind.CLICK, occurred_at=utcnow(), url=clicked)
    await temporal.get_workflow_handle(workflow_id).signal(EVENT_SIGNAL, event)

    response = await api.get(f"/api/enrollments/{workflow_id}", headers=AUTH)

    assert response.status_code == 200, response.text
    state = response.json()
    assert state["source"] == "temporal"
    assert (state["workflow_id"], state["sequence"]) == (workflow_id, "trade_intro")
    assert (state["contact_id"], state["cohort_id"]) == (str(contact.id), "fair")
    assert state["status"] != "ended"
    assert (state["outcome"], state["goal"], state["exit_event"]) == (None, None, None)
    assert [e["kind"] for e in state["events_seen"]] == ["click"]
    assert state["started_at"] is not None
    # Kinds and times only: not the clicked URL, not the address.
    assert "catalogue" not in response.text
    assert contact.email not in response.text
    await temporal.get_workflow_handle(workflow_id).terminate("test over")


async def test_waiting_still_answers_beside_the_enrollment_route(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/enrollments/waiting", headers=AUTH)

    assert response.status_code == 200
    assert set(response.json()) == {
        "waiting_for_quota",
        "sender_paused",
        "paused",
        "waiting_for_winner",
    }


async def test_get_an_enrollment_ended_by_ops(
    enroll: Enroll,
    api: httpx.AsyncClient,
    temporal: Client,
    engine: sa.Engine,
    sender: None,
    running_worker: None,
) -> None:
    contact = make_contact(engine)
    workflow_id = (await enroll({"id": str(contact.id)})).json()["workflow_id"]
    handle = temporal.get_workflow_handle(workflow_id, result_type=EnrollmentResult)
    await handle.signal(CANCEL_SIGNAL, "buyer asked by phone")
    await asyncio.wait_for(handle.result(), 30)

    state = (await api.get(f"/api/enrollments/{workflow_id}", headers=AUTH)).json()

    assert state["source"] == "temporal"
    assert (state["status"], state["outcome"]) == ("ended", "cancelled")
    assert state["ended_at"] is not None


async def test_get_a_converted_enrollment_names_its_goal(
    engine: sa.Engine, api: httpx.AsyncClient, temporal: Client, settings: Settings, sim: Any
) -> None:
    make_sender(engine)
    contact = make_contact(engine)
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    with ThreadPoolExecutor(4) as pool:
        async with worker_module.build_worker(temporal, settings, engine, executor=pool):
            from activities.enrollment.enrolling import EnrollmentService

            service = EnrollmentService(engine, temporal, settings.task_queue)
            await service.enroll("trade_intro", contact.id, params=SLOW, send_windows=False)
            await _until_sent(engine, workflow_id, "intro")
            handle = temporal.get_workflow_handle(workflow_id, result_type=EnrollmentResult)
            booked = EngagementEvent(
                kind=EventKind.BUSINESS,
                occurred_at=utcnow(),
                name="meeting_booked",
                event_id=str(uuid.uuid4()),
            )
            await handle.signal(EVENT_SIGNAL, booked)
            result = await asyncio.wait_for(handle.result(), 30)

            state = (await api.get(f"/api/enrollments/{workflow_id}", headers=AUTH)).json()

    assert (result.outcome, result.goal) == (Outcome.CONVERTED, "meeting_booked")
    assert state["source"] == "temporal"
    assert (state["status"], state["outcome"]) == ("ended", "converted")
    assert (state["goal"], state["exit_event"]) == ("meeting_booked", None)
    assert [s["step"] for s in state["steps_sent"]] == ["intro"]
    assert [(e["kind"], e["name"]) for e in state["events_seen"]][-1] == (
        "business",
        "meeting_booked",
    )


def _mirrored_conversion(engine: sa.Engine) -> tuple[Contact, str]:
    """An enrollment only SQL knows: ended converted, one step sent, two events forwarded."""
    contact = make_contact(engine)
    workflow_id = make_enrollment(engine, contact)
    now = utcnow()
    with session_scope(engine) as s:
        s.add(
            Message(
                id=str(uuid.uuid4()),
                workflow_id=workflow_id,
                contact_id=contact.id,
                sequence="trade_intro",
                step="intro",
                sender_id="default",
                status=MessageStatus.SENT,
                subject=f"For {contact.company}",
                sent_at=now,
            )
        )
        for kind, payload, late in (
            ("open", {"kind": "open"}, False),
            ("business", {"kind": "business", "name": "meeting_booked"}, False),
            ("click", {"kind": "click"}, True),  # came after the end: never seen
        ):
            s.add(
                Event(
                    esp_event_id=f"{kind}-{uuid.uuid4()}",
                    esp_type=kind,
                    kind=kind,
                    workflow_id=workflow_id,
                    contact_id=contact.id,
                    occurred_at=now + timedelta(seconds=len(kind)),
                    details={"ip": "203.0.113.9"},
                    signal=EventSignal.ENGAGEMENT,
                    payload=payload,
                    forwarded_at=now,
                    late=late,
                )
            )
    _end(engine, workflow_id, "converted", "meeting_booked")
    return contact, workflow_id


async def test_get_falls_back_to_the_sql_mirror_when_temporal_does_not_know_it(
    api: httpx.AsyncClient, engine: sa.Engine
) -> None:
    contact, workflow_id = _mirrored_conversion(engine)

    response = await api.get(f"/api/enrollments/{workflow_id}", headers=AUTH)

    assert response.status_code == 200, response.text
    state = response.json()
    assert state["source"] == "database"
    assert (state["sequence"], state["contact_id"]) == ("trade_intro", str(contact.id))
    assert (state["status"], state["outcome"], state["goal"]) == (
        "ended",
        "converted",
        "meeting_booked",
    )
    assert state["current_step"] == "intro"
    assert [(s["step"], s["status"]) for s in state["steps_sent"]] == [("intro", "sent")]
    assert [(e["kind"], e["name"]) for e in state["events_seen"]] == [
        ("open", None),
        ("business", "meeting_booked"),
    ]
    assert "203.0.113.9" not in response.text
    assert contact.company not in response.text


async def test_get_falls_back_to_the_sql_mirror_while_temporal_is_unreachable(
    settings: Settings, engine: sa.Engine
) -> None:
    _, workflow_id = _mirrored_conversion(engine)
    down = settings.model_copy(update={"temporal_address": "127.0.0.1:1"})

    async with serving(down) as api:
        response = await api.get(f"/api/enrollments/{workflow_id}", headers=AUTH)
        unknown = await api.get("/api/enrollments/nurture/trade_intro/nobody", headers=AUTH)

    assert response.status_code == 200
    assert response.json()["source"] == "database"
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "workflow_id",
    [f"nurture/trade_intro/{uuid.uuid4()}", "nurture-cohort/fair-2026", "nothing"],
)
async def test_get_an_enrollment_nobody_knows_is_404(
    api: httpx.AsyncClient, workflow_id: str
) -> None:
    response = await api.get(f"/api/enrollments/{workflow_id}", headers=AUTH)

    assert response.status_code == 404
    assert workflow_id in response.json()["detail"]
