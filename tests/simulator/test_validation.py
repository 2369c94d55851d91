"""Payloads SendGrid rejects are 400 naming the field; oversize is 413; nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from python_http_client.exceptions import BadRequestsError
from sendgrid import SendGridAPIClient

from simulator import MAX_BODY_BYTES, SimulatorServer
from simulator.validation import is_valid_address, validate_mail_send
from tests.sim_fixtures import SIM_API_KEY, valid_payload

AUTH = {"Authorization": f"Bearer {SIM_API_KEY}"}
Breakage = Callable[[dict[str, Any]], None]


def _without(key: str) -> Breakage:
    return lambda payload: payload.pop(key)


def _set(key: str, value: Any) -> Breakage:
    return lambda payload: payload.__setitem__(key, value)


def _set_first_personalization(key: str, value: Any) -> Breakage:
    return lambda payload: payload["personalizations"][0].__setitem__(key, value)


REJECTED = [
    pytest.param(_without("subject"), "subject", id="missing-subject"),
    pytest.param(_without("from"), "from", id="missing-from"),
    pytest.param(_set("from", {"email": "not-an-address"}), "from.email", id="invalid-from"),
    pytest.param(
        _set_first_personalization("to", [{"email": "lead@@buyer.example.com"}]),
        "personalizations.0.to.0.email",
        id="invalid-recipient",
    ),
    pytest.param(_set_first_personalization("to", []), "personalizations.0.to", id="empty-to"),
    pytest.param(_set("personalizations", []), "personalizations", id="no-personalizations"),
    pytest.param(
        _set_first_personalization("cc", [{"email": "LEAD@buyer.example.com"}]),
        "personalizations.0",
        id="duplicate-across-to-and-cc",
    ),
    pytest.param(
        _set(
            "content",
            [
                {"type": "text/html", "value": "<p>Hi</p>"},
                {"type": "text/plain", "value": "Hi"},
            ],
        ),
        "content",
        id="html-before-plain",
    ),
    pytest.param(_without("content"), "content", id="missing-content"),
    pytest.param(
        _set("content", [{"type": "text/plain", "value": ""}]),
        "content.0.value",
        id="empty-content-value",
    ),
    pytest.param(_set("headers", {"X-SG-ID": "forged"}), "headers", id="reserved-header"),
    pytest.param(_set("headers", {"X-Count": 3}), "headers.X-Count", id="non-string-header"),
    pytest.param(
        _set("custom_args", {"message_id": "m-1", "step": 2}),
        "custom_args.step",
        id="non-string-custom-arg",
    ),
    pytest.param(
        _set("custom_args", {"blob": "x" * 10_000}), "custom_args", id="custom-args-too-big"
    ),
    pytest.param(
        _set("categories", [f"c{i}" for i in range(11)]), "categories", id="eleven-categories"
    ),
    pytest.param(_set("send_at", "tomorrow"), "send_at", id="send-at-not-int"),
    pytest.param(_set("reply_to", {"email": "nope"}), "reply_to.email", id="invalid-reply-to"),
    pytest.param(_set("custom_args", "m-1"), "custom_args", id="custom-args-not-an-object"),
    pytest.param(
        _set_first_personalization("custom_args", {"blob": "x" * 10_000}),
        "personalizations.0.custom_args",
        id="personalization-custom-args-too-big",
    ),
    pytest.param(
        _set_first_personalization("substitutions", {"-n-": 1}),
        "personalizations.0.substitutions.-n-",
        id="non-string-substitution",
    ),
    pytest.param(
        _set_first_personalization(
            "to", [{"email": f"lead{i}@buyer.example.com"} for i in range(1001)]
        ),
        "personalizations",
        id="over-1000-recipients",
    ),
    pytest.param(_set("headers", {"X Count": "3"}), "headers", id="invalid-header-name"),
    pytest.param(
        _set("headers", {"X-Note": "a\r\nBcc: x@evil.example.com"}),
        "headers.X-Note",
        id="header-value-with-crlf",
    ),
    pytest.param(
        _set_first_personalization("headers", {"Reply-To": "x@buyer.example.com"}),
        "personalizations.0.headers",
        id="reserved-header-in-personalization",
    ),
    pytest.param(
        _set("content", [{"type": "text/plain; charset=utf-8", "value": "Hi"}]),
        "content.0.type",
        id="content-type-with-parameter",
    ),
    pytest.param(
        lambda payload: payload.update(
            reply_to={"email": "a@buyer.example.com"},
            reply_to_list=[{"email": "b@buyer.example.com"}],
        ),
        "reply_to_list",
        id="reply-to-and-reply-to-list",
    ),
    pytest.param(
        _set("attachments", [{"content": "not base64!", "filename": "a.txt"}]),
        "attachments.0.content",
        id="attachment-not-base64",
    ),
    pytest.param(
        _set("attachments", [{"content": "QUJD", "filename": "a.png", "disposition": "inline"}]),
        "attachments.0.content_id",
        id="inline-attachment-without-content-id",
    ),
    pytest.param(_set("ip_pool_name", "p"), "ip_pool_name", id="ip-pool-name-too-short"),
]


@pytest.mark.parametrize(("breakage", "field"), REJECTED)
def test_rejected_payload_is_400_naming_the_field_and_stores_nothing(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient, breakage: Breakage, field: str
) -> None:
    payload = valid_payload()
    breakage(payload)

    with pytest.raises(BadRequestsError) as caught:
        sim_sendgrid.send(payload)

    assert caught.value.status_code == 400
    errors = caught.value.to_dict["errors"]
    assert field in [e["field"] for e in errors]
    assert all(e["message"] and e["help"] is None for e in errors)
    assert sim.store.messages() == []


def test_every_problem_of_a_payload_is_reported(sim_sendgrid: SendGridAPIClient) -> None:
    payload = valid_payload(headers={"Subject": "forged"}, categories="intro")
    del payload["from"], payload["subject"]

    with pytest.raises(BadRequestsError) as caught:
        sim_sendgrid.send(payload)

    fields = {e["field"] for e in caught.value.to_dict["errors"]}
    assert fields == {"from", "subject", "headers", "categories"}


def test_invalid_json_is_400(sim: SimulatorServer) -> None:
    response = httpx.post(
        f"{sim.url}/v3/mail/send",
        content=b'{"personalizations": [',
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Bad Request", "field": None, "help": None}]}


def test_body_over_30_mb_is_413_and_at_the_limit_is_not(sim: SimulatorServer) -> None:
    def body_of(size: int) -> bytes:
        # A JSON document of exactly `size` bytes that is no valid mail.
        skeleton = json.dumps({"pad": ""}).encode()
        return json.dumps({"pad": "x" * (size - len(skeleton))}).encode()

    with httpx.Client(headers=AUTH, timeout=30) as client:
        at_limit = client.post(f"{sim.url}/v3/mail/send", content=body_of(MAX_BODY_BYTES))
        over = client.post(f"{sim.url}/v3/mail/send", content=body_of(MAX_BODY_BYTES + 1))

    assert MAX_BODY_BYTES == 30 * 1024 * 1024
    assert at_limit.status_code == 400
    assert over.status_code == 413
    [error] = over.json()["errors"]
    assert error["field"] is None
    assert "too large" in error["message"]


def test_subject_in_every_personalization_satisfies_the_subject_rule() -> None:
    payload = valid_payload(
        personalizations=[
            {"to": [{"email": "a@buyer.example.com"}], "subject": "A"},
            {"to": [{"email": "b@buyer.example.com"}]},
        ]
    )
    del payload["subject"]

    assert [e.field for e in validate_mail_send(payload)] == ["subject"]
    payload["personalizations"][1]["subject"] = "B"
    assert validate_mail_send(payload) == []


def test_amp_content_may_precede_html_but_other_types_follow_it() -> None:
    amp_first = valid_payload(
        content=[
            {"type": "text/plain", "value": "t"},
            {"type": "text/x-amp-html", "value": "a"},
            {"type": "text/html", "value": "h"},
            {"type": "text/calendar", "value": "c"},
        ]
    )
    calendar_first = valid_payload(
        content=[{"type": "text/calendar", "value": "c"}, {"type": "text/html", "value": "h"}]
    )

    assert validate_mail_send(amp_first) == []
    assert [e.field for e in validate_mail_send(calendar_first)] == ["content"]


def test_template_may_bring_subject_and_content() -> None:
    payload = valid_payload(template_id="d-0123456789abcdef")
    del payload["subject"], payload["content"]

    assert validate_mail_send(payload) == []


def test_top_level_custom_args_are_an_object_of_strings_despite_the_published_schema() -> None:
    payload = valid_payload(custom_args={"nurture_message_id": "m-1"})

    assert validate_mail_send(payload) == []


def test_errors_name_the_field_without_echoing_an_address() -> None:
    payload = valid_payload(personalizations=[{"to": [{"email": "lead@@buyer.example.com"}]}])

    [error] = validate_mail_send(payload)

    assert error.field == "personalizations.0.to.0.email"
    assert "buyer.example.com" not in error.message


def test_non_object_payload_is_a_bad_request() -> None:
    assert [(e.message, e.field) for e in validate_mail_send([])] == [("Bad Request", None)]


@pytest.mark.parametrize(
    "address",
    ["lead@buyer.example.com", "reply+tok.sig@inbound.localhost", "x@example.test", "ü@exämple.de"],
)
def test_syntactically_valid_addresses_are_accepted(address: str) -> None:
    assert is_valid_address(address)


@pytest.mark.parametrize(
    "address",
    ["", "lead", "lead@", "@buyer.example.com", "a b@x.com", "a@x..com", "a@localhost", "a@-x.com"],
)
def test_malformed_addresses_are_rejected(address: str) -> None:
    assert not is_valid_address(address)
