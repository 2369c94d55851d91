"""Contacts and consent in the DB: add or update a contact with its consent evidence, look one
up by id, address or external id.

A contact's `external_id` (the caller's own id, e.g. the CRM's) is unique: a write that would give
it to a second contact is refused as `InvalidInput("external_id", ...)` before anything changes;
a different one for the same contact replaces the stored one (the CRM re-keyed it); none given
leaves it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from activities.contacts.address_validation import AddressVerdict, validate_address
from models.business_events import ContactRef
from models.db import session_scope
from models.errors import InvalidInput
from models.tables import ConsentAction, ConsentBasis, ConsentRecord, Contact, utcnow


@dataclass(frozen=True)
class ConsentEvidence:
    """Where and how a contact agreed to hear from us."""

    source: str
    basis: ConsentBasis = ConsentBasis.CONSENT
    wording: str | None = None
    evidence: str | None = None
    #: When consent was given (aware); None means now. Also the ledger entry's `recorded_at`.
    given_at: datetime | None = None


class UpsertOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ContactUpsert:
    """What `write_contact` did: the contact's row, and whether a consent record was added."""

    contact: Contact
    outcome: UpsertOutcome
    consent_recorded: bool


def normalise_email(email: str) -> str:
    """The address in canonical form (domain lower-cased, IDN encoded); `InvalidInput` if bad."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput("email", str(exc)) from exc


def find_contact(session: Session, ref: ContactRef) -> Contact | None:
    """The contact `ref` names (by id, address or external id), or None. A malformed address is
    `InvalidInput`, not "unknown"."""
    if ref.id is not None:
        return session.get(Contact, ref.id)
    if ref.external_id is not None:
        return session.exec(select(Contact).where(Contact.external_id == ref.external_id)).first()
    assert ref.email is not None  # ContactRef holds exactly one
    address = normalise_email(ref.email)
    return session.exec(select(Contact).where(Contact.email == address)).first()


def external_id_holder(session: Session, external_id: str) -> Contact | None:
    """The contact that holds `external_id`, if any."""
    return session.exec(select(Contact).where(Contact.external_id == external_id)).first()


def _check_external_id(session: Session, contact: Contact | None, external_id: object) -> None:
    """`InvalidInput` on `external_id` if another contact than `contact` holds it."""
    if not isinstance(external_id, str):
        return
    holder = external_id_holder(session, external_id)
    if holder is not None and (contact is None or holder.id != contact.id):
        raise InvalidInput(
            "external_id",
            f"{external_id!r} is already the external_id of another contact ({holder.id})",
        )


def vetted_address(email: str, *, check_mx: bool = False) -> AddressVerdict:
    """The import check: syntax, disposable domains and no-reply boxes refused, role accounts
    flagged, optionally an MX lookup. `InvalidInput` names every reason for a refusal."""
    verdict = validate_address(email, check_mx=check_mx)
    if not verdict.ok or verdict.normalized is None:
        raise InvalidInput("email", "; ".join(verdict.reasons) or "not a deliverable address")
    return verdict


def upsert_contact(
    engine: sa.Engine,
    email: str,
    *,
    consent: ConsentEvidence | None,
    first_name: str | None = None,
    last_name: str | None = None,
    company: str | None = None,
    country: str | None = None,
    time_zone: str | None = None,
    language: str | None = None,
    external_id: str | None = None,
    check_mx: bool = False,
) -> Contact:
    """Create or update the contact with this address; record consent in the ledger if given.

    The address is vetted first (`vetted_address`): nothing is written for a refused one.
    """
    verdict = vetted_address(email, check_mx=check_mx)
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise InvalidInput("country", f"{country!r} is not an ISO 3166-1 alpha-2 code")
    fields: dict[str, Any] = {
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "country": country.upper() if country else None,
        "time_zone": time_zone,
        "language": language,
        "external_id": external_id,
    }
    with session_scope(engine) as session:
        return write_contact(session, verdict, fields, consent=consent).contact


def write_contact(
    session: Session,
    verdict: AddressVerdict,
    fields: dict[str, Any],
    *,
    consent: ConsentEvidence | None,
    custom: dict[str, Any] | None = None,
) -> ContactUpsert:
    """Create or update the contact of a vetted address in `session` (flushed, not committed).

    `None` field values leave what is stored; `custom` keys are merged over the stored ones.
    An `external_id` another contact holds is `InvalidInput` (field `external_id`), raised before
    anything is written; a different one for this contact replaces its own. A GRANTED record with the same source, basis and `given_at` as one already on the ledger is
    not written twice; without `given_at`, one with the same source and basis not withdrawn since.
    """
    address = verdict.key or ""
    contact = session.exec(select(Contact).where(Contact.email == address)).first()
    _check_external_id(session, contact, fields.get("external_id"))
    if contact is None:
        contact = Contact(
            email=address,
            role_account=verdict.role_account,
            custom=dict(custom or {}),
            **fields,
        )
        outcome = UpsertOutcome.CREATED
    else:
        changes = {k: v for k, v in fields.items() if v is not None and getattr(contact, k) != v}
        merged = {**(contact.custom or {}), **(custom or {})}
        if merged != (contact.custom or {}):
            changes["custom"] = merged
        for key, value in changes.items():
            setattr(contact, key, value)
        if changes:
            contact.updated_at = utcnow()
        outcome = UpsertOutcome.UPDATED if changes else UpsertOutcome.UNCHANGED
    session.add(contact)
    session.flush()
    recorded = False
    if consent is not None and not _consent_on_ledger(session, contact, consent):
        session.add(
            ConsentRecord(
                contact_id=contact.id,
                action=ConsentAction.GRANTED,
                basis=consent.basis,
                source=consent.source,
                wording=consent.wording,
                evidence=consent.evidence,
                recorded_at=consent.given_at or utcnow(),
            )
        )
        session.flush()
        recorded = True
    return ContactUpsert(contact, outcome, recorded)


def _consent_on_ledger(session: Session, contact: Contact, consent: ConsentEvidence) -> bool:
    ledger = session.exec(select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)).all()
    matching = [
        r
        for r in ledger
        if r.action == ConsentAction.GRANTED
        and r.source == consent.source
        and r.basis == consent.basis
    ]
    if consent.given_at is not None:
        return any(r.recorded_at == consent.given_at for r in matching)
    # Undated: the same consent again, unless it was withdrawn since (then it is granted anew).
    withdrawals = [r.recorded_at for r in ledger if r.action == ConsentAction.WITHDRAWN]
    return any(all(w <= r.recorded_at for w in withdrawals) for r in matching)


def contact_id_by_email(engine: sa.Engine, email: str) -> UUID:
    address = normalise_email(email)
    with session_scope(engine) as session:
        contact = session.exec(select(Contact).where(Contact.email == address)).first()
    if contact is None:
        raise InvalidInput(
            "email", f"no contact with address {address}; add it with its consent first"
        )
    return contact.id


__all__ = [
    "ConsentEvidence",
    "ContactUpsert",
    "UpsertOutcome",
    "contact_id_by_email",
    "external_id_holder",
    "find_contact",
    "normalise_email",
    "upsert_contact",
    "write_contact",
]
