"""`/api/cohorts`: start a cohort (lint first), list, funnel per step, pause / resume / cancel."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, model_validator
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from activities.cohorts.funnel import CohortFunnel, cohort_funnel
from activities.cohorts.service import CohortService, parse_segment
from api.auth import require_api_token
from api.enrollments import ControlRequest
from models.ab_test import AbTestSpec
from models.db import session_scope
from models.errors import CohortNotFound, ContentLintFailed, InvalidInput
from models.tables import Cohort

router = APIRouter(
    prefix="/api/cohorts", tags=["cohorts"], dependencies=[Depends(require_api_token)]
)


class CohortStart(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    sequence: str
    sender_id: str = "default"
    segment: str | dict[str, str] | None = Field(
        None, description="`country=DE industry=machinery`"
    )
    contact_ids: list[UUID] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    send_windows: bool = True
    per_second: float = Field(50.0, gt=0, le=1000)
    holdout: float = Field(0.0, ge=0, le=0.5, description="Share of members never mailed.")
    ab_test: AbTestSpec | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CohortStart:
        if (self.segment is None) == (self.contact_ids is None):
            raise ValueError("give exactly one of segment and contact_ids")
        return self


async def service(request: Request) -> CohortService:
    client = await request.app.state.services.forwarder.client()
    if client is None:
        raise HTTPException(503, "Temporal is unreachable; try again shortly")
    settings = request.app.state.settings
    return CohortService(
        request.app.state.engine, client, settings.task_queue, settings.templates_dir
    )


def unprocessable(exc: InvalidInput) -> HTTPException:
    return HTTPException(422, [{"loc": ["body", exc.field], "msg": exc.reason}])


@router.post("", status_code=201)
async def start_cohort(body: CohortStart, request: Request) -> dict[str, Any]:
    cohorts = await service(request)
    try:
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
    except ContentLintFailed as exc:
        raise HTTPException(
            422,
            {
                "msg": "content lint errors block the start",
                "errors": [vars(f) for f in exc.errors],
            },
        ) from None
    except InvalidInput as exc:
        raise unprocessable(exc) from None
    return {
        "cohort_id": started.cohort_id,
        "members": started.members,
        "holdout": started.holdout,
        "ab_variants": list(started.ab_variants),
        "lint_warnings": [f"{f.template}: {f.message}" for f in started.lint.warnings],
    }


@router.get("")
async def list_cohorts(request: Request) -> list[dict[str, Any]]:
    def rows() -> list[dict[str, Any]]:
        with session_scope(request.app.state.engine) as session:
            return [
                c.model_dump(mode="json")
                for c in session.exec(select(Cohort).order_by(Cohort.created_at.desc())).all()  # type: ignore[attr-defined]
            ]

    return await run_in_threadpool(rows)


@router.get("/{cohort_id}")
async def get_cohort(cohort_id: str, request: Request) -> CohortFunnel:
    def funnel() -> CohortFunnel | None:
        with session_scope(request.app.state.engine) as session:
            return cohort_funnel(session, cohort_id)

    result = await run_in_threadpool(funnel)
    if result is None:
        raise HTTPException(404, f"no cohort {cohort_id!r}")
    return result


@router.post("/{cohort_id}/{action}")
async def control_cohort(
    cohort_id: str,
    action: Literal["pause", "resume", "cancel"],
    request: Request,
    body: ControlRequest | None = None,
) -> dict[str, str]:
    cohorts = await service(request)
    try:
        cohort = await cohorts.control(cohort_id, action, body.reason if body else None)
    except CohortNotFound:
        raise HTTPException(404, f"no cohort {cohort_id!r}") from None
    except InvalidInput as exc:
        raise HTTPException(409, exc.reason) from None
    request.app.state.services.forwarder.wake()
    return {"cohort_id": cohort.id, "status": cohort.status}
