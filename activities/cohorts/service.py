"""Cohorts for ops: start one (members chosen by segment or list, content lint first, an optional
holdout share and A/B test, a durable `cohort_launch` workflow enrolls them), pause, resume or
cancel it (through the outbox, so every enrollment gets the signal even across outages), and
the launch's claim of its next batch of members."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session, col, func, select
from temporalio.client import Client
from temporalio.service import RPCError

from activities.cohorts.ab_testing import (
    assign_members,
    record_test,
    resolve_variants,
)
from activities.cohorts.funnel import CohortFunnel, cohort_funnel
from activities.deliverability.content_lint import LintReport, lint_before_start
from activities.enrollment.control import ACTIONS, ControlAction, queue_control
from activities.enrollment.enrolling import validate_params
from models.ab_test import AbTestSpec
from models.cohort import CohortLaunchInput, cohort_launch_workflow_id
from models.db import session_scope
from models.errors import CohortCancelled, CohortNotFound, ContentLintFailed, InvalidInput
from models.tables import (
    Cohort,
    CohortMember,
    CohortStatus,
    Contact,
    Enrollment,
    EventSignal,
    MemberStatus,
    Sender,
)
from models.wire import COHORT_LAUNCH_WORKFLOW

#: Contact columns a segment may filter on; any other key is looked up in `custom`.
SEGMENT_COLUMNS = ("country", "language", "time_zone", "company")


def parse_segment(text: str) -> dict[str, str]:
    """`country=DE industry=machinery` → {"country": "DE", "industry": "machinery"}."""
    segment: dict[str, str] = {}
    for part in text.split():
        key, sep, value = part.partition("=")
        if not sep or not key or not value or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise InvalidInput("segment", f"{part!r} is not key=value (e.g. country=DE)")
        segment[key] = value
    if not segment:
        raise InvalidInput("segment", "empty segment")
    return segment


def segment_filter(segment: dict[str, str]) -> list[Any]:
    conditions: list[Any] = []
    for key, value in segment.items():
        if key in SEGMENT_COLUMNS:
            column = getattr(Contact, key)
            conditions.append(func.lower(column) == value.lower())
        else:
            conditions.append(col(Contact.custom)[key].as_string() == value)
    return conditions


#: At most this share of a cohort may be held out.
MAX_HOLDOUT = 0.5
#: The most enrollments a second ops may ask a launch for (the CLI's and the API's bound; the
#: service itself takes any positive rate, so a benchmark can set one that never limits).
MAX_PER_SECOND = 1000.0
#: A cohort's name is for ops to recognise, not an essay.
MAX_NAME = 200


@dataclass(frozen=True)
class CohortStarted:
    cohort_id: str
    members: int
    lint: LintReport
    holdout: int = 0
    ab_variants: tuple[str, ...] = ()


class CohortService:
    """What the CLI and `/api/cohorts` call."""

    def __init__(
        self, engine: sa.Engine, client: Client, task_queue: str, templates_dir: Path
    ) -> None:
        self._engine = engine
        self._client = client
        self._task_queue = task_queue
        self._templates_dir = templates_dir

    async def start(
        self,
        *,
        name: str,
        sequence: str,
        sender_id: str = "default",
        segment: dict[str, str] | None = None,
        contact_ids: list[UUID] | None = None,
        params: dict[str, Any] | None = None,
        send_windows: bool = True,
        per_second: float = 50.0,
        batch_size: int = 100,
        holdout: float = 0.0,
        ab_test: AbTestSpec | None = None,
    ) -> CohortStarted:
        """Lint, record the cohort and its members, start the durable launch.

        `holdout`: the share of members never mailed (the baseline for lift). `ab_test`: a step
        whose variants a sample gets first; the rest get the winner once it is called.
        """
        validate_params(sequence, params or {})
        if not name.strip() or len(name) > MAX_NAME:
            raise InvalidInput("name", f"a name of 1 to {MAX_NAME} characters")
        if not per_second > 0:
            raise InvalidInput("per_second", f"enrollments per second above 0, not {per_second:g}")
        if (segment is None) == (contact_ids is None):
            raise InvalidInput("contacts", "give either a segment or a list of contacts")
        if not 0.0 <= holdout <= MAX_HOLDOUT:
            raise InvalidInput("holdout", f"a share between 0 and {MAX_HOLDOUT}, not {holdout}")
        from workflows.registry import templates_dir_of  # workflow classes only, no I/O

        templates_dir = templates_dir_of(sequence, self._templates_dir)  # its own, if outside
        variants = resolve_variants(ab_test, sequence, templates_dir) if ab_test else None
        report = lint_before_start(sequence, templates_dir)
        if not report.ok:
            raise ContentLintFailed(report.errors)
        cohort_id = f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')[:60] or 'cohort'}-{uuid.uuid4().hex[:6]}"
        cohort = Cohort(
            id=cohort_id,
            name=name,
            sequence=sequence,
            sender_id=sender_id,
            params=params or {},
            segment=segment,
            holdout=holdout,
        )
        members, held = await asyncio.to_thread(
            self._record, cohort, contact_ids, ab_test, variants
        )
        await self._client.start_workflow(
            COHORT_LAUNCH_WORKFLOW,
            CohortLaunchInput(
                cohort_id=cohort_id,
                sequence=sequence,
                sender_id=sender_id,
                params=params or {},
                send_windows=send_windows,
                per_second=per_second,
                batch_size=batch_size,
                decide_ab=ab_test is not None,
            ),
            id=cohort_launch_workflow_id(cohort_id),
            task_queue=self._task_queue,
        )
        return CohortStarted(cohort_id, members, report, held, tuple(variants or ()))

    def _record(
        self,
        cohort: Cohort,
        contact_ids: list[UUID] | None,
        ab_test: AbTestSpec | None,
        variants: list[str] | None,
    ) -> tuple[int, int]:
        """The cohort, its A/B test and its members, each held out or pending with its variant;
        (members, held out)."""
        segment = cohort.segment
        with session_scope(self._engine) as session:
            if session.get(Sender, cohort.sender_id) is None:
                raise InvalidInput("sender_id", f"no sender {cohort.sender_id!r}")
            session.add(cohort)
            session.flush()  # the test and the members refer to it
            if ab_test is not None and variants is not None:
                record_test(session, cohort.id, ab_test, variants)
            session.flush()
            if segment is not None:
                ids = list(session.exec(select(Contact.id).where(*segment_filter(segment))).all())
            else:
                assert contact_ids is not None
                ids = list(dict.fromkeys(contact_ids))
                known = set(session.exec(select(Contact.id).where(col(Contact.id).in_(ids))).all())
                unknown = [str(i) for i in ids if i not in known]
                if unknown:
                    raise InvalidInput("contact_ids", f"unknown contacts: {', '.join(unknown[:5])}")
            if not ids:
                raise InvalidInput("contacts", "the cohort would be empty")
            assigned = assign_members(
                cohort.id,
                ids,
                holdout=cohort.holdout,
                variants=variants,
                sample_per_variant=ab_test.sample_per_variant if ab_test else 0,
            )
            session.execute(
                sa.insert(CohortMember),
                [
                    {"cohort_id": cohort.id, "contact_id": i, "status": status, "variant": variant}
                    for i, (status, variant) in assigned.items()
                ],
            )
        held = sum(1 for status, _ in assigned.values() if status == MemberStatus.HOLDOUT)
        return len(ids), held

    async def control(self, cohort_id: str, action: str, reason: str | None = None) -> Cohort:
        """pause / resume / cancel the launch and every enrollment of the cohort.

        `CohortNotFound` for an unknown cohort; `CohortCancelled` for a cancelled one."""
        action = ControlAction(action).value  # the launch's signal names are the actions'
        cohort = await asyncio.to_thread(self._queue_signals, cohort_id, action, reason)
        handle = self._client.get_workflow_handle(cohort_launch_workflow_id(cohort_id))
        try:
            if action == ControlAction.CANCEL:
                await handle.signal(action, reason)
            else:
                await handle.signal(action)
        except RPCError:
            pass  # the launch is over: the enrollments got their outbox rows, which is what counts
        return cohort

    def _queue_signals(self, cohort_id: str, action: str, reason: str | None) -> Cohort:
        signal = ACTIONS[ControlAction(action)]
        with session_scope(self._engine) as session:
            cohort = session.get(Cohort, cohort_id)
            if cohort is None:
                raise CohortNotFound(f"no cohort {cohort_id!r}")
            if cohort.status == CohortStatus.CANCELLED:
                raise CohortCancelled(f"cohort {cohort_id} is cancelled")
            cohort.status = {
                EventSignal.PAUSE: CohortStatus.PAUSED,
                EventSignal.RESUME: CohortStatus.RUNNING
                if cohort.launched_at
                else CohortStatus.LAUNCHING,
                EventSignal.CANCEL: CohortStatus.CANCELLED,
            }[signal]
            session.add(cohort)
            live = session.exec(
                select(Enrollment.workflow_id).where(
                    Enrollment.cohort_id == cohort_id, col(Enrollment.outcome).is_(None)
                )
            ).all()
            for workflow_id in live:
                queue_control(session, workflow_id, action, reason or f"cohort {action}")
            session.flush()
            return cohort


def list_cohorts(engine: sa.Engine) -> list[dict[str, Any]]:
    """Every cohort, newest first, as JSON-ready rows."""
    with session_scope(engine) as session:
        return [
            c.model_dump(mode="json")
            for c in session.exec(select(Cohort).order_by(col(Cohort.created_at).desc())).all()
        ]


def cohort_status(engine: sa.Engine, cohort_id: str) -> CohortFunnel:
    """The cohort's funnel per step and its outcomes (`nurture cohort status`,
    `GET /api/cohorts/{id}`); `CohortNotFound` if there is no such cohort."""
    with session_scope(engine) as session:
        funnel = cohort_funnel(session, cohort_id)
    if funnel is None:
        raise CohortNotFound(f"no cohort {cohort_id!r}")
    return funnel


def claim_batch(session: Session, cohort_id: str, limit: int) -> list[tuple[UUID, str | None]]:
    """The next pending members and their A/B sample variants: the sample first, so its sends
    (and the decision) come as early as they can."""
    return [
        (contact_id, variant)
        for contact_id, variant in session.exec(
            select(CohortMember.contact_id, CohortMember.variant)
            .where(CohortMember.cohort_id == cohort_id, CohortMember.status == MemberStatus.PENDING)
            .order_by(col(CohortMember.variant).is_(None), col(CohortMember.contact_id))
            .limit(limit)
        ).all()
    ]


__all__ = [
    "MAX_HOLDOUT",
    "MAX_NAME",
    "MAX_PER_SECOND",
    "CohortService",
    "CohortStarted",
    "cohort_status",
    "list_cohorts",
    "parse_segment",
]
