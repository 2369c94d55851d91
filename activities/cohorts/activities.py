"""The Temporal activities of a cohort launch: enroll a batch of members, mark the launch done,
and decide an A/B test's winner (then wake the enrollments waiting for it). Thin wrappers over
`CohortService`, `EnrollmentService` and `AbTestService`."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.cohorts.ab_testing import AbTestService
from activities.cohorts.service import claim_batch
from activities.enrollment.enrolling import EnrollmentService
from models.ab_test import AbAssignment, AbDecision
from models.cohort import LaunchBatchInput, LaunchBatchResult
from models.db import session_scope
from models.enrollment import EnrollmentInput
from models.errors import EnrollmentConflict, InvalidInput, SendBlocked
from models.tables import AbTest, Cohort, CohortMember, CohortStatus, MemberStatus, utcnow
from models.wire import (
    AB_DECIDED_SIGNAL,
    DECIDE_AB_ACTIVITY,
    FINISH_LAUNCH_ACTIVITY,
    LAUNCH_BATCH_ACTIVITY,
)


class AbTestActivities:
    """`decide_ab_winner`: decide if the time has come, then wake the enrollments waiting for it."""

    def __init__(self, engine: sa.Engine, *, concurrency: int = 20) -> None:
        self._service = AbTestService(engine)
        self._concurrency = concurrency

    @activity.defn(name=DECIDE_AB_ACTIVITY)
    async def decide_ab_winner(self, cohort_id: str) -> AbDecision:
        decision = await asyncio.to_thread(self._service.evaluate, cohort_id)
        if decision.decided and decision.winner is not None:
            # Retried until every waiting enrollment took the signal; they also look again
            # by themselves now and then, so a missed one is late, not lost.
            await self._announce(activity.client(), cohort_id)
        return decision

    async def _announce(self, client: Client, cohort_id: str) -> None:
        semaphore = asyncio.Semaphore(self._concurrency)

        async def one(workflow_id: str) -> None:
            async with semaphore:
                try:
                    await client.get_workflow_handle(workflow_id).signal(AB_DECIDED_SIGNAL)
                except RPCError as err:
                    if err.status != RPCStatusCode.NOT_FOUND:  # ended meanwhile: nothing to wake
                        raise
                activity.heartbeat()

        waiting = await asyncio.to_thread(self._service.waiting_for_winner, cohort_id)
        await asyncio.gather(*(one(w) for w in waiting))

    def all(self) -> list[Any]:
        return [self.decide_ab_winner]


class CohortActivities:
    """The launch's activities: enroll a batch of members, mark the launch done."""

    def __init__(self, engine: sa.Engine, task_queue: str, *, concurrency: int = 20) -> None:
        self._engine = engine
        self._task_queue = task_queue
        self._concurrency = concurrency
        self._ab = AbTestActivities(engine, concurrency=concurrency)

    @activity.defn(name=LAUNCH_BATCH_ACTIVITY)
    async def launch_batch(self, input: LaunchBatchInput) -> LaunchBatchResult:
        # The DB is synchronous: off the event loop, as every blocking call here.
        batch, tested_step = await asyncio.to_thread(self._claim, input)
        service = EnrollmentService(self._engine, activity.client(), self._task_queue)
        enrolled_or_refused = await service.enroll_many(
            input.sequence,
            [
                (c, AbAssignment(step=tested_step, variant=v) if tested_step else None)
                for c, v in batch
            ],
            cohort_id=input.cohort_id,
            sender_id=input.sender_id,
            params=input.params,
            send_windows=input.send_windows,
            concurrency=self._concurrency,
        )
        semaphore = asyncio.Semaphore(self._concurrency)
        outcomes: dict[UUID, tuple[MemberStatus, str | None, str | None]] = {}

        async def one(contact_id: UUID, result: str | Exception) -> None:
            async with semaphore:
                outcomes[contact_id] = await self._enroll_one(input, contact_id, result)

        await asyncio.gather(*(one(c, r) for c, r in enrolled_or_refused.items()))
        contact_ids = [c for c, _ in batch]
        if outcomes:
            await asyncio.to_thread(self._record_outcomes, input.cohort_id, outcomes)
        enrolled = sum(1 for s, _, _ in outcomes.values() if s == MemberStatus.ENROLLED)
        return LaunchBatchResult(
            processed=len(contact_ids), enrolled=enrolled, skipped=len(contact_ids) - enrolled
        )

    def _claim(self, input: LaunchBatchInput) -> tuple[list[tuple[UUID, str | None]], str | None]:
        """The next members to enroll, and the A/B-tested step if the cohort has one."""
        with session_scope(self._engine) as session:
            batch = claim_batch(session, input.cohort_id, input.limit)
            test = session.get(AbTest, input.cohort_id)
            return batch, (test.step if test is not None else None)

    def _record_outcomes(
        self, cohort_id: str, outcomes: dict[UUID, tuple[MemberStatus, str | None, str | None]]
    ) -> None:
        """Each member's status, skip reason and workflow id, in one statement."""
        members = CohortMember.__table__  # type: ignore[attr-defined]
        with session_scope(self._engine) as session:
            session.execute(
                sa.update(members)
                .where(
                    members.c.cohort_id == cohort_id,
                    members.c.contact_id == sa.bindparam("member"),
                )
                .values(
                    status=sa.bindparam("new_status"),
                    reason=sa.bindparam("new_reason"),
                    workflow_id=sa.bindparam("new_workflow_id"),
                ),
                [
                    {
                        "member": contact_id,
                        "new_status": status,
                        "new_reason": reason,
                        "new_workflow_id": workflow_id,
                    }
                    for contact_id, (status, reason, workflow_id) in outcomes.items()
                ],
            )

    async def _enroll_one(
        self, input: LaunchBatchInput, contact_id: UUID, result: str | Exception
    ) -> tuple[MemberStatus, str | None, str | None]:
        """A member's status, skip reason and workflow id from what enrolling it gave."""
        if isinstance(result, str):
            return MemberStatus.ENROLLED, None, result
        if isinstance(result, SendBlocked):
            return MemberStatus.SKIPPED, f"{type(result).__name__}: {result}", None
        if isinstance(result, InvalidInput):
            return MemberStatus.SKIPPED, str(result), None
        if isinstance(result, EnrollmentConflict):
            # A retry after a crash finds its own enrollment: that is this cohort's, not a conflict.
            from models import search_attributes as keys
            from models.enrollment import enrollment_workflow_id

            workflow_id = enrollment_workflow_id(input.sequence, contact_id)
            description = await activity.client().get_workflow_handle(workflow_id).describe()
            if description.typed_search_attributes.get(keys.COHORT) == input.cohort_id:
                # The crash may have come before its SQL row was written.
                service = EnrollmentService(self._engine, activity.client(), self._task_queue)
                mirrored = EnrollmentInput(
                    contact_id=contact_id, sender_id=input.sender_id, cohort_id=input.cohort_id
                )
                await asyncio.to_thread(
                    service.mirror_if_missing, input.sequence, workflow_id, mirrored
                )
                return MemberStatus.ENROLLED, None, workflow_id
            return MemberStatus.SKIPPED, f"already enrolled in {input.sequence} ({result})", None
        raise result

    @activity.defn(name=FINISH_LAUNCH_ACTIVITY)
    def finish_cohort_launch(self, cohort_id: str) -> None:
        with session_scope(self._engine) as session:
            cohort = session.get(Cohort, cohort_id)
            if cohort is not None and cohort.launched_at is None:
                cohort.launched_at = utcnow()
                if cohort.status == CohortStatus.LAUNCHING:
                    cohort.status = CohortStatus.RUNNING
                session.add(cohort)

    def all(self) -> list[Any]:
        return [self.launch_batch, self.finish_cohort_launch, *self._ab.all()]


__all__ = ["AbTestActivities", "CohortActivities"]
