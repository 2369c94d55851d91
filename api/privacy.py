"""`/api/contacts/{id}`: a contact's GDPR export, and erasure (the address stays suppressed by hash)
— `PrivacyService`, as `nurture contacts export|erase`."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends

from activities.contacts.privacy import ErasureReport
from api.deps import ForwarderDep, PrivacyServiceDep, require_api_token
from models.errors import ContactNotFound

router = APIRouter(
    prefix="/api/contacts", tags=["privacy"], dependencies=[Depends(require_api_token)]
)


@router.delete("/{contact_id}")
async def erase_contact(
    contact_id: UUID, privacy: PrivacyServiceDep, forwarder: ForwarderDep
) -> ErasureReport:
    """Erase the contact and everything tied to it; its live enrollments are cancelled."""
    report = await asyncio.to_thread(privacy.erase, contact_id)
    if not report.erased:
        raise ContactNotFound(f"no contact {contact_id} (never held, or already erased)")
    # The cancels are committed in the outbox: forward them now rather than at the next poll.
    forwarder.wake()
    return report


@router.get("/{contact_id}/export")
def export_contact(contact_id: UUID, privacy: PrivacyServiceDep) -> dict[str, Any]:
    """Everything held on the contact (GDPR Art. 15), as JSON."""
    return privacy.export(contact_id)
