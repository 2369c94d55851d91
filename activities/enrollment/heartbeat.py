"""Heartbeats for a synchronous activity while a block of it runs, recorded from one pacer thread
per worker process: a long legitimate wait in the activity's own thread (a database lock, the
ESP) keeps it alive, while the activities of a killed worker time out within the heartbeat
timeout and are retried.

The SDK keeps the activity's context in a `contextvars.ContextVar`, which another thread does not
inherit; `temporalio.activity` asks for it to be "explicitly propagated" before its functions are
called from another thread. Each block therefore registers a copy of the activity thread's
context, and the pacer calls the public `activity.heartbeat()` inside it. For an activity on a
`ThreadPoolExecutor` the SDK's heartbeat is thread-safe: it hands the call to the worker's event
loop (`asyncio.run_coroutine_threadsafe`) and waits at most 10 s for it to be accepted.

One pacer, not a thread per block: a send step lasts milliseconds, and starting and joining a
thread for each one cost the worker more CPU than the send's database work (issue 15's profile).
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity


@dataclass(eq=False)
class _Beating:
    """One block's registration: the activity's context, how often, and whether it still runs.
    `lock` is held while its heartbeat is recorded, so leaving the block waits for one in
    flight and no heartbeat follows the block."""

    context: contextvars.Context
    seconds: float
    active: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)


class HeartbeatPacer:
    """Records the heartbeats of every registered block from one daemon thread, started on first
    use. Due times sit in a heap; the thread sleeps until the earliest or a new registration."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, _Beating]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def register(self, seconds: float) -> _Beating:
        beating = _Beating(contextvars.copy_context(), seconds)
        with self._wake:
            heapq.heappush(self._due, (time.monotonic() + seconds, next(self._order), beating))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="heartbeat-pacer")
                # Daemon: a stuck SDK call must never hold up interpreter exit.
                self._thread.daemon = True
                self._thread.start()
            elif self._due[0][2] is beating:
                self._wake.notify()
        return beating

    @staticmethod
    def unregister(beating: _Beating) -> None:
        with beating.lock:  # waits for a heartbeat being recorded right now
            beating.active = False

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._due and not self._due[0][2].active:
                    heapq.heappop(self._due)  # ended blocks leave without waking anyone
                if not self._due:
                    self._wake.wait()
                    continue
                delay = self._due[0][0] - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                _, _, beating = heapq.heappop(self._due)
            if self._beat(beating):
                with self._wake:
                    entry = (time.monotonic() + beating.seconds, next(self._order), beating)
                    heapq.heappush(self._due, entry)

    @staticmethod
    def _beat(beating: _Beating) -> bool:
        """Record one heartbeat; whether the block wants more."""
        with beating.lock:
            if not beating.active or beating.context.run(activity.is_cancelled):
                return False
            try:
                beating.context.run(activity.heartbeat)
            except Exception as exc:
                # Best effort: a missed heartbeat costs at worst a retry, which the send step's
                # unfinished-row rule makes safe; failing or stopping the activity would not be.
                beating.context.run(
                    activity.logger.warning,
                    "heartbeat not recorded",
                    extra={"error": type(exc).__name__, "reason": str(exc)},
                )
            return True


#: The worker process's pacer.
PACER = HeartbeatPacer()


@contextmanager
def heartbeating(interval: timedelta) -> Iterator[None]:
    """Heartbeat the current activity every `interval` until the block ends.

    The first heartbeat comes one interval in: a block shorter than that records none (each is
    an RPC, and a billed action on Temporal Cloud), and needs none, since the server counts the
    heartbeat timeout from the attempt's start until a first heartbeat arrives.

    On leaving the block (normally or by an exception, which propagates untouched) the block is
    unregistered: no heartbeat is recorded after the block (leaving waits at most for one being
    recorded, bounded by the SDK's 10 s). Heartbeats also stop once the activity is cancelled:
    the SDK raises the cancellation into the activity thread at any instruction, even before
    the block's exit could unregister it. A heartbeat that fails is logged and the next one
    tried: it never changes what the block returns or raises.

    Raises:
        RuntimeError: Outside an activity (nothing to heartbeat).
        ValueError: For an interval that is not positive.
    """
    if interval <= timedelta():
        raise ValueError(f"heartbeat interval must be positive, not {interval}")
    if not activity.in_activity():
        raise RuntimeError("heartbeating() runs only inside an activity")
    beating = PACER.register(interval.total_seconds())
    try:
        yield
    finally:
        PACER.unregister(beating)


__all__ = ["PACER", "HeartbeatPacer", "heartbeating"]
