"""The `cohort_launch` workflow on the time-skipping server with fake batch activities: the rate
bound counts from each batch's start (no timer once a batch's share of time is used up — a short
timer still waits for the server's timer tick), pause and resume, and a history recorded before
that change still replays.

Record the stored launch history again (only when its old shape no longer matters):

    .venv/bin/python -m tests.workflows.test_cohort_launch
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from models.cohort import CohortLaunchInput, CohortLaunchResult, LaunchBatchInput, LaunchBatchResult
from models.wire import COHORT_LAUNCH_WORKFLOW, FINISH_LAUNCH_ACTIVITY, LAUNCH_BATCH_ACTIVITY
from tests.workflows.scenarios import HISTORIES_DIR, start_env
from workflows.cohort_launch import CohortLaunch

LAUNCH_HISTORIES = HISTORIES_DIR / "launch"
RATE_BOUND_HISTORY = LAUNCH_HISTORIES / "cohort_launch-rate_bound.json"


class FakeBatches:
    """`launch_batch` processing `batches` full batches, then none; `finish_cohort_launch`."""

    def __init__(self, batches: int, *, seconds: float = 0.0) -> None:
        self.left = batches
        self.seconds = seconds
        self.finished: list[str] = []

    @activity.defn(name=LAUNCH_BATCH_ACTIVITY)
    async def launch_batch(self, input: LaunchBatchInput) -> LaunchBatchResult:
        if self.left == 0:
            return LaunchBatchResult(processed=0, enrolled=0, skipped=0)
        self.left -= 1
        if self.seconds:
            await asyncio.sleep(self.seconds)  # real time: the server does not skip it
        return LaunchBatchResult(processed=input.limit, enrolled=input.limit - 1, skipped=1)

    @activity.defn(name=FINISH_LAUNCH_ACTIVITY)
    async def finish(self, cohort_id: str) -> None:
        self.finished.append(cohort_id)

    @property
    def activities(self) -> list:
        return [self.launch_batch, self.finish]


def launch_input(*, per_second: float, batch_size: int) -> CohortLaunchInput:
    return CohortLaunchInput(
        cohort_id=f"cohort-{uuid.uuid4().hex[:6]}",
        sequence="trade_intro",
        sender_id="default",
        per_second=per_second,
        batch_size=batch_size,
    )


async def run_launch(
    env: WorkflowEnvironment, fake: FakeBatches, input: CohortLaunchInput
) -> tuple[CohortLaunchResult, WorkflowHistory]:
    task_queue = f"launch-{uuid.uuid4()}"
    async with Worker(
        env.client, task_queue=task_queue, workflows=[CohortLaunch], activities=fake.activities
    ):
        handle = await env.client.start_workflow(
            COHORT_LAUNCH_WORKFLOW,
            input,
            id=f"launch/{input.cohort_id}",
            task_queue=task_queue,
            result_type=CohortLaunchResult,
        )
        result = await handle.result()
        return result, await handle.fetch_history()


def timers(history: WorkflowHistory) -> list[timedelta]:
    return [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in history.events
        if e.HasField("timer_started_event_attributes")
    ]


async def test_a_fast_launch_starts_no_timer(env: WorkflowEnvironment) -> None:
    fake = FakeBatches(5)
    input = launch_input(per_second=100_000, batch_size=100)
    result, history = await run_launch(env, fake, input)

    assert (result.enrolled, result.skipped) == (495, 5)
    assert fake.finished == [input.cohort_id]
    # Each batch's share (1 ms) was used up by the batch itself: no timer at all.
    assert timers(history) == []


async def test_the_rate_bound_counts_from_each_batch_start(env: WorkflowEnvironment) -> None:
    # 10 enrollments per second, batches of 20: each batch is due 2 s after the last one began.
    # The batch itself takes a real half second, which counts towards its share.
    fake = FakeBatches(3, seconds=0.5)
    result, history = await run_launch(env, fake, launch_input(per_second=10, batch_size=20))

    assert result.enrolled == 57
    waits = timers(history)
    assert len(waits) == 3
    for wait in waits:
        assert timedelta(seconds=1) <= wait < timedelta(seconds=2), waits


async def test_a_history_from_before_the_change_replays() -> None:
    history = WorkflowHistory.from_json("replay/launch", RATE_BOUND_HISTORY.read_text())
    replayer = Replayer(workflows=[CohortLaunch], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None
    assert timers(history), "the stored history should hold the old per-batch timers"


@pytest.mark.parametrize("batches", [2])
async def test_a_fresh_history_replays(env: WorkflowEnvironment, batches: int) -> None:
    _, history = await run_launch(
        env, FakeBatches(batches, seconds=0.2), launch_input(per_second=10, batch_size=5)
    )
    replayer = Replayer(workflows=[CohortLaunch], data_converter=pydantic_data_converter)
    assert (await replayer.replay_workflow(history)).replay_failure is None


async def record() -> Path:
    """Store the rate-bound launch's history (3 batches of 5 at 10/s)."""
    env = await start_env()
    try:
        _, history = await run_launch(
            env, FakeBatches(3), launch_input(per_second=10, batch_size=5)
        )
    finally:
        await env.shutdown()
    LAUNCH_HISTORIES.mkdir(parents=True, exist_ok=True)
    RATE_BOUND_HISTORY.write_text(history.to_json() + "\n")
    return RATE_BOUND_HISTORY


if __name__ == "__main__":
    print(f"recorded {asyncio.run(record())}")
