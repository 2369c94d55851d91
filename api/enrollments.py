"""`/api/enrollments/...`: enroll one contact (`POST`), one enrollment's state (`GET
/api/enrollments/{workflow_id}`), counts of waiting enrollments (Temporal visibility) and ops
control of one enrollment (pause, resume, cancel through the outbox: `EnrollmentControl`, as
`nurture enrollment …`).

`POST /api/enrollments` answers 201 `{"workflow_id"}`; 409 while the contact is live in the
sequence; 422 on `contact` when it may not be enrolled (no consent, consent withdrawn,
suppressed, or the sequence's re-enrollment rule); 404 for an unknown sequence or contact; 503
while Temporal is unreachable. A retry with the same `idempotency_key` while the enrollment it
started is live answers 200 with the same workflow id (the key rides in the workflow's memo).

`GET /api/enrollments/{workflow_id}` asks the workflow's `state` query (running and recently
closed workflows) and falls back to the SQL mirror (the enrollment row, its messages and its
forwarded events) when Temporal does not know the workflow or cannot be reached; 404 when
neither does. It holds ids, kinds, times and business event names: no personal data.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, TypeVar
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.contacts.store import find_contact
from activities.enrollment.control import ControlAction
from activities.enrollment.enrolling import EnrollmentService, started_with_memo
from api.deps import (
    EngineDep,
    EnrollmentControlDep,
    EnrollmentServiceDep,
    ForwarderDep,
    OptionalTemporalDep,
    TemporalDep,
    require_api_token,
)
from models.business_events import ContactRef
from models.db import session_scope
from models.enrollment import (
    EnrollmentInput,
    EnrollmentState,
    EnrollmentStatus,
    Outcome,
    SendStatus,
    SentStep,
    enrollment_workflow_id,
)
from models.errors import (
    ContactNotFound,
    EnrollmentConflict,
    EnrollmentNotFound,
    InvalidInput,
    ReenrollmentRefused,
    SendBlocked,
    SequenceNotFound,
)
from models.events import EventKind
from models.replies import ReplyIntent
from models.tables import Enrollment, Event, EventSignal, Message, MessageStatus
from models.wire import STATE_QUERY

#: The memo key a `POST /api/enrollments` start carries its caller's idempotency key under.
IDEMPOTENCY_MEMO_KEY = "nurture_idempotency_key"
#: How long the `state` query may take before the SQL mirror answers instead.
STATE_QUERY_TIMEOUT = timedelta(seconds=5)
#: Temporal's answers that mean "not reachable now" (503), not a bug.
_UNREACHABLE = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED})
#: An `InvalidInput` of `EnrollmentService` names its own parameter; the body's field instead.
_BODY_FIELDS = {"sender_id": "sender", "contact_id": "contact"}

E = TypeVar("E", bound=StrEnum)

router = APIRouter(
    prefix="/api/enrollments", tags=["enrollments"], dependencies=[Depends(require_api_token)]
)


# --- shapes ----------------------------------------------------------------------------------------


class EnrollmentRequest(BaseModel):
    """`POST /api/enrollments`: one contact into one sequence."""

    model_config = ConfigDict(extra="forbid")

    sequence: str = Field(min_length=1, max_length=100, examples=["trade_intro"])
    contact: ContactRef
    params: dict[str, Any] = Field(default_factory=dict, description="The sequence's params.")
    cohort: str | None = Field(
        None, min_length=1, max_length=100, description="Cohort id to tag the enrollment with."
    )
    sender: str = Field("default", min_length=1, max_length=64, description="Sender id.")
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="A retry with the same key while the enrollment is live answers 200 with "
        "its workflow id instead of 409.",
    )


class EnrollmentCreated(BaseModel):
    workflow_id: str


class SeenEvent(BaseModel):
    """An event the enrollment saw: kind, time, the business event's name; never its
    properties, a clicked URL or an address."""

    kind: EventKind
    occurred_at: datetime
    name: str | None = None
    message_id: str | None = None


class EnrollmentView(BaseModel):
    """One enrollment as `GET /api/enrollments/{workflow_id}` answers it. `source` says who
    answered: `temporal` (the `state` query) or `database` (the SQL mirror, when Temporal does
    not know the workflow or is unreachable: `status` is then `running` or `ended` only, and
    `current_step` the last step sent)."""

    workflow_id: str
    sequence: str
    contact_id: UUID
    cohort_id: str | None = None
    sender_id: str | None = None
    status: EnrollmentStatus
    current_step: str | None = None
    outcome: Outcome | None = None
    #: For `converted`: the goal (business event name) that ended it.
    goal: str | None = None
    #: For `exited`: the `exit_on` business event that ended it.
    exit_event: str | None = None
    #: When a human reply ended it: the reply's intent (as corrected, if a person corrected it).
    reply_intent: ReplyIntent | None = None
    steps_sent: list[SentStep] = Field(default_factory=list)
    events_seen: list[SeenEvent] = Field(default_factory=list)
    paused_until: datetime | None = None
    paused_by_ops: bool = False
    started_at: datetime | None = None
    ended_at: datetime | None = None
    source: Literal["temporal", "database"]


# --- enrolling one contact -------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    workflow_id: str
    #: False when an earlier request with the same idempotency key started it.
    created: bool


def _known_sequence(name: str) -> None:
    from workflows.registry import by_name  # workflow classes only, no I/O

    try:
        by_name(name)
    except KeyError as exc:
        raise SequenceNotFound(str(exc.args[0])) from None


def _contact_id(engine: sa.Engine, ref: ContactRef) -> UUID:
    with session_scope(engine) as session:
        contact = find_contact(session, ref)  # a malformed address: InvalidInput "email"
        if contact is None:
            raise ContactNotFound(f"no {ref.describe()} (never held, or erased)")
        return contact.id


async def _answers(client: Client) -> bool:
    """Whether Temporal answers now."""
    try:
        return await client.service_client.check_health(timeout=timedelta(seconds=5))
    except Exception:  # unreachable, refused, timed out: all mean "not now"
        return False


def _unreachable(exc: RPCError) -> HTTPException:
    return HTTPException(503, f"Temporal is unreachable ({exc.status.name}); try again shortly")


async def start_enrollment(
    service: EnrollmentService, client: Client, engine: sa.Engine, request: EnrollmentRequest
) -> Started:
    """Enroll the contact `request` names, with send windows. See the module docstring for the
    answers; a contact that may not be enrolled is `InvalidInput` on `contact` with the reason."""
    _known_sequence(request.sequence)
    try:
        contact_id = await asyncio.to_thread(_contact_id, engine, request.contact)
    except InvalidInput as exc:  # the address inside `contact` is not one
        raise InvalidInput("contact", exc.reason) from exc
    key = request.idempotency_key
    try:
        workflow_id = await service.enroll(
            request.sequence,
            contact_id,
            cohort_id=request.cohort,
            sender_id=request.sender,
            params=request.params,
            memo={IDEMPOTENCY_MEMO_KEY: key} if key else None,
        )
    except (SendBlocked, ReenrollmentRefused) as exc:
        raise InvalidInput("contact", str(exc)) from exc
    except EnrollmentConflict:
        if key is None:
            raise
        replayed = await _replayed(service, client, request, contact_id, key)
        if replayed is None:
            raise
        return Started(replayed, created=False)
    except InvalidInput as exc:
        raise InvalidInput(_BODY_FIELDS.get(exc.field, exc.field), exc.reason) from exc
    except RPCError as exc:
        if exc.status in _UNREACHABLE:
            raise _unreachable(exc) from exc
        raise
    return Started(workflow_id, created=True)


async def _replayed(
    service: EnrollmentService,
    client: Client,
    request: EnrollmentRequest,
    contact_id: UUID,
    key: str,
) -> str | None:
    """The live enrollment's workflow id if a request with `key` started it (its SQL row written
    if that request died before writing it), else None."""
    workflow_id = enrollment_workflow_id(request.sequence, contact_id)
    if not await started_with_memo(client, workflow_id, IDEMPOTENCY_MEMO_KEY, key):
        # It reads any RPC error as "not ours": a 409 only if Temporal did answer.
        if not await _answers(client):
            raise HTTPException(503, "Temporal is unreachable; try again shortly")
        return None
    mirrored = EnrollmentInput(
        contact_id=contact_id, sender_id=request.sender, cohort_id=request.cohort
    )
    await asyncio.to_thread(service.mirror_if_missing, request.sequence, workflow_id, mirrored)
    return workflow_id


# --- one enrollment's state ------------------------------------------------------------------------


@dataclass(frozen=True)
class Mirror:
    """What SQL holds on one enrollment."""

    row: Enrollment | None
    steps: list[SentStep]
    events: list[SeenEvent]


_SENT = {MessageStatus.SENT: SendStatus.SENT, MessageStatus.UNKNOWN: SendStatus.UNKNOWN}


def read_mirror(engine: sa.Engine, workflow_id: str, *, with_history: bool) -> Mirror:
    """The enrollment's row and (`with_history`) the steps it sent and the events forwarded to it."""
    with session_scope(engine) as session:
        row = session.get(Enrollment, workflow_id)
        if row is None or not with_history:
            return Mirror(row, [], [])
        messages = session.exec(
            select(Message)
            .where(Message.workflow_id == workflow_id)
            .order_by(col(Message.created_at), col(Message.id))
        ).all()
        events = session.exec(
            select(Event)
            .where(
                Event.workflow_id == workflow_id,
                Event.signal == EventSignal.ENGAGEMENT,
                col(Event.kind).is_not(None),
                col(Event.forwarded_at).is_not(None),
                col(Event.late).is_(False),
            )
            .order_by(col(Event.occurred_at), col(Event.id))
        ).all()
        return Mirror(
            row,
            [
                SentStep(step=m.step, message_id=m.id, status=_SENT[m.status], variant=m.variant)
                for m in messages
                if m.status in _SENT
            ],
            [seen for e in events if (seen := _seen_from_row(e)) is not None],
        )


def _member(enum: type[E], value: str | None) -> E | None:
    """`value` as a member of `enum`, None if it names none (a kind or outcome from elsewhere)."""
    try:
        return enum(value) if value is not None else None
    except ValueError:
        return None


def _seen_from_row(event: Event) -> SeenEvent | None:
    kind = _member(EventKind, event.kind)
    if kind is None:
        return None
    payload = event.payload if isinstance(event.payload, dict) else {}
    name = payload.get("name") if kind == EventKind.BUSINESS else None
    return SeenEvent(
        kind=kind,
        occurred_at=event.occurred_at,
        name=name if isinstance(name, str) else None,
        message_id=event.message_id,
    )


async def query_state(client: Client | None, workflow_id: str) -> EnrollmentState | None:
    """The workflow's `state` query, or None when Temporal does not know it, cannot answer it
    (not an enrollment, no worker) or is unreachable."""
    if client is None or not workflow_id.startswith("nurture/"):
        return None
    try:
        return await client.get_workflow_handle(workflow_id).query(
            STATE_QUERY, result_type=EnrollmentState, rpc_timeout=STATE_QUERY_TIMEOUT
        )
    except (RPCError, WorkflowQueryFailedError):
        return None


def _outcome_event(outcome: Outcome | None, wanted: Outcome, event: str | None) -> str | None:
    return event if outcome == wanted else None


def enrollment_view(
    workflow_id: str, state: EnrollmentState | None, mirror: Mirror
) -> EnrollmentView:
    """The answer from the `state` query if there is one, else from the SQL mirror;
    `EnrollmentNotFound` when neither knows the enrollment."""
    row = mirror.row
    recorded = row.outcome_event if row is not None else None
    # The mirror holds a person's correction; the workflow's own answer the classifier's.
    corrected = _member(ReplyIntent, row.reply_intent) if row is not None else None
    times: dict[str, Any] = (
        {"sender_id": row.sender_id, "started_at": row.started_at, "ended_at": row.ended_at}
        if row is not None
        else {}
    )
    if state is not None:
        return EnrollmentView(
            workflow_id=workflow_id,
            sequence=state.sequence,
            contact_id=state.contact_id,
            cohort_id=state.cohort_id,
            status=state.status,
            current_step=state.current_step,
            outcome=state.outcome,
            goal=state.goal or _outcome_event(state.outcome, Outcome.CONVERTED, recorded),
            exit_event=state.exit_event or _outcome_event(state.outcome, Outcome.EXITED, recorded),
            reply_intent=corrected or state.reply_intent,
            steps_sent=state.steps_sent,
            events_seen=[
                SeenEvent(
                    kind=e.kind, occurred_at=e.occurred_at, name=e.name, message_id=e.message_id
                )
                for e in state.events_seen
            ],
            paused_until=state.paused_until,
            paused_by_ops=state.paused_by_ops,
            source="temporal",
            **times,
        )
    if row is None:
        raise EnrollmentNotFound(f"no enrollment {workflow_id!r}")
    outcome = _member(Outcome, row.outcome)
    ended = row.outcome is not None or row.ended_at is not None
    return EnrollmentView(
        workflow_id=workflow_id,
        sequence=row.sequence,
        contact_id=row.contact_id,
        cohort_id=row.cohort_id,
        status=EnrollmentStatus.ENDED if ended else EnrollmentStatus.RUNNING,
        current_step=mirror.steps[-1].step if mirror.steps else None,
        outcome=outcome,
        goal=_outcome_event(outcome, Outcome.CONVERTED, recorded),
        exit_event=_outcome_event(outcome, Outcome.EXITED, recorded),
        reply_intent=corrected,
        steps_sent=mirror.steps,
        events_seen=mirror.events,
        source="database",
        **times,
    )


async def read_enrollment(
    engine: sa.Engine, client: Client | None, workflow_id: str
) -> EnrollmentView:
    """One enrollment's state: one Temporal query and, beside it, its SQL row (the whole mirror
    only when Temporal does not answer)."""
    state, mirror = await asyncio.gather(
        query_state(client, workflow_id),
        asyncio.to_thread(read_mirror, engine, workflow_id, with_history=False),
    )
    if state is None:
        mirror = await asyncio.to_thread(read_mirror, engine, workflow_id, with_history=True)
    return enrollment_view(workflow_id, state, mirror)


# --- routes (`/waiting` before `/{workflow_id:path}`, which would match it) -------------------------


@router.post(
    "",
    status_code=201,
    responses={
        200: {"description": "A retry with the same idempotency_key: the live enrollment."},
        404: {"description": "No such sequence or contact."},
        409: {"description": "The contact is live in the sequence."},
        422: {"description": "Bad body, or the contact may not be enrolled (the reason)."},
        503: {"description": "Temporal is unreachable."},
    },
)
async def create_enrollment(
    body: EnrollmentRequest,
    response: Response,
    service: EnrollmentServiceDep,
    temporal: TemporalDep,
    engine: EngineDep,
) -> EnrollmentCreated:
    """Enroll one contact (by `id`, `email` or `external_id`) in a sequence, with send windows."""
    started = await start_enrollment(service, temporal, engine, body)
    if not started.created:
        response.status_code = 200
    return EnrollmentCreated(workflow_id=started.workflow_id)


@router.get("/waiting")
async def waiting(temporal: TemporalDep) -> dict[str, int]:
    """How many enrollments hold a step back: no quota, sender paused, paused (ops or out of
    office), waiting for an A/B winner — the statuses an enrollment shows off the normal flow."""
    counts = {}
    for status in (
        EnrollmentStatus.WAITING_FOR_QUOTA,
        EnrollmentStatus.SENDER_PAUSED,
        EnrollmentStatus.PAUSED,
        EnrollmentStatus.WAITING_FOR_WINNER,
    ):
        result = await temporal.count_workflows(
            f"NurtureStatus = '{status.value}' AND ExecutionStatus = 'Running'"
        )
        counts[status.value] = result.count
    return counts


@router.get("/{workflow_id:path}", responses={404: {"description": "No such enrollment."}})
async def get_enrollment(
    workflow_id: str, engine: EngineDep, temporal: OptionalTemporalDep
) -> EnrollmentView:
    """One enrollment (`nurture/{sequence}/{contact_id}`): step, status, steps sent, events
    seen, outcome and goal or exit event once ended."""
    return await read_enrollment(engine, temporal, workflow_id)


class ControlRequest(BaseModel):
    reason: str | None = Field(None, max_length=300)


@router.post("/{workflow_id:path}/{action}")
async def control(
    workflow_id: str,
    action: ControlAction,
    enrollments: EnrollmentControlDep,
    forwarder: ForwarderDep,
    body: ControlRequest | None = None,
) -> dict[str, str]:
    """Pause, resume or cancel one enrollment (`nurture/{sequence}/{contact_id}`)."""
    await asyncio.to_thread(enrollments.queue, workflow_id, action, body.reason if body else None)
    forwarder.wake()  # on the event loop: deliver the committed row now, not at the next poll
    return {"workflow_id": workflow_id, "queued": action.value}


__all__ = [
    "IDEMPOTENCY_MEMO_KEY",
    "EnrollmentCreated",
    "EnrollmentRequest",
    "EnrollmentView",
    "SeenEvent",
    "enrollment_view",
    "read_enrollment",
    "router",
    "start_enrollment",
]
