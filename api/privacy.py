"""`/api/contacts/{id}`: a contact's GDPR export, and erasure (the address stays suppressed by hash)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from activities.contacts.privacy import ErasureReport, PrivacyService
from api.auth import require_api_token
from models.errors import ContactNotFound

router = APIRouter(
    prefix="/api/contacts", tags=["privacy"], dependencies=[Depends(require_api_token)]
)


def service(request: Request) -> PrivacyService:
    return PrivacyService(request.app.state.engine)


@router.delete("/{contact_id}")
async def erase_contact(contact_id: UUID, request: Request) -> ErasureReport:
    """Erase the contact and everything tied to it; its live enrollments are cancelled."""
    report = await run_in_threadpool(service(request).erase, contact_id)
    if not report.erased:
        raise HTTPException(404, f"no contact {contact_id} (never held, or already erased)")
    # The cancels are committed in the outbox: forward them now rather than at the next poll.
    request.app.state.services.forwarder.wake()
    return report


@router.get("/{contact_id}/export")
async def export_contact(contact_id: UUID, request: Request) -> dict[str, Any]:
    """Everything held on the contact (GDPR Art. 15), as JSON."""
    try:
        return await run_in_threadpool(service(request).export, contact_id)
    except ContactNotFound:
        raise HTTPException(404, f"no contact {contact_id}") from None
