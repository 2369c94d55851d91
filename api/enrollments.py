"""`/api/enrollments/...`: counts of waiting enrollments (Temporal visibility) and ops control of
one enrollment (pause, resume, cancel through the outbox: `EnrollmentControl`, as
`nurture enrollment …`)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from activities.enrollment.control import ControlAction
from api.deps import EnrollmentControlDep, ForwarderDep, TemporalDep, require_api_token
from models.enrollment import EnrollmentStatus

router = APIRouter(
    prefix="/api/enrollments", tags=["enrollments"], dependencies=[Depends(require_api_token)]
)


@router.get("/waiting")
async def waiting(temporal: TemporalDep) -> dict[str, int]:
    """How many enrollments hold a step back: no quota, sender paused, contact out of office."""
    counts = {}
    for status in (
        EnrollmentStatus.WAITING_FOR_QUOTA,
        EnrollmentStatus.SENDER_PAUSED,
        EnrollmentStatus.PAUSED,
    ):
        result = await temporal.count_workflows(
            f"NurtureStatus = '{status.value}' AND ExecutionStatus = 'Running'"
        )
        counts[status.value] = result.count
    return counts


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
