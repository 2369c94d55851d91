"""Runs the enrollments business events trigger (a sequence's `triggers`): the rows of
`trigger_enrollment` queued in each event's commit are claimed under a lease (safe with several
API replicas), enrolled through `EnrollmentService.enroll` and recorded `enrolled` or `refused`
with the reason — once per event id, even when the process died between the workflow's start
and the row's update (the start carries the event id as a memo, and a retry recognises its own
start). Temporal unreachable leaves the row pending, retried after a growing pause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select
from temporalio.client import Client

from activities.deliverability.senders import TemporalConnector
from activities.enrollment.enrolling import EnrollmentService, started_with_memo
from models.business_events import Trigger
from models.db import session_scope
from models.enrollment import EnrollmentInput, TriggerRef, enrollment_workflow_id
from models.errors import EnrollmentConflict, InvalidInput, NotFound, SendBlocked
from models.tables import BusinessEvent, TriggerEnrollment, TriggerStatus, utcnow

log = structlog.stdlib.get_logger(__name__)

#: The memo key a triggered start carries: the stored event's id (how a retry knows its start).
MEMO_KEY = "nurture_trigger_event"
#: How long a claimed row is left to its claimant before another runner may take it.
LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 300.0
#: An event that happened longer than this before nurture received it (a backfill) is stored
#: and forwarded but enrolls nobody: a buyer is not followed up on last quarter's request.
MAX_TRIGGER_AGE = timedelta(hours=72)
#: How often the background loop looks for rows left pending (a restart, Temporal down).
POLL_SECONDS = 5.0
_REASON_MAX = 300


@dataclass(frozen=True)
class TriggeredSequence:
    """A sequence an event name enrolls in, with its trigger (delay, params, cohort tag)."""

    sequence: str
    trigger: Trigger


#: Which sequences an event name triggers (production: `registered_triggers`).
TriggerLookup = Callable[[str], list[TriggeredSequence]]


def registered_triggers(name: str) -> list[TriggeredSequence]:
    """The registered sequences (`workflows.registry`) whose `triggers` name `name`: one entry
    per sequence, its first trigger of that name."""
    from workflows.registry import sequences  # workflow classes only, no I/O

    found: dict[str, TriggeredSequence] = {}
    for cls in sequences():
        for trigger in cls.triggers:
            if trigger.name == name and cls.name not in found:
                found[cls.name] = TriggeredSequence(cls.name, trigger)
    return list(found.values())


@dataclass(frozen=True)
class TriggerOutcome:
    """Where one (event, sequence) trigger stands: enrolled, refused with the reason, or pending
    (the reason then says why it has not run yet)."""

    event_id: UUID
    sequence: str
    status: TriggerStatus
    reason: str | None = None
    workflow_id: str | None = None

    @property
    def enrolled(self) -> bool:
        return self.status == TriggerStatus.ENROLLED


@dataclass(frozen=True)
class _Claimed:
    """A claimed row with what its enrollment needs from the event (never its properties)."""

    event_id: UUID
    sequence: str
    attempts: int
    name: str
    contact_id: UUID
    occurred_at: datetime
    received_at: datetime


@dataclass(frozen=True)
class _Done:
    row: _Claimed
    status: TriggerStatus
    reason: str | None = None
    workflow_id: str | None = None

    def outcome(self) -> TriggerOutcome:
        return TriggerOutcome(
            self.row.event_id, self.row.sequence, self.status, self.reason, self.workflow_id
        )


class TriggerRunner:
    """Enrolls the contacts that business events trigger; `run_for` right after a store (the
    caller holds the rows' lease), `run` in the background for rows left pending."""

    def __init__(
        self,
        engine: sa.Engine,
        connect: TemporalConnector,
        task_queue: str,
        *,
        triggers: TriggerLookup = registered_triggers,
        sender_id: str = "default",
        batch_size: int = 100,
        concurrency: int = 20,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._engine = engine
        self._connect = connect
        self._task_queue = task_queue
        self._triggers = triggers
        self._sender_id = sender_id
        self._batch_size = batch_size
        self._semaphore = asyncio.Semaphore(concurrency)
        self._poll_seconds = poll_seconds

    # -- entry points -----------------------------------------------------------------------

    async def run(self) -> None:
        """Run the rows that are due until cancelled (a restart's leftovers, retries)."""
        while True:
            try:
                handled = len(await self.run_pending())
            except Exception:  # the loop must outlive any one failure; it is logged, not lost
                log.exception("trigger pass failed; retrying")
                handled = 0
            if handled < self._batch_size:
                await asyncio.sleep(self._poll_seconds)

    async def run_pending(self) -> list[TriggerOutcome]:
        """One pass over the due pending rows (at most `batch_size` events' worth)."""
        claimed = await asyncio.to_thread(self._claim_due)
        return await self._process(claimed)

    async def run_for(self, event_ids: Collection[UUID]) -> list[TriggerOutcome]:
        """Run the pending rows of these events now, whoever holds their lease (the caller
        stored them: `BusinessEventService.store` claims them for it)."""
        if not event_ids:
            return []
        claimed = await asyncio.to_thread(self._claim_events, list(event_ids))
        return await self._process(claimed)

    def outcomes(self, event_ids: Collection[UUID]) -> dict[UUID, list[TriggerOutcome]]:
        """Each event's triggers as they stand, by sequence name."""
        found: dict[UUID, list[TriggerOutcome]] = {event_id: [] for event_id in event_ids}
        if not found:
            return found
        with session_scope(self._engine) as session:
            rows = session.exec(
                select(TriggerEnrollment)
                .where(col(TriggerEnrollment.event_id).in_(list(found)))
                .order_by(col(TriggerEnrollment.sequence))
            ).all()
        for row in rows:
            found[row.event_id].append(
                TriggerOutcome(row.event_id, row.sequence, row.status, row.reason, row.workflow_id)
            )
        return found

    # -- enrolling --------------------------------------------------------------------------

    async def _process(self, claimed: list[_Claimed]) -> list[TriggerOutcome]:
        if not claimed:
            return []
        client = await self._connect()
        if client is None:
            done = [_Done(row, TriggerStatus.PENDING, "Temporal unreachable") for row in claimed]
        else:
            service = EnrollmentService(self._engine, client, self._task_queue)

            async def one(row: _Claimed) -> _Done:
                async with self._semaphore:
                    return await self._enroll(service, client, row)

            done = list(await asyncio.gather(*(one(row) for row in claimed)))
        await asyncio.to_thread(self._record, done)
        counts = {s.value: sum(d.status == s for d in done) for s in TriggerStatus}
        log.info("triggers run", **counts)
        return [d.outcome() for d in done]

    async def _enroll(self, service: EnrollmentService, client: Client, row: _Claimed) -> _Done:
        found = next((t for t in self._triggers(row.name) if t.sequence == row.sequence), None)
        if found is None:
            reason = f"{row.sequence} is no longer triggered by {row.name}"
            return _Done(row, TriggerStatus.REFUSED, reason)
        if row.received_at - row.occurred_at > MAX_TRIGGER_AGE:
            hours = int(MAX_TRIGGER_AGE.total_seconds() // 3600)
            reason = f"occurred more than {hours} hours before it was received: too old to enroll"
            return _Done(row, TriggerStatus.REFUSED, reason)
        trigger = found.trigger
        ref = TriggerRef(event_id=str(row.event_id), name=row.name, occurred_at=row.occurred_at)
        try:
            workflow_id = await service.enroll(
                row.sequence,
                row.contact_id,
                cohort_id=trigger.cohort_id,
                sender_id=self._sender_id,
                params=dict(trigger.params),
                trigger=ref,
                start_delay=_start_delay(row.occurred_at, trigger.delay),
                memo={MEMO_KEY: str(row.event_id)},
            )
        except EnrollmentConflict as exc:
            return await self._conflict(service, client, row, trigger, ref, exc)
        except (SendBlocked, InvalidInput, NotFound) as exc:
            return _Done(row, TriggerStatus.REFUSED, str(exc))
        except Exception as exc:  # Temporal unreachable or slow: the row waits for a retry
            return _Done(row, TriggerStatus.PENDING, f"{type(exc).__name__}: {exc}")
        return _Done(row, TriggerStatus.ENROLLED, workflow_id=workflow_id)

    async def _conflict(
        self,
        service: EnrollmentService,
        client: Client,
        row: _Claimed,
        trigger: Trigger,
        ref: TriggerRef,
        conflict: EnrollmentConflict,
    ) -> _Done:
        """Live in the sequence, or enrolled before: refused — unless the running enrollment is
        this event's own start (a run that died before recording it), which is `enrolled`."""
        workflow_id = enrollment_workflow_id(row.sequence, row.contact_id)
        ours = await started_with_memo(client, workflow_id, MEMO_KEY, str(row.event_id))
        if not ours and not await _answers(client):
            # "Not ours" may only mean Temporal did not answer: ask again later, never guess.
            return _Done(row, TriggerStatus.PENDING, "Temporal unreachable")
        if not ours:
            return _Done(row, TriggerStatus.REFUSED, str(conflict))
        # It may have died between the start and the SQL mirror too.
        started = EnrollmentInput(
            contact_id=row.contact_id,
            sender_id=self._sender_id,
            cohort_id=trigger.cohort_id,
            params=dict(trigger.params),
            trigger=ref,
        )
        await asyncio.to_thread(service.mirror_if_missing, row.sequence, workflow_id, started)
        return _Done(row, TriggerStatus.ENROLLED, workflow_id=workflow_id)

    # -- the rows ---------------------------------------------------------------------------

    def _claim_due(self) -> list[_Claimed]:
        now = utcnow()
        due = sa.and_(
            col(TriggerEnrollment.status) == TriggerStatus.PENDING,
            sa.or_(
                col(TriggerEnrollment.claimed_until).is_(None),
                col(TriggerEnrollment.claimed_until) < now,
            ),
        )
        events = (
            sa.select(col(TriggerEnrollment.event_id))
            .where(due)
            .order_by(col(TriggerEnrollment.updated_at))
            .limit(self._batch_size)
        )
        return self._claim(sa.and_(col(TriggerEnrollment.event_id).in_(events), due), now)

    def _claim_events(self, event_ids: list[UUID]) -> list[_Claimed]:
        pending = col(TriggerEnrollment.status) == TriggerStatus.PENDING
        return self._claim(sa.and_(col(TriggerEnrollment.event_id).in_(event_ids), pending))

    def _claim(self, where: sa.ColumnElement[bool], now: datetime | None = None) -> list[_Claimed]:
        """Lease the rows `where` selects and load their events' name, contact and times."""
        now = now or utcnow()
        stmt = (
            sa.update(TriggerEnrollment)
            .where(where)
            .values(claimed_until=now + LEASE)
            .returning(
                col(TriggerEnrollment.event_id),
                col(TriggerEnrollment.sequence),
                col(TriggerEnrollment.attempts),
            )
        )
        with session_scope(self._engine) as session:
            rows = session.execute(stmt).all()
            events = _events(session, {r.event_id for r in rows})
        return [
            _Claimed(
                r.event_id,
                r.sequence,
                r.attempts,
                events[r.event_id].name,
                events[r.event_id].contact_id,
                events[r.event_id].occurred_at,
                events[r.event_id].received_at,
            )
            for r in sorted(rows, key=lambda r: (str(r.event_id), r.sequence))
        ]

    def _record(self, done: list[_Done]) -> None:
        """Each row's result; only a row still pending is written (another runner that held it
        after our lease ran out may have recorded it first)."""
        now = utcnow()
        with session_scope(self._engine) as session:
            for d in done:
                values: dict[str, object] = {
                    "status": d.status,
                    "reason": d.reason[:_REASON_MAX] if d.reason else None,
                    "workflow_id": d.workflow_id,
                    "attempts": d.row.attempts + 1,
                    "updated_at": now,
                    "claimed_until": None,
                }
                if d.status == TriggerStatus.PENDING:
                    backoff = min(MAX_BACKOFF_SECONDS, 2.0 * 2**d.row.attempts)
                    values["claimed_until"] = now + timedelta(seconds=backoff)
                session.execute(
                    sa.update(TriggerEnrollment)
                    .where(
                        col(TriggerEnrollment.event_id) == d.row.event_id,
                        col(TriggerEnrollment.sequence) == d.row.sequence,
                        col(TriggerEnrollment.status) == TriggerStatus.PENDING,
                    )
                    .values(**values)
                )


def _events(session: Session, event_ids: set[UUID]) -> dict[UUID, BusinessEvent]:
    if not event_ids:
        return {}
    found = session.exec(select(BusinessEvent).where(col(BusinessEvent.id).in_(event_ids))).all()
    return {event.id: event for event in found}


async def _answers(client: Client) -> bool:
    """Whether Temporal answers now (`started_with_memo` reads an RPC error as "not ours")."""
    try:
        return await client.service_client.check_health(timeout=timedelta(seconds=5))
    except Exception:  # unreachable, refused, timed out: all mean "not now"
        return False


def _start_delay(occurred_at: datetime, delay: timedelta) -> timedelta | None:
    """The trigger's delay counts from when the event happened (never from the future): a row
    retried after an outage starts when it would have."""
    now = utcnow()
    remaining = min(occurred_at, now) + delay - now
    return remaining if remaining > timedelta() else None


__all__ = [
    "LEASE",
    "MAX_TRIGGER_AGE",
    "MEMO_KEY",
    "TriggerLookup",
    "TriggerOutcome",
    "TriggerRunner",
    "TriggeredSequence",
    "registered_triggers",
]
