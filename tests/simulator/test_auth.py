"""The API key check: a wrong or missing key is 401 in SendGrid's words, before anything else."""

from __future__ import annotations

import httpx
import pytest
from python_http_client.exceptions import ServiceUnavailableError, UnauthorizedError
from sendgrid import SendGridAPIClient

from simulator import SimulatorServer
from tests.sim_fixtures import SIM_API_KEY, valid_payload

UNAUTHORIZED_BODY = {
    "errors": [
        {
            "message": "The provided authorization grant is invalid, expired, or revoked",
            "field": None,
            "help": None,
        }
    ]
}


def test_wrong_api_key_is_401_and_stores_nothing(sim: SimulatorServer) -> None:
    client = SendGridAPIClient(api_key="SG.wrong-key", host=sim.url)

    with pytest.raises(UnauthorizedError) as caught:
        client.send(valid_payload())

    assert caught.value.status_code == 401
    assert caught.value.to_dict == UNAUTHORIZED_BODY
    assert sim.store.messages() == []


def test_missing_authorization_header_is_401(sim: SimulatorServer) -> None:
    client = SendGridAPIClient(api_key=SIM_API_KEY, host=sim.url)
    del client.client.request_headers["Authorization"]

    with pytest.raises(UnauthorizedError) as caught:
        client.send(valid_payload())

    assert caught.value.to_dict == UNAUTHORIZED_BODY


def test_key_without_bearer_scheme_is_401(sim: SimulatorServer) -> None:
    response = httpx.post(
        f"{sim.url}/v3/mail/send",
        json=valid_payload(),
        headers={"Authorization": SIM_API_KEY},
    )

    assert response.status_code == 401


def test_401_wins_over_a_pending_fault_and_leaves_it_pending(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient
) -> None:
    httpx.post(f"{sim.url}/_sim/faults", json={"status": 503}).raise_for_status()
    intruder = SendGridAPIClient(api_key="SG.wrong-key", host=sim.url)

    with pytest.raises(UnauthorizedError):
        intruder.send(valid_payload())
    with pytest.raises(ServiceUnavailableError):
        sim_sendgrid.send(valid_payload())
