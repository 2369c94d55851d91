"""Runs the simulator under uvicorn in a background thread, for tests and the dev stack."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import uvicorn

from simulator.app import create_app
from simulator.faults import FaultQueue
from simulator.scenario import Scenario, load_scenario
from simulator.store import SimulatorStore
from simulator.webhooks import EventSigner, WebhookConfig, WebhookDispatcher

__all__ = ["SimulatorServer", "running_simulator"]

_START_TIMEOUT_SECONDS = 10.0


class SimulatorServer:
    """One simulator listening on `host:port` (port 0: a free port, see `.port` once started).

    With a `webhook_url` (and/or `inbound_url`) it plays `scenario` back to them: a preset
    name, a JSON file path, or a `Scenario`; by default `scripted` (only `POST /_sim/events`).
    """

    def __init__(
        self,
        api_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        webhook_url: str | None = None,
        inbound_url: str | None = None,
        scenario: Scenario | str | Path | None = None,
        private_key_pem: bytes | str | None = None,
        seed: int | None = None,
        flush_seconds: float = 1.0,
        batch_size: int = 100,
        retry_initial_seconds: float = 1.0,
        retry_give_up_seconds: float = 3600.0,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self.store = SimulatorStore()
        self.faults = FaultQueue()
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario or "scripted")
        self.webhooks = WebhookDispatcher(
            WebhookConfig(
                events_url=webhook_url,
                inbound_url=inbound_url,
                batch_size=batch_size,
                flush_seconds=flush_seconds,
                retry_initial_seconds=retry_initial_seconds,
                retry_give_up_seconds=retry_give_up_seconds,
            ),
            scenario,
            EventSigner.from_pem(private_key_pem) if private_key_pem else EventSigner.generate(),
            seed=seed,
        )
        self.app = create_app(api_key, store=self.store, faults=self.faults, webhooks=self.webhooks)
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the simulator is not running")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """Base URL to give the sendgrid client as `host`, e.g. `http://127.0.0.1:54321`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def webhook_public_key(self) -> str:
        """The key that verifies this simulator's Event Webhook signatures (base64 DER)."""
        return self.webhooks.public_key

    def start(self) -> None:
        """Listen, serve in a daemon thread, and return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        # Binding here (not in uvicorn) makes port 0 usable: the OS-chosen port is known.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError:
            sock.close()
            raise
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,  # query strings may hold addresses (?recipient=)
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="simulator", daemon=True
        )
        self._socket, self._server, self._thread = sock, server, thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator did not start")
            time.sleep(0.005)
        if self.webhooks.enabled:
            self.webhooks.start()

    def stop(self) -> None:
        """Stop serving and posting, and release the port; safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_SECONDS)
        self.webhooks.stop()  # after the server: a send finishing during shutdown may plan events
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None
        self._socket = None

    def reset(self) -> None:
        """Forget messages, faults, pending webhooks and their log (`DELETE /_sim/messages`)."""
        self.store.clear()
        self.faults.clear()
        self.webhooks.clear()

    def __enter__(self) -> SimulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def running_simulator(
    api_key: str,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    webhook_url: str | None = None,
    inbound_url: str | None = None,
    scenario: Scenario | str | Path | None = None,
    private_key_pem: bytes | str | None = None,
    seed: int | None = None,
    flush_seconds: float = 1.0,
    batch_size: int = 100,
    retry_initial_seconds: float = 1.0,
    retry_give_up_seconds: float = 3600.0,
) -> Iterator[SimulatorServer]:
    """A started simulator (`.url`, `.store`, `.faults`, `.webhooks`), stopped on exit."""
    with SimulatorServer(
        api_key,
        host=host,
        port=port,
        webhook_url=webhook_url,
        inbound_url=inbound_url,
        scenario=scenario,
        private_key_pem=private_key_pem,
        seed=seed,
        flush_seconds=flush_seconds,
        batch_size=batch_size,
        retry_initial_seconds=retry_initial_seconds,
        retry_give_up_seconds=retry_give_up_seconds,
    ) as server:
        yield server
