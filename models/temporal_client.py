"""Builds the Temporal client every process uses (worker, API, CLI, tests): one data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from models.settings import Settings


async def connect(settings: Settings, *, address: str | None = None) -> Client:
    """Connect to the configured Temporal address and namespace with the pydantic converter."""
    return await Client.connect(
        address or settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


__all__ = ["connect"]
