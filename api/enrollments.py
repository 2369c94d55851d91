"""`/api/enrollments/...`: counts of waiting enrollments (Temporal visibility) and ops control of
one enrollment (pause, resume, cancel through the outbox)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from activities.enrollment.control import control_enrollment
from api.auth import require_api_token
from models.db import session_scope
from models.enrollment import EnrollmentStatus
from models.errors import EnrollmentNotFound

router = APIRouter(
    prefix="/api/enrollments", tags=["enrollments"], dependencies=[Depends(require_api_token)]
)


@router.get("/waiting")
async def waiting(request: Request) -> dict[str, int]:
    """How many enrollments hold a step back: no quota, sender paused, contact out of office."""
    client = await request.app.state.services.forwarder.client()
    if client is None:
        raise HTTPException(503, "Temporal is unreachable; try again shortly")
    counts = {}
    for status in (
        EnrollmentStatus.WAITING_FOR_QUOTA,
        EnrollmentStatus.SENDER_PAUSED,
        EnrollmentStatus.PAUSED,
    ):
        result = await client.count_workflows(
            f"NurtureStatus = '{status.value}' AND ExecutionStatus = 'Running'"
        )
        counts[status.value] = result.count
    return counts


class ControlRequest(BaseModel):
    reason: str | None = Field(None, max_length=300)


@router.post("/{workflow_id:path}/{action}")
async def control(
    workflow_id: str,
    action: Literal["pause", "resume", "cancel"],
    request: Request,
    body: ControlRequest | None = None,
) -> dict[str, str]:
    """Pause, resume or cancel one enrollment (`nurture/{sequence}/{contact_id}`)."""

    def queue() -> None:
        with session_scope(request.app.state.engine) as session:
            control_enrollment(session, workflow_id, action, body.reason if body else None)

    try:
        await run_in_threadpool(queue)
    except EnrollmentNotFound:
        raise HTTPException(404, f"no enrollment {workflow_id!r}") from None
    request.app.state.services.forwarder.wake()
    return {"workflow_id": workflow_id, "queued": action}
