"""The raw baseline's worker, a process of its own like nurture's: the `bench.raw_workflows`
workflows and a no-op activity, with nurture's worker settings (activity threads, cache size).

The raw sequence's signals must arrive as the engine's do — after the intro is sent, while the
workflow waits — or its timers would never be started. So once a no-op send returns, this
process plays the ESP and the forwarder: after `--signal-delay` (the simulator's batching
interval) it signals the workflow that mail's events in one signal — those of the kinds the
forwarder signals (`models.events.SIGNALLED_KINDS`) among the ESP's: of the intro's processed,
delivered, open and click, the open and the click; the offer's processed and delivered, and on
the longest path every mail's, reach no workflow. A closed workflow's NOT_FOUND is ignored, as
the forwarder keeps the events as late; at most 64 workflows at once (the forwarder's
concurrency).

    python -m bench.raw_worker --address 127.0.0.1:7233 --task-queue bench-raw
"""

from __future__ import annotations

import argparse
import asyncio

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from bench.raw_workflows import (
    LONGEST_STEPS,
    NOOP_ACTIVITY,
    RAW_DELIVERED_EVENTS,
    RAW_EVENTS_SIGNAL,
    RAW_INTRO_EVENTS,
    RAW_LONGEST,
    RAW_OFFER_EVENTS,
    RAW_SEQUENCE,
    REFUSED_STEP,
    RawLaunched,
    RawLive,
    RawLongest,
    RawSequence,
)
from bench.serving import serve
from models.events import SIGNALLED_KINDS
from models.settings import Settings
from models.temporal_client import connect

#: As `activities.events.forwarder.EventForwarder`'s default.
SIGNAL_CONCURRENCY = 64
#: Per workflow type, the events the ESP posts for each sent step's mail.
ESP_EVENTS: dict[str, dict[str, tuple[str, ...]]] = {
    RAW_SEQUENCE: {"intro": RAW_INTRO_EVENTS, "offer": RAW_OFFER_EVENTS},
    RAW_LONGEST: dict.fromkeys(LONGEST_STEPS, RAW_DELIVERED_EVENTS),
}


class RawActivities:
    def __init__(self, client: Client, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        self._client = client
        self._loop = loop
        self._delay = delay
        self._semaphore = asyncio.Semaphore(SIGNAL_CONCURRENCY)

    @activity.defn(name=NOOP_ACTIVITY)
    def noop(self, step: str) -> str:
        if step == REFUSED_STEP:
            # As the send step refuses a paused sender's send (`SenderPaused`, permanent).
            raise ApplicationError("sender paused", type="SenderPaused", non_retryable=True)
        info = activity.info()
        posted = ESP_EVENTS.get(info.workflow_type or "", {}).get(step, ())
        events = tuple(kind for kind in posted if kind in SIGNALLED_KINDS)
        if events and info.workflow_id:
            asyncio.run_coroutine_threadsafe(self._events(info.workflow_id, events), self._loop)
        return step

    async def _events(self, workflow_id: str, events: tuple[str, ...]) -> None:
        await asyncio.sleep(self._delay)
        handle = self._client.get_workflow_handle(workflow_id)
        async with self._semaphore:
            try:
                await handle.signal(RAW_EVENTS_SIGNAL, list(events))
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise


async def run(address: str, task_queue: str, signal_delay: float) -> None:
    client = await connect(Settings(temporal_address=address))
    activities = RawActivities(client, asyncio.get_running_loop(), signal_delay)
    await serve(
        client, task_queue, [RawSequence, RawLaunched, RawLongest, RawLive], [activities.noop]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--signal-delay", type=float, default=0.5)
    args = parser.parse_args()
    asyncio.run(run(args.address, args.task_queue, args.signal_delay))


if __name__ == "__main__":
    main()
