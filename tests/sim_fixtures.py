"""Pytest fixtures for the ESP simulator: one real HTTP server per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sendgrid import SendGridAPIClient

from simulator import SimulatorServer, running_simulator

__all__ = ["SIM_API_KEY", "sim", "sim_sendgrid", "simulator", "valid_payload"]

SIM_API_KEY = "SG.test-key"


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorServer]:
    """The session's running simulator; tests normally want `sim` instead."""
    with running_simulator(SIM_API_KEY) as server:
        yield server


@pytest.fixture
def sim(simulator: SimulatorServer) -> SimulatorServer:
    """The running simulator with no messages and no pending faults."""
    simulator.reset()
    return simulator


@pytest.fixture
def sim_sendgrid(sim: SimulatorServer) -> SendGridAPIClient:
    """The official sendgrid client pointed at `sim` with the right key."""
    return SendGridAPIClient(api_key=SIM_API_KEY, host=sim.url)


def valid_payload(**overrides: Any) -> dict[str, Any]:
    """A minimal raw v3 mail/send payload SendGrid accepts; `overrides` replace top-level keys."""
    payload: dict[str, Any] = {
        "personalizations": [{"to": [{"email": "lead@buyer.example.com"}]}],
        "from": {"email": "sales@acme.example.com", "name": "Acme Sales"},
        "subject": "Hello",
        "content": [
            {"type": "text/plain", "value": "Hello there"},
            {"type": "text/html", "value": "<p>Hello there</p>"},
        ],
    }
    payload.update(overrides)
    return payload
