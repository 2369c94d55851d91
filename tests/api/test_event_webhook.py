"""POST /webhooks/sendgrid/events: signature, size and shape checks; each event stored once,
correlated to its enrollment, its effects applied and its signal queued — before the 2xx."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from activities.events.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, generate_key_pair
from models.db import session_scope
from models.tables import (
    ConsentAction,
    ConsentRecord,
    Event,
    Suppression,
    SuppressionReason,
    address_hash,
)
from tests.factories import make_contact, make_sender, make_sent_message, sendgrid_event


def stored(engine) -> list[Event]:
    with session_scope(engine) as s:
        return list(s.exec(select(Event).order_by(Event.id)).all())


@pytest.fixture
def message(api_engine):
    make_sender(api_engine)
    contact = make_contact(api_engine)
    return make_sent_message(api_engine, contact)


def test_signed_batch_is_stored_correlated_and_queued_for_its_workflow(poster, api_engine, message):
    response = poster.post([sendgrid_event("delivered", message), sendgrid_event("open", message)])

    assert response.status_code == 200
    assert response.json()["stored"] == 2
    assert response.json()["uncorrelated"] == 0
    rows = stored(api_engine)
    assert [r.kind for r in rows] == ["delivered", "open"]
    assert all(r.workflow_id == message.workflow_id and r.message_id == message.id for r in rows)
    delivered, opened = rows
    # Only the open can change what the workflow does: the delivery stays in SQL.
    assert opened.forwarded_at is None
    assert opened.payload["message_id"] == message.id
    assert delivered.forwarded_at is not None
    assert delivered.payload is None


@pytest.mark.parametrize(
    "spoil",
    ["tampered_body", "wrong_key", "stale_timestamp", "future_timestamp", "no_signature"],
)
def test_bad_signatures_are_refused_with_403_and_nothing_is_stored(
    poster, api_engine, message, spoil
):
    events = [sendgrid_event("open", message)]
    if spoil == "tampered_body":
        response = poster.post(events, tamper=True)
    elif spoil == "wrong_key":
        response = poster.post(events, key=generate_key_pair()[0])
    elif spoil == "stale_timestamp":
        response = poster.post(events, timestamp=int(time.time()) - 3600)
    elif spoil == "future_timestamp":
        response = poster.post(events, timestamp=int(time.time()) + 3600)
    else:
        response = poster.client.post("/webhooks/sendgrid/events", content=json.dumps(events))
    assert response.status_code == 403
    assert "signature" in response.json()["detail"]
    assert stored(api_engine) == []


def test_malformed_json_is_400_with_a_clear_message(poster, api_engine):
    response = poster.post(b'{"not": "an array"')
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
    assert stored(api_engine) == []


def test_oversized_batch_is_413(poster, api_settings):
    body = b"[" + b" " * (api_settings.webhook_max_bytes + 10) + b"]"
    response = poster.post(body)
    assert response.status_code == 413


def test_same_batch_posted_twice_is_stored_once(poster, api_engine, message):
    batch = [
        sendgrid_event("delivered", message),
        sendgrid_event("click", message, url="https://example.com/p"),
    ]
    first = poster.post(batch).json()
    second = poster.post(batch).json()
    assert first["stored"] == 2
    assert second == {**second, "stored": 0, "duplicates": 2}
    assert len(stored(api_engine)) == 2


def test_unknown_event_types_are_kept_and_do_not_fail_the_batch(poster, api_engine, message):
    response = poster.post(
        [
            sendgrid_event("brand_new_kind", message),
            ["not", "an", "object"],
            sendgrid_event("open", message),
        ]
    )
    assert response.status_code == 200
    assert response.json()["ignored"] == 2
    rows = stored(api_engine)
    assert {r.esp_type for r in rows} == {"brand_new_kind", "invalid", "open"}
    assert [r.kind for r in rows if r.forwarded_at is None] == ["open"]  # only it is signalled


def test_delayed_bounce_without_custom_args_finds_its_workflow(poster, api_engine, message):
    bounce = sendgrid_event(
        "bounce",
        message,
        custom_args=False,
        status="5.1.1",
        reason="550 5.1.1 no such user",
        type="bounce",
    )
    poster.post([bounce])
    [row] = stored(api_engine)
    assert row.workflow_id == message.workflow_id
    assert row.message_id == message.id
    assert row.payload["message_id"] == message.id
    assert row.payload["bounce_class"] == "hard"


def test_event_with_only_the_address_finds_the_live_enrollment(poster, api_engine, message):
    with session_scope(api_engine) as s:
        from models.tables import Contact

        email = s.get(Contact, message.contact_id).email
    poster.post([sendgrid_event("open", None, email=email.upper())])
    [row] = stored(api_engine)
    assert row.workflow_id == message.workflow_id


def test_event_matching_nothing_is_kept_and_counted_uncorrelated(poster, api_engine):
    response = poster.post([sendgrid_event("open", None, email="stranger@nowhere.example")])
    assert response.json()["uncorrelated"] == 1
    [row] = stored(api_engine)
    assert row.workflow_id is None
    assert row.forwarded_at is not None


def suppression(engine, email: str) -> Suppression | None:
    with session_scope(engine) as s:
        return s.get(Suppression, address_hash(email))


def email_of(engine, message) -> str:
    from models.tables import Contact

    with session_scope(engine) as s:
        return s.get(Contact, message.contact_id).email


def test_hard_bounce_suppresses_the_address(poster, api_engine, message):
    poster.post([sendgrid_event("bounce", message, status="5.1.1", type="bounce")])
    assert (
        suppression(api_engine, email_of(api_engine, message)).reason
        == SuppressionReason.HARD_BOUNCE
    )


def test_block_does_not_suppress_the_recipient(poster, api_engine, message):
    poster.post([sendgrid_event("bounce", message, status="5.7.1", type="blocked")])
    assert suppression(api_engine, email_of(api_engine, message)) is None
    [row] = stored(api_engine)
    assert row.payload["bounce_class"] == "block"


def test_repeated_soft_bounces_suppress_after_the_limit(poster, api_engine, api_settings, message):
    email = email_of(api_engine, message)
    for n in range(api_settings.soft_bounce_limit):
        assert suppression(api_engine, email) is None, f"suppressed after {n} soft bounces"
        poster.post([sendgrid_event("bounce", message, status="4.2.2", type="bounce")])
    assert suppression(api_engine, email).reason == SuppressionReason.SOFT_BOUNCES


def test_complaint_suppresses(poster, api_engine, message):
    poster.post([sendgrid_event("spamreport", message)])
    assert (
        suppression(api_engine, email_of(api_engine, message)).reason == SuppressionReason.COMPLAINT
    )


@pytest.mark.parametrize("kind", ["unsubscribe", "group_unsubscribe"])
def test_unsubscribe_withdraws_consent_and_suppresses(poster, api_engine, message, kind):
    poster.post([sendgrid_event(kind, message, asm_group_id=12)])
    assert (
        suppression(api_engine, email_of(api_engine, message)).reason
        == SuppressionReason.UNSUBSCRIBE
    )
    with session_scope(api_engine) as s:
        actions = [
            r.action
            for r in s.exec(
                select(ConsentRecord).where(ConsentRecord.contact_id == message.contact_id)
            ).all()
        ]
    assert actions[-1] == ConsentAction.WITHDRAWN


def test_duplicate_unsubscribe_is_applied_once(poster, api_engine, message):
    event = sendgrid_event("unsubscribe", message)
    poster.post([event])
    poster.post([event])
    with session_scope(api_engine) as s:
        withdrawals = s.exec(
            select(ConsentRecord).where(
                ConsentRecord.contact_id == message.contact_id,
                ConsentRecord.action == ConsentAction.WITHDRAWN,
            )
        ).all()
    assert len(withdrawals) == 1


def test_no_personal_data_in_what_is_queued_for_workflows(poster, api_engine, message):
    email = email_of(api_engine, message)
    poster.post(
        [
            sendgrid_event(
                "click", message, email=email, url=f"https://shop.example/track?u={email}"
            ),
            sendgrid_event(
                "bounce", message, email=email, reason=f"550 5.1.1 <{email}>: user unknown"
            ),
        ]
    )
    for row in stored(api_engine):
        assert email not in json.dumps(row.payload)
        assert email not in json.dumps(row.details)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "event",
                            "timestamp",
                            "email",
                            "sg_event_id",
                            "nurture_message_id",
                            "url",
                            "status",
                            "type",
                        ]
                    )
                    | st.text(max_size=8),
                    children,
                    max_size=5,
                )
            ),
            max_leaves=20,
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_arbitrary_signed_bodies_never_cause_a_500(poster, body):
    response = poster.post(body)
    assert response.status_code in (200, 400), response.text


def test_unsigned_garbage_is_403_not_500(client):
    response = client.post(
        "/webhooks/sendgrid/events",
        content=b"\xff\x00garbage",
        headers={SIGNATURE_HEADER: "!!!not base64!!!", TIMESTAMP_HEADER: "yesterday"},
    )
    assert response.status_code == 403
