"""Running the simulator: free ports, clean shutdown, the store's API, logs and the CLI."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from python_http_client.exceptions import BadRequestsError
from sendgrid import SendGridAPIClient

from simulator import (
    ReceivedMessage,
    RecipientType,
    SimulatorServer,
    SimulatorStore,
    running_simulator,
)
from simulator.__main__ import parse_args
from tests.sim_fixtures import valid_payload

REPO_ROOT = Path(__file__).resolve().parents[2]


def _message(recipient: str = "lead@buyer.example.com") -> ReceivedMessage:
    return ReceivedMessage(
        esp_message_id="esp",
        sg_message_id="esp.filter-0.0",
        recipient=recipient,
        recipient_name=None,
        recipient_type=RecipientType.TO,
        personalization_index=0,
        from_email="sales@acme.example.com",
        from_name=None,
        reply_to=None,
        reply_to_name=None,
        subject="s",
        text="t",
        html=None,
        headers={},
        custom_args={},
        categories=[],
        template_id=None,
        send_at=None,
        sent_at=datetime.now(UTC),
    )


def _accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_port_zero_gives_each_simulator_its_own_free_port() -> None:
    with running_simulator("SG.a") as first, running_simulator("SG.b") as second:
        assert first.port != second.port != 0
        assert first.url == f"http://127.0.0.1:{first.port}"
        SendGridAPIClient(api_key="SG.b", host=second.url).send(valid_payload())
        assert (len(first.store), len(second.store)) == (0, 1)


def test_stopped_simulator_no_longer_accepts_connections() -> None:
    with running_simulator("SG.k") as server:
        port = server.port
        assert _accepts_connections(port)

    assert not _accepts_connections(port)


def test_send_logs_ids_but_never_the_recipient_address(
    sim: SimulatorServer, sim_sendgrid: SendGridAPIClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="simulator")
    payload = valid_payload(custom_args={"message_id": "m-42"})

    esp_message_id = sim_sendgrid.send(payload).headers["X-Message-Id"]
    payload["personalizations"][0]["to"][0]["email"] = "broken@"
    with pytest.raises(BadRequestsError):
        sim_sendgrid.send(payload)
    httpx.get(f"{sim.url}/_sim/messages", params={"recipient": "lead@buyer.example.com"})

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("simulator")]
    assert any(esp_message_id in line and "m-42" in line for line in lines)
    assert any("status=400" in line for line in lines)
    assert not any("lead@" in line or "broken@" in line for line in lines)


def test_clear_drops_a_send_that_started_before_it() -> None:
    store = SimulatorStore()
    epoch = store.epoch

    store.clear()

    assert store.add([_message()], epoch=epoch) is False
    assert store.add([_message()], epoch=store.epoch) is True
    assert len(store) == 1


def test_on_message_callbacks_see_each_stored_message_even_if_one_fails() -> None:
    seen: list[str] = []

    def broken(message: ReceivedMessage) -> None:
        raise RuntimeError("scenario bug")

    store = SimulatorStore(on_message=[broken, lambda m: seen.append(m.recipient)])

    store.add([_message("a@x.example.com"), _message("b@x.example.com")])

    assert seen == ["a@x.example.com", "b@x.example.com"]
    assert len(store) == 2


def test_wait_for_raises_timeout_when_messages_do_not_arrive() -> None:
    store = SimulatorStore()
    store.add([_message()])

    with pytest.raises(TimeoutError):
        store.wait_for(2, timeout=0.05)
    assert len(store.wait_for(1, timeout=0.05)) == 1


def test_cli_defaults_come_from_the_environment() -> None:
    defaults = parse_args([], environ={})
    from_env = parse_args(
        [], environ={"NURTURE_SIMULATOR_PORT": "9125", "NURTURE_SENDGRID_API_KEY": "SG.env"}
    )
    from_flags = parse_args(["--port", "9300", "--api-key", "SG.flag", "--host", "0.0.0.0"])

    assert (defaults.host, defaults.port, defaults.api_key) == (
        "127.0.0.1",
        8025,
        "SG.dev-simulator-key",
    )
    assert (from_env.port, from_env.api_key) == (9125, "SG.env")
    assert (from_flags.host, from_flags.port, from_flags.api_key) == ("0.0.0.0", 9300, "SG.flag")


def test_python_m_simulator_serves_mail_send() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "NURTURE_SIMULATOR_PORT": str(port), "NURTURE_SENDGRID_API_KEY": "SG.cli"}
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--log-level", "warning"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _accepts_connections(port):
            assert process.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"

        response = SendGridAPIClient(api_key="SG.cli", host=url).send(valid_payload())

        assert response.status_code == 202
        [listed] = httpx.get(f"{url}/_sim/messages").json()
        assert listed["esp_message_id"] == response.headers["X-Message-Id"]
    finally:
        process.terminate()
        process.wait(timeout=10)
