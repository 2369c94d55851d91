"""`simulate()`: one enrollment of a sequence run by the real workflow code on the time-skipping
test server, with the in-memory activities (`FakeSender`) and a plan of events delivered as the
forwarder delivers them (an `engagement_events` signal), returned as a `Timeline` — what was sent
when in the contact's local time (send windows, business days and holidays applied by the
engine's own calendar), which event changed the path, and how it ended.

    timeline = await simulate("trade_intro", events="click@3d", country="DE")
    assert timeline.steps == ["intro", "bump", "offer"]

Which event changed the path is found by running the plan's prefixes too (no events, the first,
the first two, …): an event changed the path when the run with it differs from the run without.
Each run gets its own test server (about 0.1 s to start), so a simulation takes a few tenths of a
second per event.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from rich.table import Table
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.calendar import ContactCalendar, SendWindow
from models.enrollment import (
    EnrollmentInput,
    EnrollmentResult,
    EnrollmentState,
    Outcome,
    TriggerRef,
    enrollment_workflow_id,
)
from models.events import EventKind
from models.wire import EVENTS_SIGNAL, STATE_QUERY
from nurture_testing.activities import FakeSender
from nurture_testing.events import PlannedEvent, describe_offset, parse_events
from nurture_testing.server import start_env
from workflows.calendar import closed_reason, is_business_day, time_zone_for
from workflows.engine import SequenceWorkflow
from workflows.registry import by_name

#: How long (real time) a run may take before it is given up: a sequence that waits for an event
#: without a limit never ends when the plan does not send it.
RUN_TIMEOUT = timedelta(seconds=30)
#: Runs (each on its own test server) at once: the plan's prefixes are independent.
PARALLEL_RUNS = 4
#: Without a `start`, the enrollment starts this long after the call: the runs' servers, started
#: one after the other, all reach that instant first.
START_MARGIN = timedelta(seconds=3)
#: The timer summary the engine gives a send held for the send window (workflows/engine.py).
_SEND_WINDOW_SUMMARY = "send window"
_SEND_SUMMARY_PREFIX = "send "


class SimulationError(Exception):
    """A simulation that cannot run as asked (a start in the past, an event about an email not
    sent yet, a sequence that never ends); the message says what to change."""


class TimelineEntry(BaseModel):
    """One line of a timeline: a step sent, an event delivered, or the end."""

    #: The instant (UTC) on the simulated clock.
    at: datetime
    #: `at` in the contact's zone: `Thu 2028-12-21 10:00`.
    local: str
    #: Time since the enrollment started, as a plan writes it: `2d23h`.
    after: str
    what: Literal["sent", "event", "ended"]
    #: The step sent, or the step whose email the event is about.
    step: str | None = None
    #: An event: as the plan wrote it (`click@3d`); the end: the outcome.
    event: str | None = None
    #: For a send the send window held: when it fell due (local), and the closed days passed.
    held_from: str | None = None
    #: For an event: whether the path differs from the run without it.
    changed_path: bool = False
    detail: str = ""


class Timeline(BaseModel):
    """What one enrollment did: its entries in time order and its outcome."""

    sequence: str
    time_zone: str
    country: str | None
    started_at: datetime
    #: The plan, as `parse_events` read it.
    events: list[str]
    entries: list[TimelineEntry]
    outcome: Outcome
    reason: str | None = None
    result: EnrollmentResult
    #: Wall time the simulation took (all runs), in seconds.
    elapsed_seconds: float = 0.0

    @property
    def sent(self) -> list[TimelineEntry]:
        return [e for e in self.entries if e.what == "sent"]

    @property
    def steps(self) -> list[str]:
        """The steps sent, in order: ``["intro", "bump", "case_study", "offer"]``."""
        return [e.step for e in self.sent if e.step is not None]

    def sent_at(self, step: str) -> str:
        """When `step` was sent, in the contact's local time (`Wed 2028-12-27 09:00`)."""
        return next(e.local for e in self.sent if e.step == step)

    def rows(self) -> list[tuple[str, str | None, str]]:
        """Each entry as (what, step or event, local time): the shape tests compare."""
        return [(e.what, e.event or e.step, e.local) for e in self.entries]

    def changed_by(self) -> list[str]:
        """The events (as written in the plan) that changed the path."""
        return [e.event for e in self.entries if e.changed_path and e.event]

    def table(self) -> Table:
        """The timeline as a Rich table."""
        where = self.time_zone + (f", {self.country}" if self.country else "")
        plan = ", ".join(self.events) or "no events"
        table = Table(title=f"{self.sequence} · {where} · {plan}", title_justify="left")
        table.add_column(f"local time ({self.time_zone})", no_wrap=True)
        table.add_column("after", justify="right", no_wrap=True)
        table.add_column("what", no_wrap=True)
        table.add_column("step / event", no_wrap=True)
        table.add_column("detail", overflow="fold")
        styles = {"sent": "green", "event": "cyan", "ended": "bold"}
        for e in self.entries:
            label = e.event if e.what != "sent" else e.step
            detail = f"[yellow]{e.detail}[/]" if e.changed_path else e.detail
            style = styles[e.what]
            table.add_row(e.local, e.after, f"[{style}]{e.what}[/]", label or "", detail)
        table.caption = f"simulated in {self.elapsed_seconds:.1f} s"
        return table


@dataclass
class _Run:
    """What one run of the workflow did (before it becomes a `Timeline`)."""

    started_at: datetime
    sender: FakeSender
    result: EnrollmentResult
    ended_at: datetime
    #: Per send, in order: when the send window started holding it (None: not held).
    holds: list[datetime | None]
    #: Per planned event: when it was delivered, the step it was about, whether the enrollment
    #: had already ended.
    delivered: list[tuple[datetime, str | None, bool]] = field(default_factory=list)

    def path(self) -> list[tuple[str, timedelta]]:
        """The steps sent and when, to the minute, from the start."""
        return [
            (sent.step, _to_minute(at - self.started_at))
            for sent, at in zip(self.sender.sent, self.sender.times, strict=True)
        ]


@dataclass(frozen=True)
class _Setup:
    cls: type[SequenceWorkflow[Any]]
    calendar: ContactCalendar | None
    params: dict[str, Any]
    start: datetime | None
    trigger: Mapping[str, Any] | None


async def simulate(
    sequence: str | type[SequenceWorkflow[Any]],
    events: str | list[PlannedEvent] | None = None,
    *,
    time_zone: str | None = None,
    country: str | None = None,
    params: Mapping[str, Any] | None = None,
    start: datetime | None = None,
    trigger: Mapping[str, Any] | None = None,
    send_windows: bool = True,
) -> Timeline:
    """Run one enrollment of `sequence` (a name or a `Sequence` class) and return its timeline.

    `events` is a plan such as ``"open@2h,click@3d,reply@5d"`` (see `nurture_testing.events`): each
    event is signalled at its offset from the start, about the latest email sent by then (or the
    step named, ``click:intro@3d``). The contact's calendar is `time_zone` (default: the
    `country`'s zone, else UTC) and `country` (weekends, public holidays); `send_windows=False`
    lets every step go when due. `params` are the sequence's params (validated first). `start`
    (aware) is when the enrollment starts, now by default; the test server's clock only moves
    forward, so it cannot be in the past. A sequence with triggers is started as its first
    trigger starts it, the triggering event holding `trigger`'s properties.

    Raises `SimulationError` (a start in the past, an event about an email not sent by then, a
    sequence that never ends), `ValueError` for a bad plan, time zone or params (pydantic's
    `ValidationError`), `KeyError` naming the known sequences for an unknown name.
    """
    began = time.monotonic()
    cls = by_name(sequence) if isinstance(sequence, str) else sequence
    plan = parse_events(events)
    cls.params_model.model_validate(dict(params or {}))  # a clear error before any run
    if country is not None:
        country = ContactCalendar(country=country).country
    zone = time_zone_for(time_zone, country, None)
    if time_zone is not None and zone != time_zone:
        raise SimulationError(f"unknown IANA time zone {time_zone!r} (e.g. Europe/Berlin)")
    calendar = ContactCalendar(time_zone=zone, country=country)
    if start is not None and (start.tzinfo is None or start.utcoffset() is None):
        raise SimulationError(f"start must carry a time zone, got {start.isoformat()}")
    # Every run starts at the same instant, so they differ by their events only.
    start = start or (datetime.now(UTC) + START_MARGIN).replace(microsecond=0)
    setup = _Setup(cls, calendar if send_windows else None, dict(params or {}), start, trigger)
    slots = asyncio.Semaphore(PARALLEL_RUNS)

    async def run(count: int) -> _Run:
        async with slots:
            return await _run(setup, plan[:count])

    # Every run ends by itself (a failed one shuts its server down): none is left cancelled
    # half-way, which would leave its worker waiting on the server.
    outcomes = await asyncio.gather(
        *(run(count) for count in range(len(plan) + 1)), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    runs = [outcome for outcome in outcomes if isinstance(outcome, _Run)]
    timeline = _timeline(cls, calendar, plan, runs)
    timeline.elapsed_seconds = round(time.monotonic() - began, 2)
    return timeline


async def _run(setup: _Setup, plan: list[PlannedEvent]) -> _Run:
    env = await start_env()
    try:
        if setup.start is not None:
            await _skip_to(env, setup.start)
        sender = FakeSender()
        task_queue = f"simulate-{uuid.uuid4()}"
        async with Worker(
            env.client, task_queue=task_queue, workflows=[setup.cls], activities=sender.activities
        ):
            started_at = await env.get_current_time()
            handle = await env.client.start_workflow(
                setup.cls.name,
                _input(setup, sender, started_at),
                id=enrollment_workflow_id(setup.cls.name, uuid.uuid4()),
                task_queue=task_queue,
                result_type=EnrollmentResult,
            )
            delivered = [await _deliver(env, handle, sender, started_at, event) for event in plan]
            try:
                result = await asyncio.wait_for(handle.result(), RUN_TIMEOUT.total_seconds())
            except TimeoutError:
                raise SimulationError(
                    f"{setup.cls.name} did not end within {RUN_TIMEOUT.total_seconds():.0f} s: "
                    "it waits for an event without a time limit that the plan does not send"
                ) from None
            history = await handle.fetch_history()
        events = list(history.events)
        return _Run(
            started_at=started_at,
            sender=sender,
            result=result,
            ended_at=events[-1].event_time.ToDatetime(UTC),
            holds=_holds(events),
            delivered=delivered,
        )
    finally:
        await env.shutdown()


async def _skip_to(env: WorkflowEnvironment, start: datetime) -> None:
    now = await env.get_current_time()
    if start < now - timedelta(minutes=1):
        raise SimulationError(
            f"start {start.isoformat()} is in the past: the test server's clock starts now "
            "and only moves forward"
        )
    if start > now:
        await env.sleep(start - now)


def _input(setup: _Setup, sender: FakeSender, started_at: datetime) -> EnrollmentInput:
    trigger = None
    if setup.cls.triggers and (setup.trigger is not None or setup.cls.requires_trigger):
        trigger = TriggerRef(
            event_id=sender.store_event(dict(setup.trigger or {})),
            name=setup.cls.triggers[0].name,
            occurred_at=started_at,
        )
    return EnrollmentInput(
        contact_id=uuid.uuid4(),
        sender_id="default",
        cohort_id=None,
        params=setup.params,
        calendar=setup.calendar,
        trigger=trigger,
    )


async def _deliver(
    env: WorkflowEnvironment,
    handle: WorkflowHandle[Any, EnrollmentResult],
    sender: FakeSender,
    started_at: datetime,
    event: PlannedEvent,
) -> tuple[datetime, str | None, bool]:
    """Skip to the event's time and signal it as the forwarder does; (when, step, too late)."""
    now = await env.get_current_time()
    due = started_at + event.offset
    if due > now:
        await env.sleep(due - now)
        now = await env.get_current_time()
    if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
        return now, event.step, True
    step, message_id = _about(event, sender, now)
    before = len((await handle.query(STATE_QUERY, result_type=EnrollmentState)).events_seen)
    await handle.signal(EVENTS_SIGNAL, [event.signal(message_id, now)])
    # Until the workflow has it: the next skip must not outrun the signal.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = await handle.query(STATE_QUERY, result_type=EnrollmentState)
        if len(state.events_seen) > before or state.outcome is not None:
            break
        await asyncio.sleep(0.01)
    return now, step, False


def _about(event: PlannedEvent, sender: FakeSender, now: datetime) -> tuple[str | None, str | None]:
    """The step and message an ESP event is about: the one it names, else the latest sent."""
    if event.kind == EventKind.BUSINESS:
        return None, None
    sent = [
        (s.step, s.message_id) for s, at in zip(sender.sent, sender.times, strict=True) if at <= now
    ]
    if event.step is not None:
        named = [pair for pair in sent if pair[0] == event.step]
        if not named:
            done = ", ".join(step for step, _ in sent) or "nothing"
            raise SimulationError(
                f"{event.label}: {event.step} was not sent by then (sent: {done})"
            )
        return named[-1]
    if not sent:
        raise SimulationError(
            f"{event.label}: no email was sent by then to {event.kind} (the send window may "
            "hold the first step: see the timeline without events, or give a later offset)"
        )
    return sent[-1]


def _holds(events: list[HistoryEvent]) -> list[datetime | None]:
    """Per send (in order), when the send window began holding it: read from the engine's timer
    and activity summaries in the history."""
    holds: list[datetime | None] = []
    held_from: datetime | None = None
    for event in events:
        summary = _summary(event)
        if summary is None:
            continue
        if event.HasField("timer_started_event_attributes") and summary == _SEND_WINDOW_SUMMARY:
            held_from = held_from or event.event_time.ToDatetime(UTC)
        elif event.HasField("activity_task_scheduled_event_attributes") and summary.startswith(
            _SEND_SUMMARY_PREFIX
        ):
            holds.append(held_from)
            held_from = None
    return holds


def _summary(event: HistoryEvent) -> str | None:
    if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
        return None
    try:
        value = json.loads(event.user_metadata.summary.data)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _to_minute(duration: timedelta) -> timedelta:
    return timedelta(minutes=round(duration.total_seconds() / 60))


def _local(at: datetime, calendar: ContactCalendar) -> str:
    return at.astimezone(calendar.zone).strftime("%a %Y-%m-%d %H:%M")


def _hold_detail(
    due: datetime, sent: datetime, calendar: ContactCalendar, window: SendWindow
) -> str:
    """Why the send window held a send from `due` to `sent`: the hours, the weekend, each public
    holiday (or day the window leaves out) passed."""
    first, last = due.astimezone(calendar.zone).date(), sent.astimezone(calendar.zone).date()
    reasons = []
    if is_business_day(first, calendar.country) and not _send_day_closed(first, window):
        reasons.append(f"outside {window.start:%H:%M}–{window.end:%H:%M}")
    weekend = False
    for day in _days(first, last):
        reason = closed_reason(day, calendar.country)
        if reason == day.strftime("%A"):
            weekend = True
            continue
        if reason is None and _send_day_closed(day, window):
            reason = "no send day"
        if reason is not None:
            reasons.append(f"{day:%a %d %b} {reason}")
    if weekend:
        reasons.insert(1 if reasons[:1] and reasons[0].startswith("outside") else 0, "weekend")
    return "held for the send window" + (": " + ", ".join(reasons) if reasons else "")


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days)]


def _send_day_closed(day: date, window: SendWindow) -> bool:
    return window.weekdays is not None and day.isoweekday() not in window.weekdays


def _effect(before: _Run, after: _Run, at: datetime) -> tuple[bool, str]:
    """Whether the run with an event (`after`) differs from the run without (`before`), and how."""
    if after.result.outcome != before.result.outcome and after.ended_at - at < timedelta(minutes=1):
        return True, f"ended the enrollment: {_ending(after.result)}"
    old, new = dict(before.path()), dict(after.path())
    changes = [f"{step} not sent" for step in old if step not in new]
    changes += [f"{step} sent" for step in new if step not in old]
    for step in old.keys() & new.keys():
        shift = new[step] - old[step]
        if shift:
            sooner = "earlier" if shift < timedelta() else "later"
            changes.append(f"{step} {describe_offset(abs(shift))} {sooner}")
    if after.result.outcome != before.result.outcome:
        changes.append(f"ends {after.result.outcome}")
    if not changes:
        return False, "no change to the path"
    return True, "changed the path: " + "; ".join(changes)


def _ending(result: EnrollmentResult) -> str:
    if result.goal:
        return f"{result.outcome} (goal {result.goal})"
    if result.exit_event:
        return f"{result.outcome} ({result.exit_event})"
    if result.reply_intent:
        return f"{result.outcome} (reply: {result.reply_intent})"
    return str(result.outcome)


def _timeline(
    cls: type[SequenceWorkflow[Any]],
    calendar: ContactCalendar,
    plan: list[PlannedEvent],
    runs: list[_Run],
) -> Timeline:
    final = runs[-1]
    start = final.started_at
    entries: list[tuple[datetime, int, TimelineEntry]] = []

    def entry(at: datetime, order: int, **fields: Any) -> None:
        local, after = _local(at, calendar), describe_offset(at - start)
        entries.append((at, order, TimelineEntry(at=at, local=local, after=after, **fields)))

    message_steps = {s.message_id: s.step for s in final.sender.sent}
    for sent, at, held in zip(final.sender.sent, final.sender.times, final.holds, strict=False):
        details = []
        if sent.in_reply_to_message_id:
            details.append(f"in {message_steps.get(sent.in_reply_to_message_id)}'s thread")
        held_from = None
        if held is not None and at - held >= timedelta(minutes=1):
            held_from = _local(held, calendar)
            details.append(f"due {held_from}, " + _hold_detail(held, at, calendar, cls.send_window))
        entry(at, 1, what="sent", step=sent.step, held_from=held_from, detail="; ".join(details))
    for index, (event, (at, step, too_late)) in enumerate(zip(plan, final.delivered, strict=True)):
        if too_late:
            entry(at, 0, what="event", step=step, event=event.label, detail="after the end")
            continue
        changed, detail = _effect(runs[index], runs[index + 1], at)
        entry(
            at,
            0,
            what="event",
            step=step,
            event=event.label,
            changed_path=changed,
            detail=(f"about {step}; " if step else "") + detail,
        )
    result = final.result
    entry(
        final.ended_at,
        2,
        what="ended",
        event=str(result.outcome),
        detail=result.reason
        or ("the sequence ran to its end" if result.outcome == "completed" else ""),
    )
    entries.sort(key=lambda item: (item[0], item[1]))
    return Timeline(
        sequence=cls.name,
        time_zone=calendar.time_zone,
        country=calendar.country,
        started_at=start,
        events=[event.label for event in plan],
        entries=[e for _, _, e in entries],
        outcome=result.outcome,
        reason=result.reason,
        result=result,
    )


__all__ = ["RUN_TIMEOUT", "SimulationError", "Timeline", "TimelineEntry", "simulate"]
