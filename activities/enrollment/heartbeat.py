"""Heartbeats for a synchronous activity while a block of it runs, recorded from a helper thread:
a long legitimate wait in the activity's own thread (a database lock, the ESP) keeps it alive,
while the activities of a killed worker time out within the heartbeat timeout and are retried.

The SDK keeps the activity's context in a `contextvars.ContextVar`, which a new thread does not
inherit; `temporalio.activity` asks for it to be "explicitly propagated" before its functions are
called from another thread. The helper therefore runs in a copy of the activity thread's context
and calls the public `activity.heartbeat()`. For an activity on a `ThreadPoolExecutor` the SDK's
heartbeat is thread-safe: it hands the call to the worker's event loop
(`asyncio.run_coroutine_threadsafe`) and waits at most 10 s for it to be accepted.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio import activity


@contextmanager
def heartbeating(interval: timedelta) -> Iterator[None]:
    """Heartbeat the current activity every `interval` until the block ends.

    The first heartbeat comes one interval in: a block shorter than that records none (each is
    an RPC, and a billed action on Temporal Cloud), and needs none, since the server counts the
    heartbeat timeout from the attempt's start until a first heartbeat arrives.

    On leaving the block (normally or by an exception, which propagates untouched) the helper
    thread is told to stop and joined: no heartbeat is recorded after the block, and no thread
    outlives it. Joining waits at most for a heartbeat already handed to the SDK (bounded by the
    SDK's 10 s). The helper also stops once the activity is cancelled: the SDK raises the
    cancellation into the activity thread at any instruction, even before the block's exit could
    stop the helper. A heartbeat that fails is logged and the next one tried: it never changes
    what the block returns or raises.

    Raises:
        RuntimeError: Outside an activity (nothing to heartbeat).
        ValueError: For an interval that is not positive.
    """
    if interval <= timedelta():
        raise ValueError(f"heartbeat interval must be positive, not {interval}")
    if not activity.in_activity():
        raise RuntimeError("heartbeating() runs only inside an activity")
    stop = threading.Event()
    context = contextvars.copy_context()
    helper = threading.Thread(
        target=context.run,
        args=(_beat, stop, interval.total_seconds()),
        name=f"heartbeat-{activity.info().activity_id}",
        # Belt and braces: the thread is always joined below; daemon only so that a stuck SDK
        # call could never hold up interpreter exit.
        daemon=True,
    )
    helper.start()
    try:
        yield
    finally:
        stop.set()
        helper.join()


def _beat(stop: threading.Event, seconds: float) -> None:
    """The helper thread's loop (runs in the activity's copied context)."""
    while not stop.wait(seconds) and not activity.is_cancelled():
        try:
            activity.heartbeat()
        except Exception as exc:
            # Best effort: a missed heartbeat costs at worst a retry, which the send step's
            # unfinished-row rule makes safe; failing or stopping the activity would not be.
            activity.logger.warning(
                "heartbeat not recorded", extra={"error": type(exc).__name__, "reason": str(exc)}
            )


__all__ = ["heartbeating"]
