"""Per-client-address rate limits of the doors strangers can knock on: the dashboard login
(guessing tokens) and the links in emails (`/u/…`, `/c/…`); routes take them as dependencies
from `api.deps`.

One token bucket per address, in this process, in bounded memory: at most `max_keys` buckets,
the least recently used dropped first (a dropped bucket was most likely full again anyway). Each
API replica limits on its own; a deployment with several puts a shared limit in front of them
(docs/architecture.md, "Production configuration and secrets").
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from api.link_pages import page
from models.errors import RateLimited
from models.settings import Settings

#: Buckets kept per limiter: ~100 bytes each, so about a megabyte at most.
MAX_KEYS = 10_000


class RateLimiter:
    """`per_minute` attempts a minute per key, up to `per_minute` at once (0: no limit).
    Thread-safe: sync routes run on the thread pool."""

    def __init__(
        self,
        per_minute: int,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 0 or max_keys < 1:
            raise ValueError("per_minute must be >= 0 and max_keys >= 1")
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._clock = clock
        self._rate = per_minute / 60.0  # attempts regained per second
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key: (left, at)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def attempt(self, key: str) -> None:
        """Count one attempt by `key`; raises `RateLimited` when its budget is used up."""
        if self.per_minute == 0:
            return
        now = self._clock()
        with self._lock:
            left, at = self._buckets.pop(key, (float(self.per_minute), now))
            left = min(float(self.per_minute), left + (now - at) * self._rate)
            if left >= 1.0:
                left -= 1.0
                wait = 0
            else:
                wait = max(1, math.ceil((1.0 - left) / self._rate))
            self._buckets[key] = (left, now)  # most recently used last
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        if wait:
            raise RateLimited(wait)


@dataclass
class RateLimits:
    """The API's limiters, one per door (built once per app)."""

    login: RateLimiter
    links: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            login=RateLimiter(settings.login_rate_limit),
            links=RateLimiter(settings.link_rate_limit),
        )


def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: what uvicorn's
    --forwarded-allow-ips lets X-Forwarded-For say)."""
    return request.client.host if request.client is not None else "unknown"


async def answer_rate_limited(request: Request, exc: Exception) -> Response:
    """429 with Retry-After, as a page: both doors are pages people look at."""
    if not isinstance(exc, RateLimited):  # registered for RateLimited only
        raise exc
    response = page(
        "Too many requests",
        f"<p>Too many requests from your address. Please try again in {exc.retry_after} "
        "seconds.</p>",
        status=429,
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


__all__ = [
    "MAX_KEYS",
    "RateLimiter",
    "RateLimits",
    "answer_rate_limited",
    "client_address",
]
