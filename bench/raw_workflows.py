"""The raw baseline's workflows: Temporal alone, with the shape of what the engine runs and
no-op activities (deterministic code only; the worker is `bench.raw_worker`).

`bench_raw_sequence` has the history of one `trade_intro` enrollment on the bench's path
(intro → open → click → offer): 3 activities (send intro, send offer, finish), 2 timers (the
open window and the wait for a click until the case study is due, both cut short by a signal),
4 signals (the intro's processed, delivered, open and click events).

`bench_raw_waiting` has the shape of a launched enrollment whose sender is paused: one
activity, then a long timer.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

RAW_SEQUENCE = "bench_raw_sequence"
RAW_WAITING = "bench_raw_waiting"
NOOP_ACTIVITY = "bench_noop"
RAW_EVENT_SIGNAL = "engagement_event"
#: The signals one sequence receives, in the order the simulator posts them.
RAW_SIGNALS = ("processed", "delivered", "open", "click")

_ACTIVITY_TIMEOUT = timedelta(minutes=1)


@workflow.defn(name=RAW_SEQUENCE)
class RawSequence:
    def __init__(self) -> None:
        self._events: list[str] = []

    @workflow.signal(name=RAW_EVENT_SIGNAL)
    def on_event(self, kind: str) -> None:
        self._events.append(kind)

    @workflow.run
    async def run(self, window_seconds: float) -> list[str]:
        window = timedelta(seconds=window_seconds)
        sent = [await self._send("intro")]
        try:
            await workflow.wait_condition(
                lambda: "open" in self._events or "click" in self._events, timeout=window
            )
        except TimeoutError:
            pass
        try:
            await workflow.wait_condition(lambda: "click" in self._events, timeout=window)
        except TimeoutError:
            pass
        sent.append(await self._send("offer"))
        await self._send("finish")
        return sent

    async def _send(self, step: str) -> str:
        result: str = await workflow.execute_activity(
            NOOP_ACTIVITY, step, start_to_close_timeout=_ACTIVITY_TIMEOUT
        )
        return result


@workflow.defn(name=RAW_WAITING)
class RawWaiting:
    @workflow.run
    async def run(self, wait_seconds: float) -> None:
        await workflow.execute_activity(
            NOOP_ACTIVITY, "send", start_to_close_timeout=_ACTIVITY_TIMEOUT
        )
        await workflow.sleep(timedelta(seconds=wait_seconds))


__all__ = [
    "NOOP_ACTIVITY",
    "RAW_EVENT_SIGNAL",
    "RAW_SEQUENCE",
    "RAW_SIGNALS",
    "RAW_WAITING",
    "RawSequence",
    "RawWaiting",
]
