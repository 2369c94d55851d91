"""One canonical log line per API request: method, route template, status, duration.

The route template (`/u/{token}`), never the raw path: unsubscribe and confirmation tokens,
contact ids in paths and query strings stay out of the logs, and so does the client's address.
"""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.stdlib.get_logger("api.access")

#: What a request that matched no route is logged as (its raw path may hold a token).
UNMATCHED = "<unmatched>"
#: Probes and scrapes come every few seconds: their lines are DEBUG, not INFO.
PROBES = frozenset({"/healthz", "/metrics"})


def route_template(scope: Scope) -> str:
    """The path template of the route that handled the request (FastAPI puts it in the scope)."""
    path = getattr(scope.get("route"), "path_format", None)
    if isinstance(path, str):
        return path
    mounted = scope.get("root_path") or ""
    if mounted and "endpoint" in scope:  # inside a Mount (static files): its prefix only
        return f"{mounted}/{{path}}"
    return UNMATCHED


class AccessLog:
    """Pure ASGI middleware (no buffering of bodies, nothing changed in the response)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            path = route_template(scope)
            write = log.debug if path in PROBES and status < 500 else log.info
            write(
                "request",
                method=scope["method"],
                path=path,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )


__all__ = ["PROBES", "UNMATCHED", "AccessLog", "route_template"]
