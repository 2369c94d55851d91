"""`api.errors`: each domain error family's status and body, on a small app whose routes raise
them; the public link pages answer a page; the real app's confirmation page after an
unsubscribe is 410."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from api.errors import register_error_handlers
from models.errors import (
    ConsentWithdrawn,
    ContactSuppressed,
    EnrollmentConflict,
    EspRejected,
    InvalidInput,
    InvalidSignature,
    InvalidToken,
    MalformedPayload,
    NurtureError,
    SenderNotFound,
    TemplateError,
    UnknownUnsubscribeToken,
)
from models.tokens import TokenPurpose, sign
from tests.factories import SECRET, make_contact, withdraw_consent

RAISED: dict[str, NurtureError] = {
    "not-found": SenderNotFound("no sender 'x'"),
    "invalid": InvalidInput("daily_cap", "at least 1"),
    "malformed": MalformedPayload("body", "not a JSON array"),
    "token": InvalidToken("token signature does not match"),
    "unsubscribe-token": UnknownUnsubscribeToken("no such message"),
    "signature": InvalidSignature("bad signature", problem="mismatch"),
    "blocked": ContactSuppressed("contact c is suppressed"),
    "conflict": EnrollmentConflict("already enrolled"),
    "esp": EspRejected("401 from SendGrid", status=401),
    "template": TemplateError("no template trade_intro/nope"),
    "sender-query": InvalidInput("sender_id", "no sender 'x'"),
}


@pytest.fixture
def raising() -> TestClient:
    """A small app with the handlers: `/json/{case}` and the page `/page/{case}` raise."""
    app = FastAPI()
    register_error_handlers(app)

    @app.post("/json/{case}")
    def json_route(case: str, sender_id: Annotated[str | None, Query()] = None) -> None:
        raise RAISED[case]

    @app.post("/page/{case}", response_class=HTMLResponse)
    def page_route(case: str) -> HTMLResponse:
        raise RAISED.get(case) or ConsentWithdrawn("contact c withdrew consent")

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("case", "status", "detail"),
    [
        ("not-found", 404, "no sender 'x'"),
        (
            "invalid",
            422,
            [{"type": "value_error", "loc": ["body", "daily_cap"], "msg": "at least 1"}],
        ),
        ("malformed", 400, "body: not a JSON array"),
        ("token", 404, "token signature does not match"),
        ("unsubscribe-token", 404, "no such message"),
        ("signature", 403, "invalid signature: bad signature"),
        ("blocked", 409, "contact c is suppressed"),
        ("conflict", 409, "already enrolled"),
        ("esp", 502, "SendGrid did not take the email: 401 from SendGrid"),
    ],
)
def test_each_family_has_its_status_and_body(
    raising: TestClient, case: str, status: int, detail: object
) -> None:
    response = raising.post(f"/json/{case}")
    assert response.status_code == status
    assert response.json() == {"detail": detail}


def test_bad_input_names_the_query_parameter_it_came_from(raising: TestClient) -> None:
    response = raising.post("/json/sender-query", params={"sender_id": "x"})
    assert response.json()["detail"][0]["loc"] == ["query", "sender_id"]


def test_an_error_without_a_family_is_a_server_error(raising: TestClient) -> None:
    assert raising.post("/json/template").status_code == 500


@pytest.mark.parametrize(
    ("case", "status", "text"),
    [
        ("unsubscribe-token", 404, "reply to it and ask us to stop"),
        ("token", 404, "This link is not valid"),
        ("withdrawn", 410, "You unsubscribed"),
        ("not-found", 404, None),  # no page for it: JSON, as anywhere
    ],
)
def test_link_pages_answer_a_page(
    raising: TestClient, case: str, status: int, text: str | None
) -> None:
    response = raising.post(f"/page/{case}")
    assert response.status_code == status
    if text is None:
        assert response.headers["content-type"] == "application/json"
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert text in response.text
        assert response.headers["cache-control"] == "no-store"


def test_confirming_after_an_unsubscribe_is_the_410_page(client: TestClient, api_engine) -> None:
    contact = make_contact(api_engine, consent=None)
    withdraw_consent(api_engine, contact.id)
    token = sign(SECRET, TokenPurpose.CONFIRM, str(contact.id))

    response = client.post(f"/c/{token}")

    assert response.status_code == 410
    assert "no longer valid" in response.text
