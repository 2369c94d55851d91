"""`/api/senders`: sending identities, their warm-up and caps, today's quota, health, pause/resume."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from activities.senders import SenderNotKnown, SenderService, SenderStatus
from api.auth import require_api_token
from models.errors import InvalidInput
from models.tables import SenderCreate, SenderUpdate

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
    except SenderNotKnown as exc:
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
    return await call(service(request).resume, sender_id)  # type: ignore[no-any-return]
