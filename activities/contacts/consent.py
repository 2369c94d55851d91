"""The one consent rule: who may be mailed. Every caller — the send step, enrolling (batched),
import and double opt-in — reads the ledger and the suppression list through this module.

The contact's newest ledger record decides (newest `recorded_at`, then the highest id, so two
records written in one instant keep their order). No record: consent missing. Withdrawn:
refused, before suppression is looked at, so an unsubscribe (withdrawal + suppression) reads as
withdrawn. Otherwise a suppressed address (bounce, complaint, erase) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.errors import ConsentMissing, ConsentWithdrawn, ContactSuppressed, SendBlocked
from models.tables import ConsentAction, ConsentRecord, Contact, Suppression, address_hash

#: Newest first: the first row is the one that decides.
_NEWEST_FIRST = (col(ConsentRecord.recorded_at).desc(), col(ConsentRecord.id).desc())


def mailing_refusal(
    contact_id: UUID,
    newest: ConsentAction | None,
    suppressed: bool,
    *,
    consent_required: bool = True,
) -> SendBlocked | None:
    """Why the contact may not be mailed, or None if it may. `newest` is its newest ledger
    action; `consent_required=False` for the double opt-in request, which asks for consent."""
    if newest is None and consent_required:
        return ConsentMissing(f"contact {contact_id} has no consent on record")
    if newest == ConsentAction.WITHDRAWN:
        return ConsentWithdrawn(f"contact {contact_id} withdrew consent")
    if suppressed:
        return ContactSuppressed(f"contact {contact_id} is suppressed")
    return None


def newest_consent(session: Session, contact_id: UUID) -> ConsentRecord | None:
    """The contact's newest ledger record: the one that decides."""
    return session.exec(
        select(ConsentRecord)
        .where(ConsentRecord.contact_id == contact_id)
        .order_by(*_NEWEST_FIRST)
        .limit(1)
    ).first()


def newest_consent_actions(session: Session, contact_ids: list[UUID]) -> dict[UUID, ConsentAction]:
    """Each contact's newest ledger action in one query (contacts without a record are left
    out): `newest_consent` for many."""
    ranked = (
        select(
            col(ConsentRecord.contact_id).label("contact_id"),
            col(ConsentRecord.action).label("action"),
            sa.func.row_number()
            .over(partition_by=col(ConsentRecord.contact_id), order_by=_NEWEST_FIRST)
            .label("rank"),
        )
        .where(col(ConsentRecord.contact_id).in_(contact_ids))
        .subquery()
    )
    rows = session.execute(
        sa.select(ranked.c.contact_id, ranked.c.action).where(ranked.c.rank == 1)
    ).all()
    return {contact_id: ConsentAction(action) for contact_id, action in rows}


def is_suppressed(session: Session, email: str) -> bool:
    """Whether the address is on the suppression list (kept by hash)."""
    return session.get(Suppression, address_hash(email)) is not None


def suppressed_hashes(session: Session, hashes: Iterable[str]) -> set[str]:
    """Which of these address hashes are suppressed: `is_suppressed` for many."""
    wanted = sorted(set(hashes))
    if not wanted:
        return set()
    return set(
        session.exec(
            select(Suppression.address_hash).where(col(Suppression.address_hash).in_(wanted))
        ).all()
    )


def check_consent(session: Session, contact: Contact, *, consent_required: bool = True) -> None:
    """Raise the `SendBlocked` error that keeps the contact from being mailed now, if any.
    One round trip: the newest ledger action and the suppression, read together."""
    newest_action = (
        select(ConsentRecord.action)
        .where(ConsentRecord.contact_id == contact.id)
        .order_by(*_NEWEST_FIRST)
        .limit(1)
        .scalar_subquery()
    )
    suppressed = sa.exists().where(col(Suppression.address_hash) == address_hash(contact.email))
    newest, is_listed = session.execute(sa.select(newest_action, suppressed)).one()
    refusal = mailing_refusal(
        contact.id,
        ConsentAction(newest) if newest is not None else None,
        bool(is_listed),
        consent_required=consent_required,
    )
    if refusal is not None:
        raise refusal


__all__ = [
    "check_consent",
    "is_suppressed",
    "mailing_refusal",
    "newest_consent",
    "newest_consent_actions",
    "suppressed_hashes",
]
