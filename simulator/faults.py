"""Faults a test queues for the next send calls: an error status, a slow answer, or both."""

from __future__ import annotations

import threading
from collections import deque

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["FaultQueue", "FaultSpec"]


class FaultSpec(BaseModel):
    """What the next `count` send calls do instead of (or before) answering normally.

    `delay_seconds` alone answers slowly and then handles the mail as usual (as SendGrid
    may accept a mail whose client timed out); with `status`, the call fails after the delay
    and stores nothing.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: int | None = Field(None, ge=400, le=599)
    count: int = Field(1, ge=1, le=100_000)
    delay_seconds: float = Field(0.0, ge=0, le=300)
    reset_after_seconds: float = Field(1.0, ge=0, le=86_400)
    """For 429: when the rate limit resets, reported in `X-RateLimit-Reset`."""
    rate_limit: int = Field(600, ge=1)
    """For 429: the `X-RateLimit-Limit` header."""

    @model_validator(mode="after")
    def _does_something(self) -> FaultSpec:
        if self.status is None and self.delay_seconds == 0:
            raise ValueError("a fault needs a status, a delay_seconds, or both")
        return self


class FaultQueue:
    """Pending faults in the order they were queued, consumed one per send call; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: deque[FaultSpec] = deque()

    def add(self, spec: FaultSpec) -> None:
        with self._lock:
            self._pending.append(spec)

    def take(self) -> FaultSpec | None:
        """The fault for this call (its `count` is then one less), or None."""
        with self._lock:
            if not self._pending:
                return None
            spec = self._pending[0]
            if spec.count == 1:
                self._pending.popleft()
            else:
                self._pending[0] = spec.model_copy(update={"count": spec.count - 1})
            return spec.model_copy(update={"count": 1})

    def pending(self) -> list[FaultSpec]:
        """Faults still to come; each `count` is what remains of it."""
        with self._lock:
            return list(self._pending)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
