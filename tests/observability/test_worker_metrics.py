"""The worker serves the Temporal SDK's metrics at NURTURE_WORKER_METRICS_PORT, and nothing
when the setting is absent."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

import worker as worker_module
from cli.processes import free_port
from models.settings import Settings


async def scrape_when_ready(url: str, within: float = 30.0) -> str:
    """The metrics text once the worker's pollers have reported (they start asynchronously)."""
    deadline = asyncio.get_running_loop().time() + within
    async with httpx.AsyncClient() as http:
        while True:
            try:
                response = await http.get(url)
                if response.status_code == 200 and "temporal_num_pollers" in response.text:
                    return response.text
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"no Temporal worker metrics at {url}")
            await asyncio.sleep(0.2)


async def test_worker_exports_temporal_sdk_metrics(
    sqlite_database_url: str, dev_server_address: str
) -> None:
    # The dev server, not the time-skipping one: a worker creates its maintenance schedules at
    # start, which the test server does not implement.
    port = free_port()
    settings = Settings(
        database_url=sqlite_database_url,
        temporal_address=dev_server_address,
        task_queue=f"metrics-{uuid.uuid4()}",
        worker_metrics_port=port,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker_module.run(settings, stop=stop))
    try:
        text = await scrape_when_ready(f"http://127.0.0.1:{port}/metrics")
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)

    assert "temporal_num_pollers" in text
    assert settings.task_queue in text  # the worker's own series, labelled with its queue


def test_no_metrics_runtime_unless_a_port_is_set() -> None:
    assert worker_module.worker_runtime(Settings()) is None


@pytest.mark.parametrize("value", ["json", "JSON"])
def test_log_settings_accept_any_case(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("NURTURE_LOG_FORMAT", value)
    monkeypatch.setenv("NURTURE_LOG_LEVEL", "debug")
    settings = Settings()
    assert (settings.log_format, settings.log_level) == ("json", "DEBUG")
