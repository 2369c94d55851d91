"""`POST /api/events`: business events from any system (a web form, a CRM, a badge scanner) —
one event or an array of up to `MAX_EVENTS`, answered item by item once stored, with the
enrollments each one triggered (`BusinessEventService`, `TriggerRunner`; as `nurture events`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from activities.events.business import ItemResult, ItemStatus, StoreReport
from activities.events.triggers import TriggerOutcome
from api.deps import ServicesDep, require_api_token
from api.webhooks import read_body
from models.tables import TriggerStatus

router = APIRouter(prefix="/api/events", tags=["events"], dependencies=[Depends(require_api_token)])

#: Events one post may carry; more is 413 (split the batch).
MAX_EVENTS = 1000
#: The body's size bound (5 MiB): about 5 KB per event at the item bound; more is 413.
MAX_BODY_BYTES = 5 * 1024 * 1024
#: How long the answer waits for the triggered enrollments (normally milliseconds). Past it, or
#: while Temporal is unreachable, they are reported `pending` and the API's background runner
#: finishes them: an enrollment started meanwhile is recognised, never started twice.
TRIGGER_WAIT_SECONDS = 10.0


class Triggered(BaseModel):
    """A sequence the event triggers, and whether the contact was enrolled in it."""

    sequence: str
    enrolled: bool
    #: `enrolled`, `refused` (`reason` says why), or `pending` (runs shortly; `reason` says why
    #: not yet, e.g. Temporal unreachable).
    status: TriggerStatus
    workflow_id: str | None = None
    reason: str | None = None


class EventResult(BaseModel):
    #: The caller's id of the event (absent when the item had none).
    id: str | None = None
    #: The item's place in the posted array, from 0.
    index: int
    status: ItemStatus
    reason: str | None = None
    #: nurture's id of the stored event (for a duplicate: the one stored before).
    event_id: UUID | None = None
    triggered: list[Triggered] | None = None


class EventsAnswer(BaseModel):
    results: list[EventResult]
    stored: int
    duplicates: int
    rejected: int


def _no_constants(name: str) -> float:
    """NaN and Infinity: Python's JSON reader takes them, JSON (and PostgreSQL) does not."""
    raise ValueError(f"{name} is not JSON")


def parse_body(body: bytes) -> list[object]:
    """The posted items: a JSON object is one event, an array up to `MAX_EVENTS` of them.
    400 for what is not JSON of that shape, 413 for too many items."""
    try:
        data = json.loads(body, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError and NaN/Infinity included
        raise HTTPException(400, f"body is not valid JSON: {exc}") from None
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise HTTPException(400, "body must be an event object or a JSON array of them")
    if len(data) > MAX_EVENTS:
        raise HTTPException(
            413, f"{len(data)} events in one post; at most {MAX_EVENTS}: split the batch"
        )
    return data


def _triggered(outcomes: list[TriggerOutcome]) -> list[Triggered] | None:
    if not outcomes:
        return None
    return [
        Triggered(
            sequence=o.sequence,
            enrolled=o.enrolled,
            status=o.status,
            workflow_id=o.workflow_id,
            reason=o.reason,
        )
        for o in outcomes
    ]


def _result(item: ItemResult, triggers: dict[UUID, list[TriggerOutcome]]) -> EventResult:
    outcomes = triggers.get(item.event_id, []) if item.event_id is not None else []
    return EventResult(
        id=item.key,
        index=item.index,
        status=item.status,
        reason=item.reason,
        event_id=item.event_id,
        triggered=_triggered(outcomes),
    )


def answer(report: StoreReport, triggers: dict[UUID, list[TriggerOutcome]]) -> EventsAnswer:
    return EventsAnswer(
        results=[_result(item, triggers) for item in report.results],
        stored=report.stored,
        duplicates=report.duplicates,
        rejected=report.rejected,
    )


@router.post("", response_model_exclude_none=True)
async def post_events(request: Request, services: ServicesDep) -> EventsAnswer:
    """Store each valid item once per `id` (committed before the answer), queue it to the
    contact's live enrollments, enroll the contact in the sequences it triggers; 200 with a
    result per item — valid items are stored even when others are rejected."""
    body = await read_body(request, MAX_BODY_BYTES)
    items = parse_body(body)
    report = await asyncio.to_thread(services.business_events.store, items)
    if report.signals_queued:
        services.forwarder.wake()
    if report.triggered_event_ids:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                services.triggers.run_for(report.triggered_event_ids), TRIGGER_WAIT_SECONDS
            )
    triggers = await asyncio.to_thread(services.triggers.outcomes, report.known_event_ids)
    return answer(report, triggers)


__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EVENTS",
    "TRIGGER_WAIT_SECONDS",
    "EventResult",
    "EventsAnswer",
    "Triggered",
    "router",
]
