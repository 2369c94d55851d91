"""The send step through the real `sendgrid` client into the ESP simulator, on each DB backend."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.enrollment.activities import EnrollmentActivities
from activities.enrollment.rendering import FALLBACK_GREETING
from activities.enrollment.sending import SendingService
from models.db import session_scope
from models.enrollment import SendStatus
from models.errors import (
    ConsentMissing,
    ConsentWithdrawn,
    ContactSuppressed,
    EspRateLimited,
    EspRejected,
    EspUnavailable,
)
from models.tables import ConsentAction, Message, MessageStatus, SuppressionReason
from models.tokens import TokenPurpose, verify
from tests.factories import (
    INBOUND_DOMAIN,
    PUBLIC_URL,
    SECRET,
    make_contact,
    make_sender,
    sending_service,
    step_input,
    suppress,
    withdraw_consent,
)
from tests.sim_fixtures import SIM_API_KEY


@pytest.fixture
def service(engine: sa.Engine, sim: Any) -> SendingService:
    make_sender(engine)
    return sending_service(engine, sim.url, SIM_API_KEY)


def received(sim: Any) -> list[dict[str, Any]]:
    return httpx.get(f"{sim.url}/_sim/messages").json()


def fault(sim: Any, **body: Any) -> None:
    httpx.post(f"{sim.url}/_sim/faults", json=body).raise_for_status()


def message_row(engine: sa.Engine, message_id: str) -> Message | None:
    with session_scope(engine) as s:
        return s.get(Message, message_id)


def test_send_delivers_personalised_mail_with_compliance_headers(engine, sim, service):
    contact = make_contact(engine, first_name="Anna", company="Schmidt Maschinen GmbH")
    step = step_input(contact)

    result = service.send_step(step)

    assert result.status == SendStatus.SENT
    assert result.esp_message_id
    [mail] = received(sim)
    assert mail["recipient"] == contact.email
    assert "Schmidt Maschinen GmbH" in mail["subject"]
    assert mail["text"].startswith("Hi Anna,")
    assert "88 Harbour Road" in mail["text"]
    assert "88 Harbour Road" in mail["html"]
    headers = mail["headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe_url.startswith(f"{PUBLIC_URL}/u/")
    assert unsubscribe_url in mail["text"]
    assert unsubscribe_url in mail["html"]
    token = unsubscribe_url.rsplit("/", 1)[1]
    assert verify(SECRET, TokenPurpose.UNSUBSCRIBE, token) == step.message_id
    # custom args hold opaque ids only: SendGrid keeps them forever.
    assert mail["custom_args"] == {
        "nurture_message_id": step.message_id,
        "nurture_workflow_id": step.workflow_id,
    }
    assert contact.email not in str(mail["custom_args"])
    reply_local, reply_domain = mail["reply_to"].split("@")
    assert reply_domain == INBOUND_DOMAIN
    assert reply_local.startswith("reply+")
    assert verify(SECRET, TokenPurpose.REPLY, reply_local.removeprefix("reply+")) == step.message_id
    row = message_row(engine, step.message_id)
    assert row is not None
    assert row.status == MessageStatus.SENT
    assert row.esp_message_id == mail["esp_message_id"]


def test_missing_first_name_gets_a_friendly_greeting(engine, sim, service):
    nameless = make_contact(engine, first_name=None, last_name=None, company=None)
    service.send_step(step_input(nameless))
    [mail] = received(sim)
    assert mail["text"].startswith(FALLBACK_GREETING)
    assert "Sir" not in mail["text"]
    assert "Madam" not in mail["text"]


def test_missing_first_name_greets_the_company_team(engine, sim, service):
    contact = make_contact(engine, first_name=" ", company="Rotterdam Trading BV")
    service.send_step(step_input(contact))
    assert received(sim)[0]["text"].startswith("Hi Rotterdam Trading BV team,")


@pytest.mark.parametrize(
    ("prepare", "error"),
    [
        (lambda engine, c: withdraw_consent(engine, c.id), ConsentWithdrawn),
        (
            lambda engine, c: suppress(engine, c.email, SuppressionReason.HARD_BOUNCE),
            ContactSuppressed,
        ),
        (
            lambda engine, c: suppress(engine, c.email.upper(), SuppressionReason.COMPLAINT),
            ContactSuppressed,
        ),
    ],
    ids=["withdrawn", "hard-bounce-suppressed", "complaint-suppressed-any-case"],
)
def test_no_send_without_consent_at_send_time(engine, sim, service, prepare, error):
    contact = make_contact(engine)
    prepare(engine, contact)
    step = step_input(contact)
    with pytest.raises(error):
        service.send_step(step)
    assert received(sim) == []
    assert message_row(engine, step.message_id) is None


def test_no_send_to_a_contact_without_consent_on_record(engine, sim, service):
    contact = make_contact(engine, consent=None)
    with pytest.raises(ConsentMissing):
        service.send_step(step_input(contact))
    assert received(sim) == []


def test_consent_granted_again_after_withdrawal_allows_sending(engine, sim, service):
    contact = make_contact(engine)
    withdraw_consent(engine, contact.id)
    time.sleep(0.01)
    make_consent = ConsentAction.CONFIRMED
    from models.tables import ConsentRecord

    with session_scope(engine) as s:
        s.add(ConsentRecord(contact_id=contact.id, action=make_consent, source="double opt-in"))
    assert service.send_step(step_input(contact)).status == SendStatus.SENT


class CrashAfterClaim(SendingService):
    """Dies like a killed worker: after the message row is committed, before the ESP call."""

    def _deliver(self, step, payload):  # type: ignore[override]
        raise SystemExit("worker killed")


def test_crash_between_row_and_esp_call_never_sends_twice(engine, sim, service):
    contact = make_contact(engine)
    step = step_input(contact)
    crashing = CrashAfterClaim(engine, service._transport, service._renderer, service._links)
    with pytest.raises(SystemExit):
        crashing.send_step(step)
    assert message_row(engine, step.message_id).status == MessageStatus.PENDING

    retry = service.send_step(step)  # the activity retry after the crash

    assert retry.status == SendStatus.UNKNOWN
    assert received(sim) == []
    assert message_row(engine, step.message_id).status == MessageStatus.UNKNOWN
    assert service.send_step(step).status == SendStatus.UNKNOWN  # and it stays that way


def test_retry_after_success_returns_the_same_result_without_resending(engine, sim, service):
    step = step_input(make_contact(engine))
    first = service.send_step(step)
    second = service.send_step(step)
    assert second == first
    assert len(received(sim)) == 1


def test_timeout_after_the_request_left_is_not_resent(engine, sim):
    make_sender(engine)
    slow = sending_service(engine, sim.url, SIM_API_KEY, timeout_seconds=0.3)
    step = step_input(make_contact(engine))
    fault(sim, delay_seconds=1.5, count=1)
    with pytest.raises(EspUnavailable) as exc:
        slow.send_step(step)
    assert exc.value.maybe_accepted
    assert slow.send_step(step).status == SendStatus.UNKNOWN


def test_bad_request_is_permanent_and_names_the_field(engine, sim):
    make_sender(engine, from_email="not-an-address")
    service = sending_service(engine, sim.url, SIM_API_KEY)
    step = step_input(make_contact(engine))
    with pytest.raises(EspRejected) as exc:
        service.send_step(step)
    assert exc.value.status == 400
    assert "from" in str(exc.value)
    assert message_row(engine, step.message_id).status == MessageStatus.FAILED
    with pytest.raises(EspRejected):  # a retry does not call SendGrid again
        service.send_step(step)
    assert received(sim) == []


def test_wrong_api_key_is_permanent_with_a_clear_message(engine, sim):
    make_sender(engine)
    service = sending_service(engine, sim.url, "SG.wrong")
    with pytest.raises(EspRejected) as exc:
        service.send_step(step_input(make_contact(engine)))
    assert exc.value.status == 401
    assert "NURTURE_SENDGRID_API_KEY" in str(exc.value)


def test_rate_limit_retries_after_the_reset_and_sends_once(engine, sim, service):
    step = step_input(make_contact(engine))
    fault(sim, status=429, count=1, reset_after_seconds=30)
    with pytest.raises(EspRateLimited) as exc:
        service.send_step(step)
    assert 20 <= exc.value.retry_after_seconds <= 31
    assert message_row(engine, step.message_id).status == MessageStatus.NOT_SENT
    assert service.send_step(step).status == SendStatus.SENT
    assert len(received(sim)) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_and_then_send_once(engine, sim, service, status):
    step = step_input(make_contact(engine))
    fault(sim, status=status, count=1)
    with pytest.raises(EspUnavailable) as exc:
        service.send_step(step)
    assert not exc.value.maybe_accepted
    assert exc.value.status == status
    assert service.send_step(step).status == SendStatus.SENT
    assert len(received(sim)) == 1


def test_unreachable_esp_is_retryable_and_marks_nothing_sent(engine):
    make_sender(engine)
    service = sending_service(engine, "http://127.0.0.1:9", SIM_API_KEY)
    step = step_input(make_contact(engine))
    with pytest.raises(EspUnavailable) as exc:
        service.send_step(step)
    assert not exc.value.maybe_accepted
    assert message_row(engine, step.message_id).status == MessageStatus.NOT_SENT


def test_bump_is_sent_in_the_intro_thread(engine, sim, service):
    contact = make_contact(engine)
    intro = step_input(contact, "intro")
    service.send_step(intro)
    bump = step_input(contact, "bump", in_reply_to_message_id=intro.message_id)
    service.send_step(bump)
    first, second = received(sim)
    assert second["subject"] == f"Re: {first['subject']}"
    assert second["headers"]["In-Reply-To"] == first["headers"]["Message-ID"]
    assert second["headers"]["References"] == first["headers"]["Message-ID"]


# -- the activity wrapper: what Temporal sees -------------------------------------------------


def run_activity(service: SendingService, step) -> Any:
    return ActivityEnvironment().run(EnrollmentActivities(service._engine, service).send_step, step)


def test_activity_turns_withdrawn_consent_into_a_non_retryable_error(engine, sim, service):
    contact = make_contact(engine, consent=ConsentAction.WITHDRAWN)
    with pytest.raises(ApplicationError) as exc:
        run_activity(service, step_input(contact))
    assert exc.value.type == "ConsentWithdrawn"
    assert exc.value.non_retryable


def test_activity_retries_rate_limits_after_the_stated_reset(engine, sim, service):
    fault(sim, status=429, count=1, reset_after_seconds=45)
    with pytest.raises(ApplicationError) as exc:
        run_activity(service, step_input(make_contact(engine)))
    assert exc.value.type == "EspRateLimited"
    assert not exc.value.non_retryable
    assert exc.value.next_retry_delay is not None
    assert 30 <= exc.value.next_retry_delay.total_seconds() <= 46


def test_activity_marks_server_errors_retryable(engine, sim, service):
    fault(sim, status=502, count=1)
    with pytest.raises(ApplicationError) as exc:
        run_activity(service, step_input(make_contact(engine)))
    assert exc.value.type == "EspUnavailable"
    assert not exc.value.non_retryable


def test_activity_returns_the_sent_result(engine, sim, service):
    result = run_activity(service, step_input(make_contact(engine)))
    assert result.status == SendStatus.SENT
