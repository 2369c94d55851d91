"""Fixtures for the notification tests: a real HTTP receiver on a free local port, and a clock
the tests move forward."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from activities.notifications.signing import NOTIFICATION_ID_HEADER
from models.tables import utcnow


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def document(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class Receiver:
    """A real HTTP server on a free local port, answering in its own threads: records every
    POST; answers 500 to the next `fail_next` ones; waits `delay` seconds before answering; with
    `holding` set, waits until `release()`."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.fail_next = 0
        self.delay = 0.0
        self.holding = False
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/nurture"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def ids(self) -> list[str]:
        with self._lock:
            return [r.headers[NOTIFICATION_ID_HEADER.lower()] for r in self.requests]

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self._closing.set()
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def _answer(self, received: Received) -> int:
        with self._lock:
            self.requests.append(received)
            failing = self.fail_next > 0
            self.fail_next -= int(failing)
            delay, holding = self.delay, self.holding
        self.arrived.set()
        if holding:
            self._released.wait(30)
        if delay:
            self._closing.wait(delay)
        return 500 if failing else 204

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver._answer(Received(headers, body))
                self.send_response(status)
                if status >= 300:
                    text = b"upstream exploded " + b"x" * 1000
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                else:
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops concurrent connects (retried 1 s later)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is what some tests do on purpose


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


class Clock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()
