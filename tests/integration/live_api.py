"""The nurture API served by uvicorn in a thread (forwarder included), for end-to-end tests, and
the waits and simulator scripting those tests share."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from api.app import create_app
from models.settings import Settings


@contextmanager
def live_api(settings: Settings) -> Iterator[str]:
    """Serve the API on a free port; yields its base URL; stops on exit."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("API did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


async def until(fetch, predicate, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while True:
        value = await fetch()
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never held; last: {value!r}")
        await asyncio.sleep(0.05)


async def script(sim, **body) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{sim.url}/_sim/events", json=body)
        assert response.status_code == 202, response.text
