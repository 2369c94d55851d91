"""The raw baseline's workflows: Temporal alone, with the shape of what the engine runs and
no-op activities (deterministic code only; the worker is `bench.raw_worker`).

`bench_raw_sequence` has the history of one `trade_intro` enrollment on the bench's path
(intro → open → click → offer): 3 activities (send intro, send offer, finish), 2 timers (the
open window and the wait for a click until the case study is due, both cut short by a signal),
2 signals as the forwarder sends them — one pass's events for a workflow in one signal: the
intro's processed, delivered, open and click together, then the offer's processed and delivered
(which, as the engine's, mostly find the workflow closed).

`bench_raw_launched` has what a launched `trade_intro` enrollment does before it waits behind its
paused sender (see `RawLaunched`): started with 3 search attributes, 2 search-attribute upserts,
one activity that fails non-retryably (the refused send), then a 30-minute timer.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.search_attributes import STATUS, STEP

RAW_SEQUENCE = "bench_raw_sequence"
RAW_LAUNCHED = "bench_raw_launched"
NOOP_ACTIVITY = "bench_noop"
#: The no-op activity's step that fails as a paused sender's send does (non-retryable).
REFUSED_STEP = "refused"
RAW_EVENTS_SIGNAL = "engagement_events"
#: The events one sequence is signalled, in the order the simulator posts them: the intro's in
#: one signal, the offer's in another (one webhook batch each).
RAW_INTRO_EVENTS = ("processed", "delivered", "open", "click")
RAW_OFFER_EVENTS = ("processed", "delivered")

_ACTIVITY_TIMEOUT = timedelta(minutes=1)


@workflow.defn(name=RAW_SEQUENCE)
class RawSequence:
    def __init__(self) -> None:
        self._events: list[str] = []

    @workflow.signal(name=RAW_EVENTS_SIGNAL)
    def on_events(self, kinds: list[str]) -> None:
        self._events.extend(kinds)

    @workflow.run
    async def run(self, window_seconds: float, upserts: bool = False) -> list[str]:
        """With `upserts`, also the search-attribute upserts of a `trade_intro` enrollment on
        this path, at the same points (a detail that prices them; the baseline has none)."""
        window = timedelta(seconds=window_seconds)
        if upserts:
            workflow.upsert_search_attributes(
                [STEP.value_set("intro"), STATUS.value_set("sending")]
            )
        sent = [await self._send("intro")]
        if upserts:
            workflow.upsert_search_attributes([STATUS.value_set("waiting")])
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: "open" in self._events or "click" in self._events, timeout=window
            )
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: "click" in self._events, timeout=window)
        if upserts:
            workflow.upsert_search_attributes(
                [STEP.value_set("offer"), STATUS.value_set("sending")]
            )
        sent.append(await self._send("offer"))
        if upserts:
            workflow.upsert_search_attributes([STATUS.value_set("ended")])
        await self._send("finish")
        return sent

    async def _send(self, step: str) -> str:
        result: str = await workflow.execute_activity(
            NOOP_ACTIVITY, step, start_to_close_timeout=_ACTIVITY_TIMEOUT
        )
        return result


@workflow.defn(name=RAW_LAUNCHED)
class RawLaunched:
    """A launched `trade_intro` enrollment whose sender is paused, up to its wait, event for event:

    - started with `NurtureSequence`, `NurtureStatus` and `NurtureCohort` (as `EnrollmentService`
      starts an enrollment);
    - first workflow task: `Sequence.enroll` has nothing to upsert (the starter set it all), then
      `send("intro")` upserts step and status — 1 upsert — and schedules the send;
    - the send fails non-retryably (`SenderPaused`: one attempt);
    - second workflow task: `_wait_out_deferral` upserts status `sender_paused` and starts its
      30-minute timer (`SENDER_PAUSED_RECHECK`).
    """

    @workflow.run
    async def run(self, cohort: str, wait_seconds: float) -> None:
        workflow.upsert_search_attributes([STEP.value_set("intro"), STATUS.value_set("sending")])
        with contextlib.suppress(ActivityError):
            await workflow.execute_activity(
                NOOP_ACTIVITY,
                REFUSED_STEP,
                start_to_close_timeout=_ACTIVITY_TIMEOUT,
                retry_policy=RetryPolicy(non_retryable_error_types=["SenderPaused"]),
            )
        workflow.upsert_search_attributes([STATUS.value_set("sender_paused")])
        await workflow.sleep(timedelta(seconds=wait_seconds))


__all__ = [
    "NOOP_ACTIVITY",
    "RAW_EVENTS_SIGNAL",
    "RAW_INTRO_EVENTS",
    "RAW_LAUNCHED",
    "RAW_OFFER_EVENTS",
    "RAW_SEQUENCE",
    "REFUSED_STEP",
    "RawLaunched",
    "RawSequence",
]
