"""Double opt-in: the confirmation email with its signed link, and the confirmation itself,
appended to the consent ledger as CONFIRMED.

The link's token signs the contact id (TokenPurpose.CONFIRM), so no request table is needed; it
stays valid until the contact's consent changes: once consent is withdrawn it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
import structlog
from pydantic import BaseModel

from activities.contacts.consent import check_consent, newest_consent
from activities.enrollment.rendering import Recipient, Renderer, SenderIdentity, address
from activities.enrollment.sendgrid_transport import SendGridTransport
from models.db import session_scope
from models.errors import (
    ConsentWithdrawn,
    ContactNotFound,
    InvalidToken,
    SenderNotFound,
)
from models.settings import Settings
from models.tables import (
    ConsentAction,
    ConsentBasis,
    ConsentRecord,
    Contact,
    Sender,
    utcnow,
)
from models.tokens import TokenPurpose, sign, verify
from models.wire import CUSTOM_ARG_OPT_IN_ID

log = structlog.stdlib.get_logger(__name__)

TEMPLATE = "double_opt_in/confirm.jinja"
CONFIRM_SOURCE = "double opt-in"


class OptInStatus(StrEnum):
    SENT = "sent"
    ALREADY_CONFIRMED = "already_confirmed"


class OptInResult(BaseModel):
    contact_id: UUID
    status: OptInStatus
    esp_message_id: str | None = None


@dataclass(frozen=True)
class OptInLinks:
    public_url: str
    secret_key: str
    #: Keys that still verify links signed before a rotation (NURTURE_PREVIOUS_SECRET_KEYS).
    previous_keys: tuple[str, ...] = ()

    @property
    def verification_keys(self) -> tuple[str, ...]:
        return (self.secret_key, *self.previous_keys)

    def confirm_url(self, contact_id: UUID) -> str:
        token = sign(self.secret_key, TokenPurpose.CONFIRM, str(contact_id))
        return f"{self.public_url.rstrip('/')}/c/{token}"


class OptInService:
    """Sends confirmation requests and records confirmations. Plain object, no Temporal."""

    def __init__(
        self,
        engine: sa.Engine,
        transport: SendGridTransport,
        links: OptInLinks,
        templates_dir: Path,
        *,
        default_sender_id: str = "default",
    ) -> None:
        self._engine = engine
        self._transport = transport
        self._links = links
        self._default_sender_id = default_sender_id
        self._renderer = Renderer(templates_dir)

    @classmethod
    def from_settings(cls, settings: Settings, engine: sa.Engine) -> OptInService:
        return cls(
            engine,
            SendGridTransport.from_settings(settings),
            OptInLinks(settings.public_url, settings.secret_key, settings.verification_keys[1:]),
            settings.templates_dir,
        )

    def request(self, contact_id: UUID, *, sender_id: str | None = None) -> OptInResult:
        """Email the contact a confirmation link, unless it already confirmed.

        Raises `ContactNotFound`, `SenderNotFound`, `ConsentWithdrawn` (never ask someone who
        said stop) or `ContactSuppressed`; `EspError`s from the transport pass through.
        """
        sender_id = sender_id or self._default_sender_id
        with session_scope(self._engine) as session:
            contact = session.get(Contact, contact_id)
            if contact is None:
                raise ContactNotFound(f"contact {contact_id} does not exist")
            latest = newest_consent(session, contact_id)
            if latest is not None and latest.action == ConsentAction.CONFIRMED:
                return OptInResult(contact_id=contact_id, status=OptInStatus.ALREADY_CONFIRMED)
            # Asking for consent needs none yet, but never asks someone who said stop.
            check_consent(session, contact, consent_required=False)
            sender = session.get(Sender, sender_id)
            if sender is None:
                raise SenderNotFound(f"sender {sender_id!r} does not exist")
            payload = self._payload(contact, sender)
        esp_message_id = self._transport.send(payload)
        log.info("double opt-in requested", contact_id=str(contact_id))
        return OptInResult(
            contact_id=contact_id, status=OptInStatus.SENT, esp_message_id=esp_message_id
        )

    def contact_for(self, token: str) -> UUID:
        """The contact a confirmation token names; `InvalidToken` if forged or unknown."""
        contact_id = UUID(verify(self._links.verification_keys, TokenPurpose.CONFIRM, token))
        with session_scope(self._engine) as session:
            if session.get(Contact, contact_id) is None:
                raise InvalidToken("no such contact (erased?)")
        return contact_id

    def confirm(self, token: str) -> UUID:
        """Record the confirmation (once: a second click changes nothing); the contact's id.

        `InvalidToken` for a forged token or an erased contact; `ConsentWithdrawn` when consent
        was withdrawn since, as the token cannot prove it was issued after the withdrawal.
        """
        contact_id = self.contact_for(token)
        with session_scope(self._engine) as session:
            latest = newest_consent(session, contact_id)
            if latest is not None and latest.action == ConsentAction.CONFIRMED:
                return contact_id
            if latest is not None and latest.action == ConsentAction.WITHDRAWN:
                raise ConsentWithdrawn(f"contact {contact_id} withdrew consent")
            now = utcnow()
            session.add(
                ConsentRecord(
                    contact_id=contact_id,
                    action=ConsentAction.CONFIRMED,
                    basis=ConsentBasis.CONSENT,
                    source=CONFIRM_SOURCE,
                    evidence=f"confirmed via signed link at {now.isoformat()}, IP not stored",
                    recorded_at=now,
                )
            )
        log.info("double opt-in confirmed", contact_id=str(contact_id))
        return contact_id

    def _payload(self, contact: Contact, sender: Sender) -> dict[str, Any]:
        # Through the step renderer: HTML escaped, subject one clean line (it has its own footer).
        email = self._renderer.render_blocks(
            TEMPLATE.removesuffix(".jinja"),
            Recipient.of(contact),
            SenderIdentity(sender.from_name, sender.from_email, sender.postal_address),
            links={"confirm_url": self._links.confirm_url(contact.id)},
        )
        to = address(contact.email, contact.first_name, contact.last_name)
        return {
            "personalizations": [{"to": [to], "custom_args": {CUSTOM_ARG_OPT_IN_ID: str(uuid4())}}],
            "from": address(sender.from_email, sender.from_name),
            "subject": email.subject,
            "content": [
                {"type": "text/plain", "value": email.text},
                {"type": "text/html", "value": email.html},
            ],
            "categories": ["double_opt_in"],
            # Click tracking would rewrite the signed link through SendGrid's redirector.
            "tracking_settings": {
                "click_tracking": {"enable": False, "enable_text": False},
                "open_tracking": {"enable": False},
            },
        }


__all__ = [
    "CONFIRM_SOURCE",
    "OptInLinks",
    "OptInResult",
    "OptInService",
    "OptInStatus",
]
