"""`/api/senders`: sending identities, their warm-up and caps, today's quota, health, pause/resume
(`SenderService`, as `nurture senders …`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from activities.deliverability.senders import SenderStatus
from api.deps import SenderServiceDep, TemporalConnectorDep, require_api_token
from models.tables import SenderCreate, SenderUpdate

router = APIRouter(
    prefix="/api/senders", tags=["senders"], dependencies=[Depends(require_api_token)]
)


class PauseRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


# Plain `def` routes: FastAPI runs them on its thread pool, where the services' DB calls belong.


@router.get("")
def list_senders(senders: SenderServiceDep) -> list[SenderStatus]:
    return senders.list()


@router.post("", status_code=201)
def create_sender(data: SenderCreate, senders: SenderServiceDep) -> SenderStatus:
    return senders.create(data)


@router.get("/{sender_id}")
def get_sender(sender_id: str, senders: SenderServiceDep) -> SenderStatus:
    return senders.status(sender_id)


@router.patch("/{sender_id}")
def update_sender(sender_id: str, change: SenderUpdate, senders: SenderServiceDep) -> SenderStatus:
    return senders.update(sender_id, change)


@router.post("/{sender_id}/pause")
def pause_sender(sender_id: str, body: PauseRequest, senders: SenderServiceDep) -> SenderStatus:
    return senders.pause(sender_id, body.reason)


@router.post("/{sender_id}/resume")
async def resume_sender(
    sender_id: str, senders: SenderServiceDep, temporal: TemporalConnectorDep
) -> SenderStatus:
    """Unpause, and wake the enrollments the pause held (see `SenderService.resume`)."""
    return (await senders.resume(sender_id, temporal)).sender
