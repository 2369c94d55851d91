"""Several API tokens at once (NURTURE_API_TOKENS, NURTURE_API_TOKEN one more): a rolling change
of the ops API's bearer token; dashboard sessions bound to the token they were issued under;
failed logins that all look alike; the security headers on every kind of response."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from activities.enrollment.sending import Links
from api.app import create_app
from api.dashboard.session import COOKIE_NAME
from models.db import get_engine
from models.settings import Settings
from tests.factories import (
    INBOUND_DOMAIN,
    PUBLIC_URL,
    SECRET,
    make_contact,
    make_sender,
    make_sent_message,
)

OLD = "old-token-" + "o" * 30
NEW = "new-token-" + "n" * 30
ALIAS = "alias-token-" + "a" * 30


@pytest.fixture
def both(api_settings: Settings) -> Settings:
    """Mid-change: the old and the new token both accepted."""
    return api_settings.model_copy(update={"api_tokens": [OLD, NEW]})


def app_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, run_forwarder=False), follow_redirects=False)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_listed_token_opens_the_api_and_the_built_in_one_does_not(both: Settings) -> None:
    with app_client(both) as client:
        assert client.get("/api/senders", headers=bearer(OLD)).status_code == 200
        assert client.get("/api/senders", headers=bearer(NEW)).status_code == 200
        assert client.get("/api/senders", headers=bearer("dev-api-token")).status_code == 401
        assert client.get("/", headers=bearer(NEW)).status_code == 200  # dashboard too


def test_the_single_token_setting_is_one_more_accepted_token(both: Settings) -> None:
    with app_client(both.model_copy(update={"api_token": ALIAS})) as client:
        for token in (OLD, NEW, ALIAS):
            assert client.get("/api/senders", headers=bearer(token)).status_code == 200


def test_a_rolling_change_ends_with_only_the_new_token(both: Settings) -> None:
    after = both.model_copy(update={"api_tokens": [NEW]})
    with app_client(after) as client:
        assert client.get("/api/senders", headers=bearer(OLD)).status_code == 401
        assert client.get("/api/senders", headers=bearer(NEW)).status_code == 200


def login(client: TestClient, token: str) -> str:
    response = client.post("/login", data={"token": token, "next": "/"})
    assert response.status_code == 303, response.text
    return response.cookies[COOKIE_NAME]


def test_a_session_ends_when_its_token_is_removed_and_the_others_go_on(both: Settings) -> None:
    with app_client(both) as client:
        old_session = login(client, OLD)
        new_session = login(client, NEW)
    after = both.model_copy(update={"api_tokens": [NEW]})
    with app_client(after) as client:
        client.cookies.set(COOKIE_NAME, old_session)
        assert client.get("/").status_code == 303  # back to the login
        client.cookies.set(COOKIE_NAME, new_session)
        assert client.get("/").status_code == 200


def test_sessions_survive_a_restart_with_the_same_tokens(both: Settings) -> None:
    with app_client(both) as client:
        session = login(client, OLD)
    with app_client(both.model_copy(update={"api_tokens": [NEW, OLD]})) as client:
        client.cookies.set(COOKIE_NAME, session)
        assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    "guess",
    [
        "x",
        NEW[:-1],  # one character short
        NEW + "x",  # one too many
        NEW[:-1] + ("x" if NEW[-1] != "x" else "y"),  # the last character wrong
        NEW.upper(),
        " " * len(NEW),
        "n" * 5000,
    ],
    ids=["garbage", "short", "long", "last-char", "upper", "blank", "huge"],
)
def test_a_failed_login_looks_the_same_however_close_the_guess(both: Settings, guess: str) -> None:
    with app_client(both) as client:
        reference = client.post("/login", data={"token": "nothing-like-it", "next": "/"})
        answer = client.post("/login", data={"token": guess, "next": "/"})
    assert answer.status_code == reference.status_code == 401
    assert answer.text == reference.text
    assert "set-cookie" not in answer.headers


# -- security headers -----------------------------------------------------------------------------


def assert_secured(response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


@pytest.fixture
def client(both: Settings) -> Iterator[TestClient]:
    with app_client(both) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/login", 200),
        ("/", 303),
        ("/healthz", 200),
        ("/metrics", 200),
        ("/api/senders", 401),
        ("/no/such/path", 404),
        (f"/u/{'a' * 42}", 404),
        (f"/c/{'a' * 42}", 404),
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, path: str, status: int
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert_secured(response)


def test_dashboard_pages_and_api_answers_carry_them(client: TestClient) -> None:
    for path in ("/", "/senders", "/events", "/replies"):
        page = client.get(path, headers=bearer(NEW))
        assert page.status_code == 200
        assert_secured(page)
        assert "default-src 'none'" in page.headers["content-security-policy"]
    api = client.get("/api/senders", headers=bearer(NEW))
    assert api.status_code == 200
    assert_secured(api)


def test_unsubscribe_pages_carry_them_with_a_strict_policy(client: TestClient, both) -> None:
    engine = get_engine(both.effective_database_url)
    make_sender(engine)
    message = make_sent_message(engine, make_contact(engine))
    token = Links(PUBLIC_URL, INBOUND_DOMAIN, SECRET).unsubscribe_url(message.id).rsplit("/", 1)[1]
    for response in (
        client.get(f"/u/{token}"),
        client.post(f"/u/{token}", content="List-Unsubscribe=One-Click"),
    ):
        assert response.status_code == 200
        assert_secured(response)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "form-action 'self'" in policy
        assert response.headers["cache-control"] == "no-store"
