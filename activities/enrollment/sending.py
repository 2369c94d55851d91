"""The send step: consent and suppression checked at send time, the email rendered (with the
triggering business event's properties, read here from SQL, as the template's `event`) and sent
through SendGrid, at most once per enrollment step.

At most once: the `message` row is committed (status `pending`) before the ESP call. A retry
that finds it still `pending` cannot know whether the ESP took the mail, so it does not call the
ESP again and records `unknown`. Only failures that certainly did not send (429, 5xx, connection
refused) mark the row `not_sent`, which a retry may send.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from activities.cohorts.ab_testing import winner_of
from activities.contacts.consent import check_consent
from activities.enrollment.event_properties import event_properties
from activities.enrollment.quota import QuotaService
from activities.enrollment.rendering import (
    Recipient,
    RenderedEmail,
    Renderer,
    SenderIdentity,
    address,
)
from activities.enrollment.sendgrid_transport import SendGridTransport
from models.ab_test import variant_template
from models.db import session_scope
from models.enrollment import SendStatus, SendStepInput, SendStepResult
from models.errors import (
    ContactNotFound,
    EspError,
    EspRejected,
    EspUnavailable,
    SenderNotFound,
    SenderPaused,
    WinnerPending,
)
from models.settings import Settings
from models.tables import (
    Contact,
    Message,
    MessageStatus,
    Sender,
    utcnow,
)
from models.tokens import TokenPurpose, sign
from models.wire import CUSTOM_ARG_MESSAGE_ID, CUSTOM_ARG_WORKFLOW_ID

log = structlog.stdlib.get_logger(__name__)


@dataclass(frozen=True)
class Links:
    """Where unsubscribe links and replies go."""

    public_url: str
    inbound_domain: str
    secret_key: str

    def unsubscribe_url(self, message_id: str) -> str:
        token = sign(self.secret_key, TokenPurpose.UNSUBSCRIBE, message_id)
        return f"{self.public_url.rstrip('/')}/u/{token}"

    def reply_to(self, message_id: str, *, domain: str | None = None) -> str:
        token = sign(self.secret_key, TokenPurpose.REPLY, message_id)
        return f"reply+{token}@{domain or self.inbound_domain}"


class SendingService:
    """Sends enrollment steps. Plain object: tests call it without Temporal."""

    def __init__(
        self,
        engine: sa.Engine,
        transport: SendGridTransport,
        renderer: Renderer,
        links: Links,
        quota: QuotaService | None = None,
    ) -> None:
        self._engine = engine
        self._transport = transport
        self._renderer = renderer
        self._links = links
        self._quota = quota or QuotaService(
            contact_weekly_cap=Settings.model_fields["contact_weekly_cap"].default
        )

    @classmethod
    def from_settings(cls, settings: Settings, engine: sa.Engine) -> SendingService:
        from workflows.registry import template_dirs  # workflow classes only, no I/O

        return cls(
            engine,
            SendGridTransport.from_settings(settings),
            Renderer(template_dirs(settings.templates_dir)),
            Links(settings.public_url, settings.inbound_domain, settings.secret_key),
            QuotaService(contact_weekly_cap=settings.contact_weekly_cap),
        )

    # -- the step -----------------------------------------------------------------------------

    def send_step(self, step: SendStepInput) -> SendStepResult:
        with session_scope(self._engine) as session:
            existing = session.get(Message, step.message_id)
            if existing is not None and existing.status != MessageStatus.NOT_SENT:
                return self._settle_existing(session, existing)
            contact, sender = self._load(session, step)
            check_consent(session, contact)
            if sender.paused_at is not None:
                raise SenderPaused(f"sender {sender.id} is paused: {sender.paused_reason}")
            variant = self._variant(session, step)
            thread = self._thread(session, step)
            event = self._trigger_event(session, step)
            email = self._render(step, variant, contact, sender, thread, event)
            payload = self._payload(step, contact, sender, email, thread)
            reserved_at = utcnow()
            # Same transaction as the claim below: a lost claim or a crash gives the quota back.
            self._quota.reserve(session, sender, contact, reserved_at)
            if not self._claim(session, step, variant, existing, email, payload):
                # Someone else claimed this step between our read and our write.
                session.rollback()
                again = session.get(Message, step.message_id)
                assert again is not None
                return self._settle_existing(session, again)
        try:
            return self._deliver(step, payload).model_copy(update={"variant": variant})
        except EspError as exc:
            if not (isinstance(exc, EspUnavailable) and exc.maybe_accepted):
                with session_scope(self._engine) as session:
                    self._quota.release(session, sender, contact, reserved_at)
            raise

    def _settle_existing(self, session: Session, message: Message) -> SendStepResult:
        if message.status == MessageStatus.SENT:
            return SendStepResult(
                message_id=message.id,
                status=SendStatus.SENT,
                esp_message_id=message.esp_message_id,
                variant=message.variant,
            )
        if message.status == MessageStatus.FAILED:
            raise EspRejected(message.error or "SendGrid rejected this message earlier")
        if message.status == MessageStatus.PENDING:
            log.warning(
                "message found unfinished: not sent again, outcome unknown", message_id=message.id
            )
            message.status = MessageStatus.UNKNOWN
            session.add(message)
        return SendStepResult(
            message_id=message.id, status=SendStatus.UNKNOWN, variant=message.variant
        )

    def _load(self, session: Session, step: SendStepInput) -> tuple[Contact, Sender]:
        both = session.exec(
            select(Contact, Sender).where(
                col(Contact.id) == step.contact_id, col(Sender.id) == step.sender_id
            )
        ).first()
        if both is not None:  # one round trip; otherwise say which one is missing
            return both[0], both[1]
        contact = session.get(Contact, step.contact_id)
        if contact is None:
            raise ContactNotFound(f"contact {step.contact_id} does not exist")
        sender = session.get(Sender, step.sender_id)
        if sender is None:
            raise SenderNotFound(f"sender {step.sender_id!r} does not exist")
        return contact, sender

    def _variant(self, session: Session, step: SendStepInput) -> str | None:
        """The A/B variant to send: the assigned one, or the cohort's winner once decided."""
        if not step.await_winner:
            return step.variant
        winner = winner_of(session, step.cohort_id, step.step)
        if winner is None:
            raise WinnerPending(
                f"cohort {step.cohort_id}: the A/B winner of step {step.step} is not decided yet"
            )
        return winner

    def _trigger_event(self, session: Session, step: SendStepInput) -> dict[str, Any] | None:
        """The triggering business event's properties for the template (None without one; an
        erased event, or one about another contact, renders as no event)."""
        if step.trigger_event_id is None:
            return None
        properties = event_properties(session, step.trigger_event_id, step.contact_id)
        if properties is None:
            log.warning(
                "trigger event not found for the contact: rendered without its properties",
                message_id=step.message_id,
                event_id=step.trigger_event_id,
            )
        return properties

    def _thread(self, session: Session, step: SendStepInput) -> Message | None:
        if step.in_reply_to_message_id is None:
            return None
        return session.get(Message, step.in_reply_to_message_id)

    def _render(
        self,
        step: SendStepInput,
        variant: str | None,
        contact: Contact,
        sender: Sender,
        thread: Message | None,
        event: dict[str, Any] | None = None,
    ) -> RenderedEmail:
        email = self._renderer.render(
            variant_template(step.template, variant),
            Recipient.of(contact),
            SenderIdentity(sender.from_name, sender.from_email, sender.postal_address),
            unsubscribe_url=self._links.unsubscribe_url(step.message_id),
            event=event,
        )
        if thread is not None and thread.subject:
            subject = thread.subject
            if not subject.lower().startswith("re:"):
                subject = f"Re: {subject}"
            email = RenderedEmail(subject=subject, text=email.text, html=email.html)
        return email

    def _payload(
        self,
        step: SendStepInput,
        contact: Contact,
        sender: Sender,
        email: RenderedEmail,
        thread: Message | None,
    ) -> dict[str, Any]:
        domain = sender.from_email.rsplit("@", 1)[-1]
        unsubscribe_url = self._links.unsubscribe_url(step.message_id)
        headers = {
            "Message-ID": rfc_message_id(step.message_id, domain),
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        if thread is not None and thread.rfc_message_id:
            headers["In-Reply-To"] = thread.rfc_message_id
            headers["References"] = thread.rfc_message_id
        return {
            "personalizations": [
                {
                    "to": [address(contact.email, contact.first_name, contact.last_name)],
                    "custom_args": {
                        CUSTOM_ARG_MESSAGE_ID: step.message_id,
                        CUSTOM_ARG_WORKFLOW_ID: step.workflow_id,
                    },
                }
            ],
            "from": address(sender.from_email, sender.from_name),
            "reply_to": {
                "email": self._links.reply_to(step.message_id, domain=sender.reply_domain)
            },
            "subject": email.subject,
            "content": [
                {"type": "text/plain", "value": email.text},
                {"type": "text/html", "value": email.html},
            ],
            "headers": headers,
            "categories": [step.sequence[:255], f"{step.sequence}/{step.step}"[:255]],
        }

    def _claim(
        self,
        session: Session,
        step: SendStepInput,
        variant: str | None,
        existing: Message | None,
        email: RenderedEmail,
        payload: dict[str, Any],
    ) -> bool:
        """Commit the row as `pending` before the ESP call; False if another attempt won."""
        rfc_id = payload["headers"]["Message-ID"]
        if existing is None:
            session.add(
                Message(
                    id=step.message_id,
                    workflow_id=step.workflow_id,
                    contact_id=step.contact_id,
                    sequence=step.sequence,
                    step=step.step,
                    sender_id=step.sender_id,
                    cohort_id=step.cohort_id,
                    status=MessageStatus.PENDING,
                    attempts=1,
                    rfc_message_id=rfc_id,
                    subject=email.subject,
                    body_text=email.text,
                    body_html=email.html,
                    variant=variant,
                )
            )
            try:
                session.commit()
            except sa.exc.IntegrityError:
                session.rollback()
                return False
            return True
        result = session.execute(
            sa.update(Message)
            .where(Message.id == step.message_id, Message.status == MessageStatus.NOT_SENT)  # type: ignore[arg-type]
            .values(
                status=MessageStatus.PENDING,
                attempts=Message.attempts + 1,
                subject=email.subject,
                body_text=email.text,
                body_html=email.html,
                variant=variant,
                error=None,
            )
        )
        session.commit()
        return result.rowcount == 1  # type: ignore[attr-defined]

    def _deliver(self, step: SendStepInput, payload: dict[str, Any]) -> SendStepResult:
        try:
            esp_message_id = self._transport.send(payload)
        except EspError as exc:
            self._record_failure(step.message_id, exc)
            raise
        with session_scope(self._engine) as session:
            # One statement, no read first: the row is ours since the claim committed.
            session.execute(
                sa.update(Message)
                .where(col(Message.id) == step.message_id)
                .values(
                    status=MessageStatus.SENT,
                    esp_message_id=esp_message_id or None,
                    sent_at=utcnow(),
                )
            )
        log.info("message sent", message_id=step.message_id, sequence=step.sequence, step=step.step)
        return SendStepResult(
            message_id=step.message_id,
            status=SendStatus.SENT,
            esp_message_id=esp_message_id or None,
        )

    def _record_failure(self, message_id: str, exc: EspError) -> None:
        if isinstance(exc, EspRejected):
            status = MessageStatus.FAILED
        elif isinstance(exc, EspUnavailable) and exc.maybe_accepted:
            # Leave it pending: the retry will see it and record `unknown` instead of resending.
            status = MessageStatus.PENDING
        else:
            status = MessageStatus.NOT_SENT
        with session_scope(self._engine) as session:
            message = session.get(Message, message_id)
            assert message is not None
            message.status = status
            message.error = str(exc)[:2000]
            session.add(message)


def rfc_message_id(message_id: str, domain: str) -> str:
    """The RFC 5322 Message-ID nurture sets, so later steps can thread onto it."""
    return f"<{message_id}@{domain}>"


__all__ = ["Links", "SendingService", "rfc_message_id"]
