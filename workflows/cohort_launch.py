"""`cohort_launch`: the durable launch of a cohort. It pages through the cohort's pending members,
has an activity enroll (or skip, with the reason) each batch, keeps to a rate, continues as new
before its history grows large, and can be paused, resumed and cancelled. A cohort with an A/B
test then looks, now and then, whether its winner is due, until it is called. A crash or restart
resumes where it was: members are marked in the database, and an enrollment's workflow id is
unique per contact and sequence, so no contact is enrolled twice."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.ab_test import AbDecision
    from models.cohort import (
        CohortLaunchInput,
        CohortLaunchProgress,
        CohortLaunchResult,
        LaunchBatchInput,
        LaunchBatchResult,
    )
    from models.wire import (
        CANCEL_SIGNAL,
        COHORT_LAUNCH_WORKFLOW,
        DECIDE_AB_ACTIVITY,
        FINISH_LAUNCH_ACTIVITY,
        LAUNCH_BATCH_ACTIVITY,
        LAUNCH_PROGRESS_QUERY,
        PAUSE_SIGNAL,
        RESUME_SIGNAL,
    )

#: Batches per run before continue-as-new (each batch adds a handful of history events).
BATCHES_PER_RUN = 200
BATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


@workflow.defn(name=COHORT_LAUNCH_WORKFLOW)
class CohortLaunch:
    def __init__(self) -> None:
        self._paused = False
        self._cancelled = False
        self._enrolled = 0
        self._skipped = 0
        self._done = False
        self._cohort_id = ""
        self._ab_winner: str | None = None

    @workflow.run
    async def run(self, input: CohortLaunchInput) -> CohortLaunchResult:
        self._cohort_id = input.cohort_id
        self._enrolled, self._skipped = input.enrolled, input.skipped
        for _ in range(BATCHES_PER_RUN):
            await workflow.wait_condition(lambda: not self._paused or self._cancelled)
            if self._cancelled:
                break
            batch_began = workflow.now()
            batch: LaunchBatchResult = await workflow.execute_activity(
                LAUNCH_BATCH_ACTIVITY,
                LaunchBatchInput(
                    cohort_id=input.cohort_id,
                    sequence=input.sequence,
                    sender_id=input.sender_id,
                    params=input.params,
                    send_windows=input.send_windows,
                    limit=input.batch_size,
                ),
                result_type=LaunchBatchResult,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=BATCH_RETRY,
            )
            self._enrolled += batch.enrolled
            self._skipped += batch.skipped
            if batch.processed == 0:
                break
            # The rate bound: this batch's share of a second at `per_second`.
            share = timedelta(seconds=batch.processed / input.per_second)
            if workflow.patched("rate-from-batch-start"):
                # Counted from the batch's start, so the time the batch took is part of its
                # share; and no timer once it is used up (a timer waits for the server's timer
                # tick, about a second, however short it is). Older histories sleep the share.
                pause = batch_began + share - workflow.now()
                if pause > timedelta():
                    await workflow.sleep(pause)
            else:
                await workflow.sleep(share)
            if workflow.info().is_continue_as_new_suggested():
                self._continue(input)
        else:
            self._continue(input)
        await workflow.execute_activity(
            FINISH_LAUNCH_ACTIVITY,
            input.cohort_id,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=BATCH_RETRY,
        )
        self._done = True
        if input.decide_ab:
            await self._decide_ab(input)
        return CohortLaunchResult(
            cohort_id=input.cohort_id,
            enrolled=self._enrolled,
            skipped=self._skipped,
            cancelled=self._cancelled,
            ab_winner=self._ab_winner,
        )

    async def _decide_ab(self, input: CohortLaunchInput) -> None:
        """Until the winner is called (or the cohort cancelled): ask, then wait as told."""
        while not self._cancelled:
            decision: AbDecision = await workflow.execute_activity(
                DECIDE_AB_ACTIVITY,
                input.cohort_id,
                result_type=AbDecision,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=BATCH_RETRY,
            )
            if decision.decided:
                self._ab_winner = decision.winner
                return
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._cancelled,
                    timeout=timedelta(seconds=decision.recheck_after_seconds),
                    timeout_summary="A/B winner not due yet",
                )
            if workflow.info().is_continue_as_new_suggested():
                self._continue(input)

    def _continue(self, input: CohortLaunchInput) -> None:
        workflow.continue_as_new(
            input.model_copy(update={"enrolled": self._enrolled, "skipped": self._skipped})
        )

    @workflow.signal(name=PAUSE_SIGNAL)
    def pause(self) -> None:
        self._paused = True

    @workflow.signal(name=RESUME_SIGNAL)
    def resume(self) -> None:
        self._paused = False

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel(self, reason: str | None = None) -> None:
        self._cancelled = True

    @workflow.query(name=LAUNCH_PROGRESS_QUERY)
    def progress(self) -> CohortLaunchProgress:
        return CohortLaunchProgress(
            cohort_id=self._cohort_id,
            enrolled=self._enrolled,
            skipped=self._skipped,
            paused=self._paused,
            cancelled=self._cancelled,
            done=self._done,
        )


__all__ = ["BATCHES_PER_RUN", "CohortLaunch"]
