"""Runs a bench worker process's Temporal worker, configured as nurture's (`worker.build_worker`:
the activity threads bound concurrent activities, the rest default), until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from worker import ACTIVITY_THREADS


async def serve(
    client: Client,
    task_queue: str,
    workflows: Sequence[type],
    activities: Sequence[Callable[..., Any]],
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=workflows,
            activities=activities,
            activity_executor=executor,
            max_concurrent_activities=ACTIVITY_THREADS,
        ):
            await stop.wait()


__all__ = ["serve"]
