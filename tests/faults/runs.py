"""A run of many trade_intro enrollments compressed into seconds, waited on with deadlines, and
the audit of what it sent: at most one email per enrollment step, counted in the simulator.

What at most once allows, and what `audit_sends` asserts (docs/architecture.md, Guarantees;
activities/enrollment/sending.py):
- every step has exactly one message row, ending `sent` or `unknown` (never left `pending`);
- a `sent` row reached the simulator exactly once;
- an `unknown` row (the attempt died between committing the row and recording the ESP's answer)
  reached the simulator once (it died after the ESP took the mail) or never (before the call):
  never twice;
- no (enrollment, step) reached the simulator twice, counted on the simulator's side alone
  (workflow id and step from the mail's custom args and category), and no mail lacks its row;
- the workflow result reports each step with its row's message id and status.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from temporalio.client import Client
from temporalio.service import RPCError

from activities.enrollment.enrolling import EnrollmentService
from bench import UNLIMITED
from models.db import session_scope
from models.enrollment import EnrollmentResult, Outcome
from models.settings import Settings
from models.tables import (
    ConsentAction,
    ConsentRecord,
    Contact,
    Enrollment,
    Message,
    MessageStatus,
    utcnow,
)
from models.temporal_client import connect
from models.wire import CUSTOM_ARG_MESSAGE_ID, CUSTOM_ARG_WORKFLOW_ID
from simulator import ReceivedMessage, SimulatorServer
from tests.factories import make_sender

#: trade_intro in seconds: intro, bump after 1 s unopened, case study at 3 s, offer 1 s later.
FAST = {"open_window": "PT1S", "case_study_after": "PT3S", "offer_after": "PT1S"}
#: What a contact who never engages gets, in order.
STEPS = ("intro", "bump", "case_study", "offer")


def seed_contacts(
    engine: sa.Engine, count: int, senders: Mapping[str, Mapping[str, Any]] | None = None
) -> list[uuid.UUID]:
    """`count` contacts with consent, and the senders (id: fields), by default the `default`
    sender with no cap, ramp or throttle."""
    for sender_id, fields in (senders or {"default": UNLIMITED}).items():
        make_sender(engine, sender_id, **fields)
    now = utcnow()
    ids = [uuid.uuid4() for _ in range(count)]
    contacts = [
        {
            "id": cid,
            "email": f"buyer{i}@importer{i % 25}.example.de",
            "first_name": "Anna",
            "company": f"Importer {i} GmbH",
            "country": "DE",
            "custom": {},
            "role_account": False,
            "created_at": now,
            "updated_at": now,
        }
        for i, cid in enumerate(ids)
    ]
    consents = [
        {"contact_id": cid, "action": ConsentAction.GRANTED, "source": "fair", "recorded_at": now}
        for cid in ids
    ]
    with session_scope(engine) as s:
        s.execute(sa.insert(Contact), contacts)
        s.execute(sa.insert(ConsentRecord), consents)
    return ids


async def enroll_all(
    engine: sa.Engine,
    client: Client,
    task_queue: str,
    contact_ids: Iterable[uuid.UUID],
    *,
    cohort_id: str,
    params: dict[str, str] = FAST,
    sender_ids: Sequence[str] = ("default",),
) -> list[str]:
    """Enroll every contact in trade_intro (no send windows), the senders taking turns; their
    workflow ids."""
    service = EnrollmentService(engine, client, task_queue)
    gate = asyncio.Semaphore(16)

    async def one(contact_id: uuid.UUID, sender_id: str) -> str:
        async with gate:
            return await service.enroll(
                "trade_intro",
                contact_id,
                cohort_id=cohort_id,
                sender_id=sender_id,
                params=params,
                send_windows=False,
            )

    return list(
        await asyncio.gather(
            *(one(c, sender_ids[i % len(sender_ids)]) for i, c in enumerate(contact_ids))
        )
    )


async def eventually(
    condition: Callable[[], bool], seconds: float, what: str, *, poll: float = 0.1
) -> None:
    """Wait until `condition()` holds; `AssertionError` naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s")
        await asyncio.sleep(poll)


def ended_count(engine: sa.Engine, cohort_id: str) -> int:
    """Enrollments of the cohort whose end the finish activity mirrored into SQL."""
    with session_scope(engine) as s:
        return int(
            s.exec(
                select(func.count())
                .select_from(Enrollment)
                .where(Enrollment.cohort_id == cohort_id, col(Enrollment.ended_at).is_not(None))
            ).one()
        )


async def results_of(
    client: Client, workflow_ids: list[str], seconds: float = 60
) -> dict[str, EnrollmentResult]:
    """The results of closed workflows, retrying calls a Temporal restart broke."""
    deadline = time.monotonic() + seconds

    async def one(workflow_id: str) -> EnrollmentResult:
        handle = client.get_workflow_handle(workflow_id, result_type=EnrollmentResult)
        while True:
            try:
                return await asyncio.wait_for(handle.result(), 10)
            except (RPCError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    gate = asyncio.Semaphore(50)

    async def gated(workflow_id: str) -> EnrollmentResult:
        async with gate:
            return await one(workflow_id)

    results = await asyncio.gather(*(gated(w) for w in workflow_ids))
    return dict(zip(workflow_ids, results, strict=True))


async def retried_activities(client: Client, workflow_ids: list[str]) -> int:
    """Activities that needed more than one attempt, read from the workflows' histories (a
    retried activity's started event carries its last attempt number)."""
    gate = asyncio.Semaphore(20)

    async def one(workflow_id: str) -> int:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        return sum(
            1
            for e in history.events
            if e.HasField("activity_task_started_event_attributes")
            and e.activity_task_started_event_attributes.attempt > 1
        )

    return sum(await asyncio.gather(*(one(w) for w in workflow_ids)))


class EnrollmentRun:
    """Many trade_intro enrollments (FAST) being worked by worker processes, for a test to break.

    The test strikes at `strike_point()`s, then `finish()` waits for every enrollment to end and
    audits what reached the simulator.
    """

    def __init__(
        self,
        engine: sa.Engine,
        client: Client,
        sim: SimulatorServer,
        cohort: str,
        workflow_ids: list[str],
    ) -> None:
        self.engine = engine
        self.client = client
        self.sim = sim
        self.cohort = cohort
        self.workflow_ids = workflow_ids
        self.started = time.monotonic()

    @classmethod
    async def start(
        cls,
        engine: sa.Engine,
        settings: Settings,
        sim: SimulatorServer,
        count: int,
        *,
        senders: Mapping[str, Mapping[str, Any]] | None = None,
        params: dict[str, str] = FAST,
    ) -> EnrollmentRun:
        """Seed `count` contacts and the `senders` (`seed_contacts`) in `engine` and enroll them
        all, the senders taking turns (a worker should be running)."""
        contact_ids = await asyncio.to_thread(seed_contacts, engine, count, senders)
        cohort = f"faults-{uuid.uuid4().hex[:8]}"
        client = await connect(settings)
        workflow_ids = await enroll_all(
            engine,
            client,
            settings.task_queue,
            contact_ids,
            cohort_id=cohort,
            params=params,
            sender_ids=list(senders or ["default"]),
        )
        return cls(engine, client, sim, cohort, workflow_ids)

    @property
    def mails(self) -> int:
        return len(self.sim.store)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def strike_point(
        self, rng: random.Random, more_mails: tuple[int, int], patience: tuple[float, float]
    ) -> None:
        """A random moment while mail flows: once a random number of further mails arrived (or
        after a random patience, should lost activities hold everything up), plus a jitter."""
        target = self.mails + rng.randint(*more_mails)
        deadline = time.monotonic() + rng.uniform(*patience)
        while self.mails < target:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(rng.uniform(0.0, 0.3))

    async def finish(self, seconds: float) -> tuple[dict[str, EnrollmentResult], SendAudit]:
        """Wait (at most `seconds`) until every enrollment ended; their results and the audit."""
        count = len(self.workflow_ids)
        await eventually(
            lambda: ended_count(self.engine, self.cohort) == count,
            seconds,
            f"all {count} enrollments ended",
            poll=0.25,
        )
        results = await results_of(self.client, self.workflow_ids)
        return results, audit_sends(self.engine, self.sim.store.messages(), results)


@dataclass
class SendAudit:
    """What a run sent, and every breach of at most once found (empty `problems`: none)."""

    rows: int = 0
    sent: int = 0
    unknown_mailed: int = 0
    unknown_unmailed: int = 0
    mails: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.rows} message rows: {self.sent} sent, {self.unknown_mailed} unknown but "
            f"mailed, {self.unknown_unmailed} unknown and never mailed; "
            f"{self.mails} mails in the simulator"
        )


def step_of(mail: ReceivedMessage) -> str:
    """The step a mail belongs to, from its `{sequence}/{step}` category."""
    return mail.categories[-1].rsplit("/", 1)[-1]


def audit_sends(
    engine: sa.Engine, mails: list[ReceivedMessage], results: dict[str, EnrollmentResult]
) -> SendAudit:
    """Check the run's sends against at most once (module docstring) and count them."""
    audit = SendAudit()
    problems = audit.problems
    workflow_ids = set(results)
    with session_scope(engine) as s:
        rows = s.exec(select(Message).where(col(Message.workflow_id).in_(workflow_ids))).all()
    ours = [m for m in mails if m.custom_args.get(CUSTOM_ARG_WORKFLOW_ID) in workflow_ids]
    audit.rows, audit.mails = len(rows), len(ours)

    # The simulator's count alone, whatever the database says.
    per_step = Counter((m.custom_args[CUSTOM_ARG_WORKFLOW_ID], step_of(m)) for m in ours)
    problems += [
        f"{wf} step {step} mailed {n} times" for (wf, step), n in per_step.items() if n > 1
    ]
    per_message = Counter(m.custom_args.get(CUSTOM_ARG_MESSAGE_ID) for m in ours)

    by_id = {row.id: row for row in rows}
    problems += [
        f"mail for message {mid} has no message row" for mid in per_message if mid not in by_id
    ]
    _audit_rows(audit, rows, per_message)
    problems += _results_against_rows(rows, results)
    return audit


def _audit_rows(
    audit: SendAudit, rows: Sequence[Message], per_message: Counter[str | None]
) -> None:
    """Each message row against what the simulator received for it."""
    rows_per_step = Counter((row.workflow_id, row.step) for row in rows)
    for row in rows:
        mailed = per_message.get(row.id, 0)
        if rows_per_step[(row.workflow_id, row.step)] > 1:
            audit.problems.append(f"{row.workflow_id} step {row.step} has several message rows")
        if row.status == MessageStatus.SENT:
            audit.sent += 1
            if mailed != 1:
                audit.problems.append(f"sent message {row.id} reached the simulator {mailed} times")
        elif row.status == MessageStatus.UNKNOWN:
            if mailed > 1:
                audit.problems.append(
                    f"unknown message {row.id} reached the simulator {mailed} times"
                )
            audit.unknown_mailed += mailed
            audit.unknown_unmailed += 1 - min(mailed, 1)
        else:
            audit.problems.append(f"message {row.id} left {row.status} (mailed {mailed} times)")


def _results_against_rows(
    rows: Sequence[Message], results: dict[str, EnrollmentResult]
) -> list[str]:
    """Each enrollment completed every step, and its result names the rows it wrote."""
    problems = []
    rows_of: dict[str, dict[str, Message]] = {}
    for row in rows:
        rows_of.setdefault(row.workflow_id, {})[row.step] = row
    for workflow_id, result in results.items():
        steps = [s.step for s in result.steps_sent]
        if result.outcome != Outcome.COMPLETED or steps != list(STEPS):
            problems.append(f"{workflow_id} ended {result.outcome} after {steps}")
        its_rows = rows_of.get(workflow_id, {})
        if sorted(its_rows) != sorted(STEPS):
            problems.append(f"{workflow_id} has rows for {sorted(its_rows)}")
        for sent in result.steps_sent:
            mirror = its_rows.get(sent.step)
            if mirror is None or (mirror.id, str(mirror.status)) != (sent.message_id, sent.status):
                problems.append(f"{workflow_id} {sent} does not match its row {mirror}")
    return problems


__all__ = [
    "FAST",
    "STEPS",
    "EnrollmentRun",
    "SendAudit",
    "audit_sends",
    "ended_count",
    "enroll_all",
    "eventually",
    "results_of",
    "retried_activities",
    "seed_contacts",
    "step_of",
]
