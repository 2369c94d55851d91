"""`/api/cohorts`: start a cohort (lint first), list, funnel per step, pause / resume / cancel
(`CohortService`, as `nurture cohort …`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from activities.cohorts.funnel import CohortFunnel
from activities.cohorts.service import (
    MAX_HOLDOUT,
    MAX_NAME,
    MAX_PER_SECOND,
    cohort_status,
    list_cohorts,
    parse_segment,
)
from activities.enrollment.control import ControlAction
from api.deps import CohortServiceDep, EngineDep, ForwarderDep, require_api_token
from api.enrollments import ControlRequest
from models.ab_test import AbTestSpec

router = APIRouter(
    prefix="/api/cohorts", tags=["cohorts"], dependencies=[Depends(require_api_token)]
)


class CohortStart(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    sequence: str
    sender_id: str = "default"
    segment: str | dict[str, str] | None = Field(
        None, description="`country=DE industry=machinery`"
    )
    contact_ids: list[UUID] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    send_windows: bool = True
    per_second: float = Field(50.0, gt=0, le=MAX_PER_SECOND)
    holdout: float = Field(0.0, ge=0, le=MAX_HOLDOUT, description="Share of members never mailed.")
    ab_test: AbTestSpec | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CohortStart:
        if (self.segment is None) == (self.contact_ids is None):
            raise ValueError("give exactly one of segment and contact_ids")
        return self


@router.post("", status_code=201)
async def start_cohort(body: CohortStart, cohorts: CohortServiceDep) -> dict[str, Any]:
    segment = parse_segment(body.segment) if isinstance(body.segment, str) else body.segment
    started = await cohorts.start(
        name=body.name,
        sequence=body.sequence,
        sender_id=body.sender_id,
        segment=segment,
        contact_ids=body.contact_ids,
        params=body.params,
        send_windows=body.send_windows,
        per_second=body.per_second,
        holdout=body.holdout,
        ab_test=body.ab_test,
    )
    return {
        "cohort_id": started.cohort_id,
        "members": started.members,
        "holdout": started.holdout,
        "ab_variants": list(started.ab_variants),
        "lint_warnings": [f"{f.template}: {f.message}" for f in started.lint.warnings],
    }


# Plain `def` reads: FastAPI runs them on its thread pool, off the event loop.


@router.get("")
def get_cohorts(engine: EngineDep) -> list[dict[str, Any]]:
    return list_cohorts(engine)


@router.get("/{cohort_id}")
def get_cohort(cohort_id: str, engine: EngineDep) -> CohortFunnel:
    return cohort_status(engine, cohort_id)


@router.post("/{cohort_id}/{action}")
async def control_cohort(
    cohort_id: str,
    action: ControlAction,
    cohorts: CohortServiceDep,
    forwarder: ForwarderDep,
    body: ControlRequest | None = None,
) -> dict[str, str]:
    cohort = await cohorts.control(cohort_id, action, body.reason if body else None)
    forwarder.wake()  # the enrollments' signals are committed in the outbox: deliver them now
    return {"cohort_id": cohort.id, "status": cohort.status}
