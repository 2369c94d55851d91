"""Pytest fixtures for the ESP simulator: one real HTTP server per session, reset per test;
a webhook receiver that records what the simulator posts back."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid import SendGridAPIClient

from simulator import SimulatorServer, running_simulator

__all__ = [
    "EVENTS_PATH",
    "INBOUND_PATH",
    "SIM_API_KEY",
    "ReceivedPost",
    "WebhookReceiver",
    "nurture_payload",
    "sim",
    "sim_sendgrid",
    "sim_webhooks",
    "simulator",
    "simulator_with_webhooks",
    "valid_payload",
    "webhook_receiver",
    "webhook_receiver_session",
]

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


def nurture_payload(
    message_id: str = "3f1c0d2e-0000-4000-8000-000000000001",
    *,
    recipient: str = "lead@buyer.example.com",
    sequence: str = "trade_intro",
    step: str = "intro",
) -> dict[str, Any]:
    """A v3 payload shaped like nurture's send step (custom args, Message-ID, Reply-To, categories)."""
    return {
        "personalizations": [
            {
                "to": [{"email": recipient, "name": "Lead Person"}],
                "custom_args": {
                    "nurture_message_id": message_id,
                    "nurture_workflow_id": f"nurture/{sequence}/6b1f0c3a",
                },
            }
        ],
        "from": {"email": "sales@acme.example.com", "name": "Acme Sales"},
        "reply_to": {"email": "reply+tok3n@inbound.localhost"},
        "subject": "Valves for your plant",
        "content": [
            {"type": "text/plain", "value": "Hello Lead,\nSee https://acme.example.com/valves"},
            {
                "type": "text/html",
                "value": '<p>Hello Lead, see <a href="https://acme.example.com/valves">valves</a>'
                ' or <a href="https://nurture.example.com/u/tok">unsubscribe</a></p>',
            },
        ],
        "headers": {
            "Message-ID": f"<{message_id}@acme.example.com>",
            "List-Unsubscribe": "<https://nurture.example.com/u/tok>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "categories": [sequence, f"{sequence}/{step}"],
    }


# -- webhook receiver ---------------------------------------------------------------------

EVENTS_PATH = "/webhooks/sendgrid/events"
INBOUND_PATH = "/webhooks/sendgrid/inbound"


@dataclass(frozen=True)
class ReceivedPost:
    """One POST the receiver got, and the status it answered."""

    path: str
    headers: Message
    body: bytes
    status: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)

    def verify(self, public_key: str) -> None:
        """Check the Event Webhook signature with SendGrid's recipe and the base64 DER
        `public_key`; raises `cryptography.exceptions.InvalidSignature` if it does not hold."""
        key = serialization.load_der_public_key(base64.b64decode(public_key))
        assert isinstance(key, ec.EllipticCurvePublicKey)
        timestamp = self.headers["X-Twilio-Email-Event-Webhook-Timestamp"]
        key.verify(
            base64.b64decode(self.headers["X-Twilio-Email-Event-Webhook-Signature"]),
            timestamp.encode("utf-8") + self.body,
            ec.ECDSA(hashes.SHA256()),
        )

    def form(self) -> dict[str, str]:
        """The fields of a multipart/form-data body."""
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        parsed = BytesParser(policy=HTTP).parsebytes(head + self.body)
        fields: dict[str, str] = {}
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            assert isinstance(name, str)
            assert isinstance(payload, bytes)
            fields[name] = payload.decode("utf-8")
        return fields


class WebhookReceiver:
    """A raw HTTP server in a thread: records every POST, answers 200 or a queued status."""

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.Condition()
        self._posts: list[ReceivedPost] = []
        self._statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status = receiver._statuses.pop(0) if receiver._statuses else 200
                    receiver._posts.append(ReceivedPost(self.path, self.headers, body, status))
                    receiver._lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def events_url(self) -> str:
        return self.url + EVENTS_PATH

    @property
    def inbound_url(self) -> str:
        return self.url + INBOUND_PATH

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next `count` POSTs with `status`."""
        with self._lock:
            self._statuses.extend([status] * count)

    def posts(self, path: str | None = None) -> list[ReceivedPost]:
        with self._lock:
            return [p for p in self._posts if path is None or p.path == path]

    def events(self) -> list[dict[str, Any]]:
        """Every event of every accepted Event Webhook POST, in arrival order."""
        return [e for p in self.posts(EVENTS_PATH) if p.ok for e in p.json()]

    def wait_for(self, condition: Callable[[WebhookReceiver], bool], timeout: float = 5.0) -> None:
        """Block until `condition(self)` holds; `TimeoutError` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout}s: {self._posts!r}")
                self._lock.wait(remaining)

    def wait_for_events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        self.wait_for(lambda r: len(r.events()) >= count, timeout)
        return self.events()

    def reset(self) -> None:
        """Forget received POSTs and queued statuses."""
        with self._lock:
            self._posts.clear()
            self._statuses.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def webhook_receiver_session() -> Iterator[WebhookReceiver]:
    """The session's receiver; tests normally want `webhook_receiver` instead."""
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


@pytest.fixture
def webhook_receiver(webhook_receiver_session: WebhookReceiver) -> WebhookReceiver:
    """A receiver for the simulator's event and inbound webhooks, with nothing received yet."""
    webhook_receiver_session.reset()
    return webhook_receiver_session


@pytest.fixture(scope="session")
def simulator_with_webhooks(
    webhook_receiver_session: WebhookReceiver,
) -> Iterator[SimulatorServer]:
    """The session's simulator posting to the session receiver; tests want `sim_webhooks`."""
    with running_simulator(
        SIM_API_KEY,
        webhook_url=webhook_receiver_session.events_url,
        inbound_url=webhook_receiver_session.inbound_url,
        flush_seconds=0.05,
        retry_initial_seconds=0.05,
    ) as server:
        yield server


@pytest.fixture
def sim_webhooks(
    simulator_with_webhooks: SimulatorServer, webhook_receiver: WebhookReceiver
) -> SimulatorServer:
    """A simulator posting scripted events to `webhook_receiver` (flushing every 50 ms),
    with no messages, nothing pending and an empty webhook log."""
    simulator_with_webhooks.reset()
    webhook_receiver.reset()
    return simulator_with_webhooks
