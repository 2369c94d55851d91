"""Per-address rate limits: the limiter itself (budget, refill, Retry-After, bounded memory), and the
doors it guards on the real app — `/u/…`, `/c/…` and the dashboard login answer 429 with
Retry-After once one address used its budget, while another address goes on unaffected."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from activities.enrollment.sending import Links
from api.app import create_app
from api.rate_limit import RateLimiter
from models.errors import RateLimited
from models.settings import Settings
from models.tokens import TokenPurpose, sign
from tests.factories import (
    INBOUND_DOMAIN,
    PUBLIC_URL,
    SECRET,
    make_contact,
    make_sender,
    make_sent_message,
)

LIMIT = 5


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def exhaust(limiter: RateLimiter, key: str) -> None:
    for _ in range(limiter.per_minute):
        limiter.attempt(key)


def test_a_key_gets_its_budget_then_is_told_when_to_retry() -> None:
    clock = Clock()
    limiter = RateLimiter(6, clock=clock)  # one attempt regained every 10 s
    exhaust(limiter, "a")
    with pytest.raises(RateLimited) as refused:
        limiter.attempt("a")
    assert refused.value.retry_after == 10
    clock.now += 9
    with pytest.raises(RateLimited) as again:
        limiter.attempt("a")
    assert again.value.retry_after == 1
    clock.now += 1
    limiter.attempt("a")  # one regained
    with pytest.raises(RateLimited):
        limiter.attempt("a")


def test_other_keys_are_unaffected_and_a_quiet_minute_refills_the_budget() -> None:
    clock = Clock()
    limiter = RateLimiter(LIMIT, clock=clock)
    exhaust(limiter, "a")
    exhaust(limiter, "b")  # b's budget is its own
    clock.now += 60
    exhaust(limiter, "a")


def test_memory_is_bounded_dropping_the_least_recently_used_key() -> None:
    clock = Clock()
    limiter = RateLimiter(LIMIT, max_keys=3, clock=clock)
    exhaust(limiter, "busy")
    for i in range(100):
        limiter.attempt(f"drive-by-{i}")
        assert len(limiter) <= 3
    exhaust(limiter, "busy")  # it was dropped with the oldest: a fresh budget (bounded, not exact)
    limiter = RateLimiter(LIMIT, max_keys=3, clock=clock)
    exhaust(limiter, "busy")
    limiter.attempt("x")
    limiter.attempt("y")
    with pytest.raises(RateLimited):  # the most recent three are kept: busy still limited
        limiter.attempt("busy")


def test_zero_means_no_limit_and_negative_is_refused() -> None:
    limiter = RateLimiter(0)
    for _ in range(1000):
        limiter.attempt("a")
    assert len(limiter) == 0
    with pytest.raises(ValueError, match="per_minute"):
        RateLimiter(-1)


# -- on the app -----------------------------------------------------------------------------------


@pytest.fixture
def limited_app(api_settings: Settings) -> FastAPI:
    limited = api_settings.model_copy(update={"login_rate_limit": LIMIT, "link_rate_limit": LIMIT})
    return create_app(limited, run_forwarder=False)


@pytest.fixture
def clients(limited_app: FastAPI) -> Iterator[tuple[TestClient, TestClient]]:
    """Two clients of one app, from two addresses."""
    with (
        TestClient(limited_app, client=("203.0.113.7", 40000)) as one,
        TestClient(limited_app, client=("198.51.100.9", 40000)) as other,
    ):
        yield one, other


def assert_429(response) -> None:
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "text/html" in response.headers["content-type"]
    assert "Too many requests" in response.text


def test_unsubscribe_links_are_limited_per_address(clients, api_engine) -> None:
    one, other = clients
    make_sender(api_engine)
    message = make_sent_message(api_engine, make_contact(api_engine))
    token = Links(PUBLIC_URL, INBOUND_DOMAIN, SECRET).unsubscribe_url(message.id).rsplit("/", 1)[1]
    for _ in range(LIMIT):
        assert one.get(f"/u/{token}").status_code == 200
    assert_429(one.get(f"/u/{token}"))
    assert_429(one.post(f"/u/{token}", content="List-Unsubscribe=One-Click"))
    assert_429(one.get(f"/u/{'a' * 42}"))  # guessing tokens counts the same
    assert other.get(f"/u/{token}").status_code == 200
    assert other.post(f"/u/{token}", content="List-Unsubscribe=One-Click").status_code == 200


def test_opt_in_links_are_limited_per_address(clients, api_engine) -> None:
    one, other = clients
    token = sign(SECRET, TokenPurpose.CONFIRM, str(make_contact(api_engine, consent=None).id))
    for _ in range(LIMIT):
        assert one.get(f"/c/{token}").status_code == 200
    assert_429(one.get(f"/c/{token}"))
    assert other.get(f"/c/{token}").status_code == 200


def test_dashboard_login_attempts_are_limited_per_address(clients) -> None:
    one, other = clients
    for _ in range(LIMIT):
        assert one.post("/login", data={"token": "guess"}).status_code == 401
    assert_429(one.post("/login", data={"token": "dev-api-token"}))  # even the right one, now
    assert one.get("/login").status_code == 200  # the form itself is not an attempt
    answer = other.post("/login", data={"token": "dev-api-token"}, follow_redirects=False)
    assert answer.status_code == 303


def test_other_routes_are_not_limited(clients) -> None:
    one, _ = clients
    for _ in range(LIMIT * 3):
        assert one.get("/healthz").status_code == 200
