"""Builds the Temporal client every process uses (worker, API, CLI, tests): one data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from models.settings import Settings


def metrics_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime whose SDK metrics (`temporal_*`) are served at `bind_address/metrics`.

    Each runtime has its own thread pool and listener: build one per process.
    """
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))


async def connect(
    settings: Settings, *, address: str | None = None, runtime: Runtime | None = None
) -> Client:
    """Connect to the configured Temporal address and namespace with the pydantic converter;
    `runtime` (default: the SDK's default runtime) carries the client's and workers' telemetry."""
    return await Client.connect(
        address or settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )


__all__ = ["connect", "metrics_runtime"]
