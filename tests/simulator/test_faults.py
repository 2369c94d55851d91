"""Injected faults: error statuses and slow answers for the next N send calls."""

from __future__ import annotations

import time

import httpx
import pytest
from python_http_client.exceptions import (
    HTTPError,
    InternalServerError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from sendgrid import SendGridAPIClient

from simulator import SimulatorServer
from tests.sim_fixtures import valid_payload


def _inject(sim: SimulatorServer, **fault: object) -> None:
    httpx.post(f"{sim.url}/_sim/faults", json=fault).raise_for_status()


def test_rate_limit_fault_is_429_with_reset_in_future_then_next_call_succeeds(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    _inject(sim, status=429, count=1, reset_after_seconds=30)

    with pytest.raises(TooManyRequestsError) as caught:
        sim_sendgrid.send(valid_payload())

    error = caught.value
    assert error.status_code == 429
    assert error.to_dict == {"errors": [{"field": None, "message": "too many requests"}]}
    assert error.headers["X-RateLimit-Remaining"] == "0"
    assert int(error.headers["X-RateLimit-Limit"]) > 0
    assert time.time() + 25 < int(error.headers["X-RateLimit-Reset"]) <= time.time() + 32
    assert sim.store.messages() == []
    assert sim_sendgrid.send(valid_payload()).status_code == 202
    assert len(sim.store.messages()) == 1


def test_fault_with_count_fails_that_many_calls(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    _inject(sim, status=503, count=2)

    for _ in range(2):
        with pytest.raises(ServiceUnavailableError):
            sim_sendgrid.send(valid_payload())

    assert sim_sendgrid.send(valid_payload()).status_code == 202


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(500, InternalServerError), (502, HTTPError), (503, ServiceUnavailableError)],
)
def test_server_error_fault_answers_that_status_with_an_errors_body(
    sim: SimulatorServer,
    sim_sendgrid: SendGridAPIClient,
    status: int,
    error_type: type[HTTPError],
) -> None:
    _inject(sim, status=status)

    with pytest.raises(error_type) as caught:
        sim_sendgrid.send(valid_payload())

    assert caught.value.status_code == status
    [error] = caught.value.to_dict["errors"]
    assert error["message"]
    assert error["field"] is None
    assert sim.store.messages() == []


def test_delay_fault_times_out_a_short_timeout_client_though_the_mail_is_accepted(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    _inject(sim, delay_seconds=0.6)
    sim_sendgrid.client.timeout = 0.15

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        sim_sendgrid.send(valid_payload())

    assert time.monotonic() - started < 0.5
    # Like SendGrid, the server finishes the call: the outcome is unknown to the client.
    [message] = sim.store.wait_for(1, timeout=5)
    assert message.recipient == "lead@buyer.example.com"


def test_delay_with_status_fails_slowly(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    _inject(sim, delay_seconds=0.2, status=500)

    started = time.monotonic()
    with pytest.raises(InternalServerError):
        sim_sendgrid.send(valid_payload())

    assert time.monotonic() - started >= 0.2


def test_faults_are_consumed_in_the_order_they_were_queued(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    _inject(sim, status=500)
    _inject(sim, status=429)

    assert httpx.get(f"{sim.url}/_sim/faults").json()["pending"][0]["status"] == 500
    with pytest.raises(InternalServerError):
        sim_sendgrid.send(valid_payload())
    with pytest.raises(TooManyRequestsError):
        sim_sendgrid.send(valid_payload())
    assert httpx.get(f"{sim.url}/_sim/faults").json() == {"pending": []}


@pytest.mark.parametrize(
    "fault",
    [{}, {"count": 2}, {"status": 200}, {"status": 429, "count": 0}, {"delay": 1}],
    ids=["empty", "count-only", "success-status", "zero-count", "unknown-field"],
)
def test_fault_that_would_do_nothing_is_refused(sim: SimulatorServer, fault: dict) -> None:
    response = httpx.post(f"{sim.url}/_sim/faults", json=fault)

    assert response.status_code == 422
    assert httpx.get(f"{sim.url}/_sim/faults").json() == {"pending": []}
