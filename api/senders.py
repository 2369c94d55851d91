"""`/api/senders`: sending identities, their warm-up and caps, today's quota, health, pause/resume."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from temporalio.service import RPCError

from activities.deliverability.senders import SenderService, SenderStatus
from api.auth import require_api_token
from models.enrollment import EnrollmentStatus
from models.errors import InvalidInput, SenderNotFound
from models.tables import SenderCreate, SenderUpdate
from models.wire import SENDER_RESUMED_SIGNAL

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/api/senders", tags=["senders"], dependencies=[Depends(require_api_token)]
)


class PauseRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def service(request: Request) -> SenderService:
    return request.app.state.services.senders  # type: ignore[no-any-return]


async def call(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return await run_in_threadpool(fn, *args)
    except SenderNotFound as exc:
        raise HTTPException(404, f"no sender {exc.args[0]!r}") from None
    except InvalidInput as exc:
        raise HTTPException(422, [{"loc": ["body", exc.field], "msg": exc.reason}]) from None


@router.get("")
async def list_senders(request: Request) -> list[SenderStatus]:
    return await call(service(request).list)  # type: ignore[no-any-return]


@router.post("", status_code=201)
async def create_sender(data: SenderCreate, request: Request) -> SenderStatus:
    return await call(service(request).create, data)  # type: ignore[no-any-return]


@router.get("/{sender_id}")
async def get_sender(sender_id: str, request: Request) -> SenderStatus:
    return await call(service(request).status, sender_id)  # type: ignore[no-any-return]


@router.patch("/{sender_id}")
async def update_sender(sender_id: str, change: SenderUpdate, request: Request) -> SenderStatus:
    return await call(service(request).update, sender_id, change)  # type: ignore[no-any-return]


@router.post("/{sender_id}/pause")
async def pause_sender(sender_id: str, body: PauseRequest, request: Request) -> SenderStatus:
    return await call(service(request).pause, sender_id, body.reason)  # type: ignore[no-any-return]


@router.post("/{sender_id}/resume")
async def resume_sender(sender_id: str, request: Request) -> SenderStatus:
    status: SenderStatus = await call(service(request).resume, sender_id)
    await wake_paused_enrollments(request)
    return status


async def wake_paused_enrollments(request: Request) -> int:
    """Signal the enrollments held by a paused sender to try again (they also recheck every
    30 minutes by themselves, so a failure here delays them, it loses nothing)."""
    client = await request.app.state.services.forwarder.client()
    if client is None:
        return 0
    woken = 0
    query = (
        f"NurtureStatus = '{EnrollmentStatus.SENDER_PAUSED.value}' AND ExecutionStatus = 'Running'"
    )
    try:
        async for execution in client.list_workflows(query):
            await client.get_workflow_handle(execution.id).signal(SENDER_RESUMED_SIGNAL)
            woken += 1
    except RPCError as exc:
        log.warning("could not wake all paused enrollments (%s); they recheck on their own", exc)
    return woken
