"""`/api/enrollments/...`: enrollment counts read from Temporal's visibility (search attributes)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request

from api.auth import require_api_token
from models.enrollment import EnrollmentStatus

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
