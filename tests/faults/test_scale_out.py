"""Scale-out on one machine: N workers and N API replicas on PostgreSQL behave as one, through a
crash of each (docs/architecture.md, Guarantees; issue 16).

One Temporal dev server, PostgreSQL, two `python -m worker` processes and two API processes
(uvicorn, each with its event forwarder). 500 trade_intro enrollments across two senders with
small caps; signed Event Webhook batches for their mail posted round-robin to both APIs; one API
killed with SIGKILL mid-stream (the poster sends the batches it gave no answer to the surviving
API, as SendGrid retries a failed post) and one worker killed with SIGKILL mid-sends (the other
takes over its sends after their heartbeat timeout). Then:

- every enrollment completes, all four steps (`runs.audit_sends`);
- no (enrollment, step) is mailed twice, no message id reaches the simulator twice;
- every posted event is stored exactly once (repeats and re-posts deduplicated by its ESP event
  id) and every signalled one reached its workflow; a workflow that got one in two signals
  (a re-post racing the first forward) saw it once (`events_seen`);
- no sender's daily cap is exceeded, checked in `sender_day_quota` and in the message rows.

The caps. A cap that binds makes the refused sends wait for the sender's next day (the workflow
sleeps until its local midnight), which no test can wait for. So each sender may send `CAP`
a day, and its 250 enrollments need 1000 sends: on the first day the intros, bumps and the first
case studies use the cap up while both workers race for its last sends, and the rest of the
enrollments wait for quota. The test then brings the sender's next day: it moves the sender's
time zone from UTC-12 to UTC+14 (quota days are the sender's local days, so the new sends count
on a day one or two dates later) and, standing in for the midnight timer, wakes the waiting
enrollments with the nudge a sender's resume sends. The second day takes the remaining 450 of
each sender's sends, within `CAP` again. Two quota rows per sender, each `used <= CAP`, the
first exactly `CAP` (the cap bound), and the rows reserved that day (counted before the move)
no more than `CAP`.

The timings. The case study comes a minute after the intro, so every event posted (for the
bumps, a second after the intros) is forwarded while its workflow still runs, even the events the
killed API had leased (its 30 s lease runs out, then the survivor's forwarder takes them):
an event for a closed workflow would be kept as late, not seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, func, select
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from activities.events.signature import generate_key_pair
from models.db import get_engine, session_scope
from models.enrollment import EnrollmentStatus
from models.events import SIGNALLED_KINDS
from models.search_attributes import STATUS
from models.tables import Contact, Event, Message, MessageStatus, Sender, SenderDayQuota
from models.wire import CUSTOM_ARG_MESSAGE_ID, EVENTS_SIGNAL, SENDER_RESUMED_SIGNAL
from tests.factories import sendgrid_event
from tests.faults.esp_webhooks import (
    RoundRobinPoster,
    signals_in,
    state_of,
    unforwarded,
)
from tests.faults.runs import STEPS, EnrollmentRun, eventually

ENROLLMENTS = 500
SENDERS = ("north", "south")
#: Each sender's sends a day: its 250 enrollments need 1000, so it binds on the first day
#: (intros, bumps, a few case studies) and the second day takes the other 450.
CAP = 550
FIRST_ZONE, NEXT_DAY_ZONE = "Etc/GMT+12", "Etc/GMT-14"  # UTC-12, UTC+14 (POSIX signs)
#: Enrollments refused on the first day before the test brings the next (the case studies fall
#: due over the seconds the intros took, and every one after the cap is refused).
MIN_REFUSED = 60
#: Bump a second after the intro; the case study a minute after it (see the docstring).
PARAMS = {"open_window": "PT1S", "case_study_after": "PT60S", "offer_after": "PT1S"}
#: Events for the bumps: none changes the flow (a bump's open is not the intro's). The opens are
#: signalled; the rest stay in SQL.
KINDS = ("processed", "delivered", "deferred", "open", "open")
KEYS = generate_key_pair()
#: Batches in flight at once (several are cut off when an API dies).
POSTERS = 3


def sender_fields(sender_id: str) -> dict[str, Any]:
    """A sender whose only limit is its daily cap (no ramp below it, no domain throttle)."""
    return {
        "from_email": f"sales@{sender_id}.factory.example.cn",
        "daily_cap": CAP,
        "warmup_start": CAP,
        "warmup_ceiling": CAP,
        "domain_hourly_cap": 10**6,
        "time_zone": FIRST_ZONE,
    }


def quota_rows(engine: sa.Engine) -> dict[str, list[tuple[Any, int]]]:
    """(day, used) per sender, days in order."""
    rows: dict[str, list[tuple[Any, int]]] = defaultdict(list)
    with session_scope(engine) as s:
        for q in s.exec(select(SenderDayQuota).order_by(col(SenderDayQuota.day))).all():
            rows[q.sender_id].append((q.day, q.used))
    return rows


def rows_per_sender(engine: sa.Engine, cohort: str) -> Counter[str]:
    """Message rows (a reservation each: pending, sent or unknown) per sender."""
    with session_scope(engine) as s:
        found = s.exec(
            select(Message.sender_id, func.count())
            .where(Message.cohort_id == cohort)
            .group_by(col(Message.sender_id))
        ).all()
    return Counter(dict(found))


def caps_used_up(engine: sa.Engine) -> bool:
    rows = quota_rows(engine)
    return all(rows.get(s) and rows[s][-1][1] >= CAP for s in SENDERS)


def move_to_next_day(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        s.execute(
            sa.update(Sender).where(col(Sender.id).in_(SENDERS)).values(time_zone=NEXT_DAY_ZONE)
        )


#: Running enrollments whose send the cap refused (Temporal visibility).
WAITING_FOR_QUOTA = (
    f"{STATUS.name} = '{EnrollmentStatus.WAITING_FOR_QUOTA.value}' AND ExecutionStatus = 'Running'"
)


async def quota_waiters(client: Client) -> int:
    return (await client.count_workflows(WAITING_FOR_QUOTA)).count


async def wake_quota_waiters(client: Client, woken: set[str]) -> None:
    """Until cancelled: nudge every enrollment waiting for quota (a send refused just before the
    move, or one whose wait began after an earlier nudge, gets the next round)."""
    while True:
        async for execution in client.list_workflows(WAITING_FOR_QUOTA):
            with contextlib.suppress(RPCError):  # it ended meanwhile
                await client.get_workflow_handle(execution.id).signal(SENDER_RESUMED_SIGNAL)
            woken.add(execution.id)
        await asyncio.sleep(1.0)


def interruptions(history: WorkflowHistory) -> list[str]:
    """What a dead worker (or API) left for others to take over, in one history: activities
    that needed another attempt, workflow tasks that timed out on its sticky queue."""
    found = []
    for e in history.events:
        if e.HasField("activity_task_started_event_attributes"):
            if e.activity_task_started_event_attributes.attempt > 1:
                found.append("activity retried")
        elif e.HasField("workflow_task_timed_out_event_attributes"):
            found.append("workflow task timed out")
    return found


class EventStream:
    """Signed batches of events for the bumps sent so far, from `POSTERS` loops at once, some
    events posted twice (an ESP retry); what was posted, by event id."""

    def __init__(self, engine: sa.Engine, poster: RoundRobinPoster, rng: random.Random) -> None:
        self.engine = engine
        self.poster = poster
        self.rng = rng
        self.events: dict[str, dict] = {}  # every event posted and answered, by its id
        self.batches = 0
        self.repeats = 0
        self._bumps: list[tuple[Message, str]] = []
        self._refreshed = 0.0

    def _refresh(self) -> None:
        with session_scope(self.engine) as s:
            self._bumps = list(
                s.exec(
                    select(Message, Contact.email)
                    .join(Contact, col(Contact.id) == col(Message.contact_id))
                    .where(Message.step == "bump", Message.status == MessageStatus.SENT)
                ).all()
            )

    def _batch(self) -> list[dict]:
        batch = []
        for _ in range(self.rng.randint(3, 12)):
            if self.events and self.rng.random() < 0.1:
                batch.append(self.events[self.rng.choice(list(self.events))])
                self.repeats += 1
            else:
                message, email = self.rng.choice(self._bumps)
                batch.append(sendgrid_event(self.rng.choice(KINDS), message, email=email))
        return batch

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient() as http:

            async def loop() -> None:
                while not stop.is_set():
                    if time.monotonic() - self._refreshed > 0.5:
                        self._refreshed = time.monotonic()
                        await asyncio.to_thread(self._refresh)
                    if not self._bumps:
                        await asyncio.sleep(0.1)
                        continue
                    batch = self._batch()
                    await self.poster.post(http, batch)
                    self.batches += 1
                    self.events.update((e["sg_event_id"], e) for e in batch)
                    await asyncio.sleep(self.rng.uniform(0.02, 0.1))

            await asyncio.gather(*(loop() for _ in range(POSTERS)))

    def signalled(self) -> dict[str, set[str]]:
        """The posted events a workflow gets, by workflow id."""
        by_workflow: dict[str, set[str]] = defaultdict(set)
        for event_id, e in self.events.items():
            if e["event"] in SIGNALLED_KINDS:
                by_workflow[e["nurture_workflow_id"]].add(event_id)
        return by_workflow


@pytest.mark.timeout(420)
async def test_two_workers_and_two_apis_through_a_crash_of_each_behave_as_one(
    postgres_database_url,
    sim,
    dev_server,
    stack_settings,
    workers,
    apis,
    fault_rng: random.Random,
):
    started = time.monotonic()
    settings = stack_settings(
        postgres_database_url, dev_server.address, sendgrid_webhook_public_key=KEYS[1]
    )
    engine = get_engine(postgres_database_url)
    two_workers = [workers(settings, f"worker{i}") for i in (1, 2)]
    two_apis = [apis(settings, f"api{i}") for i in (1, 2)]
    for process in [*two_workers, *two_apis]:
        process.start()
    run = await EnrollmentRun.start(
        engine,
        settings,
        sim,
        ENROLLMENTS,
        senders={s: sender_fields(s) for s in SENDERS},
        params=PARAMS,
    )
    poster = RoundRobinPoster([a.url for a in two_apis], KEYS[0])
    stream = EventStream(engine, poster, fault_rng)
    stop_stream = asyncio.Event()
    streaming = asyncio.create_task(stream.run(stop_stream))

    async def kill_a_worker() -> tuple[int, float]:
        await run.strike_point(fault_rng, more_mails=(100, 500), patience=(2.0, 6.0))
        fault_rng.choice(two_workers).kill()
        return run.mails, run.elapsed()

    async def kill_an_api() -> tuple[int, float]:
        batches = fault_rng.randint(60, 160)
        await eventually(lambda: stream.batches >= batches, 60, f"{batches} batches posted")
        fault_rng.choice(two_apis).kill()
        return stream.batches, run.elapsed()

    try:
        (worker_mails, worker_at), (api_batches, api_at) = await asyncio.gather(
            kill_a_worker(), kill_an_api()
        )
        await asyncio.sleep(fault_rng.uniform(3.0, 6.0))  # the stream goes on at the survivor
    finally:
        stop_stream.set()
        await streaming
    streamed_at = run.elapsed()
    # The survivor's forwarder takes what the dead one had leased once the lease runs out.
    await eventually(lambda: unforwarded(engine) == 0, 60, "every event forwarded", poll=0.5)
    forwarded_at = run.elapsed()

    # Day one: both workers race for the last sends of each cap; the rest wait for quota.
    await eventually(lambda: caps_used_up(engine), 150, f"both senders' {CAP} sends used")
    # Sends refused while the case studies fall due: the cap holds against both workers.
    deadline = time.monotonic() + 60
    while (waiting := await quota_waiters(run.client)) < MIN_REFUSED:
        assert time.monotonic() < deadline, f"only {waiting} enrollments wait for quota"
        await asyncio.sleep(0.5)
    first_day = quota_rows(engine)
    reserved_first_day = rows_per_sender(engine, run.cohort)
    move_to_next_day(engine)
    caps_at = run.elapsed()
    woken: set[str] = set()
    waking = asyncio.create_task(wake_quota_waiters(run.client, woken))
    try:
        results, audit = await run.finish(180)
    finally:
        waking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waking

    # Events: each stored once, every signalled one in its workflow.
    with session_scope(engine) as s:
        stored = s.exec(
            select(Event.esp_event_id, Event.workflow_id, Event.forwarded_at, Event.late).where(
                col(Event.esp_event_id).in_(stream.events)
            )
        ).all()
    stored_ids = Counter(row[0] for row in stored)
    expected = stream.signalled()
    gate = asyncio.Semaphore(20)

    async def fetch(workflow_id: str) -> WorkflowHistory:
        async with gate:
            return await run.client.get_workflow_handle(workflow_id).fetch_history()

    histories = await asyncio.gather(*(fetch(w) for w in run.workflow_ids))
    interrupted = Counter(k for h in histories for k in interruptions(h))
    signals = carried = 0
    missing, twice = [], []
    for workflow_id, history in zip(run.workflow_ids, map(signals_in, histories), strict=True):
        ids = Counter(
            i for name, carried_ids in history if name == EVENTS_SIGNAL for i in carried_ids
        )
        signals += sum(1 for name, _ in history if name == EVENTS_SIGNAL)
        carried += sum(ids.values())
        if set(ids) != expected.get(workflow_id, set()):
            missing.append(workflow_id)
        if any(n > 1 for n in ids.values()):
            twice.append(workflow_id)
    # Those that got an event in two signals deduplicated it.
    for workflow_id in twice:
        seen = Counter(
            e.esp_event_id for e in (await state_of(run.client, workflow_id)).events_seen
        )
        assert all(n == 1 for n in seen.values()), (workflow_id, seen)

    # Caps, per sender and day.
    days = quota_rows(engine)
    rows = rows_per_sender(engine, run.cohort)
    with session_scope(engine) as s:
        from_of = {x.id: x.from_email for x in s.exec(select(Sender)).all()}
    mails_per_sender = Counter(m.from_email for m in sim.store.messages())
    per_message = Counter(m.custom_args.get(CUSTOM_ARG_MESSAGE_ID) for m in sim.store.messages())

    signalled = sum(len(ids) for ids in expected.values())
    quota = {sender: [(str(day), used) for day, used in kept] for sender, kept in days.items()}
    seconds = time.monotonic() - started
    print(
        f"scale-out: {ENROLLMENTS} enrollments, {len(stream.events)} events "
        f"({stream.repeats} repeats, {poster.reposted} batches re-posted), {signals} signals "
        f"carrying {carried} events for {signalled} signalled, {seconds:.0f} s"
    )
    print(
        f"  worker killed at {worker_at:.1f} s ({worker_mails} mails), API killed at {api_at:.1f} s "
        f"({api_batches} batches); stream over at {streamed_at:.1f} s, all forwarded at "
        f"{forwarded_at:.1f} s; caps used up at {caps_at:.1f} s; {len(woken)} enrollments woken "
        f"for the next day; all ended at {run.elapsed():.1f} s; answers per API "
        f"{list(poster.answered.values())}; quota {quota}; work the kills interrupted: "
        f"{dict(interrupted)}; "
        f"{audit.summary()}"
    )

    assert audit.problems == [], audit.problems[:20]
    assert len(results) == ENROLLMENTS
    assert audit.rows == ENROLLMENTS * len(STEPS)
    assert max(per_message.values()) == 1
    assert interrupted, "the worker kill interrupted nothing: it proved nothing"
    assert sum(1 for w in two_workers if w.running) == 1
    assert sum(1 for a in two_apis if a.child.running) == 1
    # Both answered, then the dead one's batches went to the survivor.
    assert len(poster.answered) == 2
    assert len(poster.down) == 1
    assert poster.reposted > 0

    assert sorted(stored_ids) == sorted(stream.events)
    assert set(stored_ids.values()) == {1}
    assert all(forwarded is not None and not late for _, _, forwarded, late in stored)
    assert not missing, f"{len(missing)} workflows did not get their events: {missing[:5]}"

    assert len(woken) >= MIN_REFUSED
    for sender_id in SENDERS:
        (day1, used1), *later = days[sender_id]
        assert first_day[sender_id] == [(day1, used1)]
        assert used1 == CAP, days[sender_id]  # bound, never exceeded
        assert reserved_first_day[sender_id] == CAP
        assert len(later) == 1, days[sender_id]
        assert later[0][1] <= CAP, days[sender_id]
        assert rows[sender_id] == used1 + later[0][1] == ENROLLMENTS // 2 * len(STEPS)
        assert rows[sender_id] - reserved_first_day[sender_id] <= CAP
        assert mails_per_sender[from_of[sender_id]] <= rows[sender_id]
