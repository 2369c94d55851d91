"""Temporal calls the dashboard makes per page view: the API app (`api.app.create_app`, its
forwarder not started) served in this process, every call any Temporal client of the process
makes counted by RPC while one page is fetched."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
from temporalio import service

from api.app import create_app
from models.settings import Settings

#: The RPCs Temporal Cloud bills (a query reaches a worker: one action each).
BILLED_RPCS = frozenset({"query_workflow"})


@contextlib.contextmanager
def counting_temporal_calls() -> Iterator[Counter[str]]:
    """Every RPC made meanwhile by any Temporal client of this process, counted by name."""
    calls: Counter[str] = Counter()
    bridge = service._BridgeServiceClient  # the one transport every client's calls go through
    original = bridge._rpc_call

    async def counted(self: Any, rpc: str, *args: Any, **kwargs: Any) -> Any:
        calls[rpc] += 1
        return await original(self, rpc, *args, **kwargs)

    bridge._rpc_call = counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        bridge._rpc_call = original  # type: ignore[method-assign]


async def temporal_calls_per_view(settings: Settings, paths: dict[str, str]) -> dict[str, Any]:
    """For each page (`name` → path): its status and the Temporal calls a view makes (`calls`,
    `by_rpc`, and `billed`: the queries among them), the page viewed once before; and
    `first_view_calls`, those of that first view of the process (pools and templates cold)."""
    app = create_app(settings, run_forwarder=False)
    headers = {"Authorization": f"Bearer {settings.api_token}"}
    transport = httpx.ASGITransport(app=app)
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://dashboard", headers=headers
    ) as http:
        for name, path in paths.items():
            with counting_temporal_calls() as first:
                await http.get(path)
            with counting_temporal_calls() as calls:
                response = await http.get(path)
            out[name] = {
                "path": path,
                "status": response.status_code,
                "calls": sum(calls.values()),
                "by_rpc": dict(calls),
                "billed": sum(n for rpc, n in calls.items() if rpc in BILLED_RPCS),
                "first_view_calls": sum(first.values()),
            }
    return out


__all__ = ["BILLED_RPCS", "counting_temporal_calls", "temporal_calls_per_view"]
