"""Contacts and consent in the DB: add or update a contact with its consent evidence, look one
up by address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlmodel import select

from activities.address_validation import AddressVerdict, validate_address
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


def normalise_email(email: str) -> str:
    """The address in canonical form (domain lower-cased, IDN encoded); `InvalidInput` if bad."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput("email", str(exc)) from exc


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
    check_mx: bool = False,
) -> Contact:
    """Create or update the contact with this address; record consent in the ledger if given.

    The address is vetted first (`vetted_address`): nothing is written for a refused one.
    """
    verdict = vetted_address(email, check_mx=check_mx)
    address = verdict.key or ""
    if country is not None and (len(country) != 2 or not country.isalpha()):
        raise InvalidInput("country", f"{country!r} is not an ISO 3166-1 alpha-2 code")
    fields: dict[str, Any] = {
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "country": country.upper() if country else None,
        "time_zone": time_zone,
        "language": language,
    }
    with session_scope(engine) as session:
        contact = session.exec(select(Contact).where(Contact.email == address)).first()
        if contact is None:
            contact = Contact(email=address, role_account=verdict.role_account, **fields)
        else:
            for key, value in fields.items():
                if value is not None:
                    setattr(contact, key, value)
            contact.updated_at = utcnow()
        session.add(contact)
        session.flush()
        if consent is not None:
            session.add(
                ConsentRecord(
                    contact_id=contact.id,
                    action=ConsentAction.GRANTED,
                    basis=consent.basis,
                    source=consent.source,
                    wording=consent.wording,
                    evidence=consent.evidence,
                )
            )
    return contact


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
    "contact_id_by_email",
    "normalise_email",
    "upsert_contact",
]
