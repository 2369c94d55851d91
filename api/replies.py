"""`/api/replies`: the replies inbox — classified replies, newest first (`GET`), and a person's
correction of one reply's intent (`PATCH /api/replies/{id}`), which applies the new intent's
effects once (`ReplyCorrections`; docs/architecture.md, "Replies")."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict

from activities.replies.inbox import MAX_LISTED, ReplyView
from api.deps import ForwarderDep, ServicesDep, require_api_token
from models.replies import ReplyIntent

router = APIRouter(
    prefix="/api/replies", tags=["replies"], dependencies=[Depends(require_api_token)]
)


class RepliesAnswer(BaseModel):
    replies: list[ReplyView]


class IntentCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: ReplyIntent


class CorrectionAnswer(BaseModel):
    reply: ReplyView
    #: False when the reply already had that intent.
    changed: bool


@router.get("", response_model=RepliesAnswer)
def list_replies(
    services: ServicesDep,
    intent: ReplyIntent | None = None,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
) -> RepliesAnswer:
    """Replies newest first; `intent` filters, `since` (ISO 8601 with a zone) bounds."""
    since_at: datetime | None = since
    return RepliesAnswer(replies=services.inbox.list(intent=intent, since=since_at, limit=limit))


@router.get("/{reply_id}", response_model=ReplyView)
def get_reply(reply_id: int, services: ServicesDep) -> ReplyView:
    return services.inbox.get(reply_id)


@router.patch("/{reply_id}", response_model=CorrectionAnswer)
async def correct_reply(
    reply_id: int, body: IntentCorrection, services: ServicesDep, forwarder: ForwarderDep
) -> CorrectionAnswer:
    corrected = await asyncio.to_thread(services.corrections.correct, reply_id, body.intent)
    if corrected.signals:
        forwarder.wake()  # the unsubscribe signals are committed in the outbox: deliver them now
    return CorrectionAnswer(reply=corrected.reply, changed=corrected.changed)


__all__ = ["router"]
