"""Builds the Temporal client every process uses (worker, API, CLI, tests): one data converter."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from models.errors import InvalidInput
from models.settings import Settings


def metrics_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime whose SDK metrics (`temporal_*`) are served at `bind_address/metrics`.

    Each runtime has its own thread pool and listener: build one per process.
    """
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))


def security_options(settings: Settings) -> dict[str, Any]:
    """`tls` and `api_key` for `Client.connect` from the settings: plain for the dev server; TLS
    with a client certificate (mTLS) or an API key for Temporal Cloud; TLS with a custom root CA
    for a self-hosted cluster. Unreadable or half-given certificates are an InvalidInput."""
    cert, key = settings.temporal_tls_cert, settings.temporal_tls_key
    if (cert is None) != (key is None):
        raise InvalidInput(
            "temporal_tls_cert", "give both NURTURE_TEMPORAL_TLS_CERT and NURTURE_TEMPORAL_TLS_KEY"
        )

    def read(field: str, path: Any) -> bytes | None:
        if path is None:
            return None
        try:
            return bytes(path.read_bytes())
        except OSError as exc:
            raise InvalidInput(field, f"cannot read {path}: {exc.strerror}") from None

    options: dict[str, Any] = {}
    custom = cert is not None or settings.temporal_tls_ca or settings.temporal_tls_server_name
    if custom:
        options["tls"] = TLSConfig(
            client_cert=read("temporal_tls_cert", cert),
            client_private_key=read("temporal_tls_key", key),
            server_root_ca_cert=read("temporal_tls_ca", settings.temporal_tls_ca),
            domain=settings.temporal_tls_server_name,
        )
    elif settings.temporal_tls or settings.temporal_api_key:
        options["tls"] = True
    if settings.temporal_api_key:
        options["api_key"] = settings.temporal_api_key
    return options


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
        **security_options(settings),
    )


__all__ = ["connect", "metrics_runtime", "security_options"]
