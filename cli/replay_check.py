"""`nurture sequences check-replay`: the deploy gate. Lists the live (and recently closed)
enrollments on the configured cluster, replays each history against the sequence code on disk
(the worker's own `Replayer`) and names every enrollment the new code would break."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from temporalio.client import Client, WorkflowHistory
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from cli import services
from cli.output import EXIT_BAD_INPUT, EXIT_FAILED, console, fail, handled_errors
from models import search_attributes
from models.errors import InvalidInput
from models.settings import Settings, get_settings
from workflows.engine import SequenceWorkflow

app = typer.Typer(help="The sequences this deployment runs.", no_args_is_help=True)

#: The core's own message in a failed replay's `Failure { message: "..." }`.
_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')
#: The history event a non-determinism error points at (`HistoryEvent(id: 7, ...)`).
_EVENT_ID = re.compile(r"HistoryEvent\(id: (\d+)")


@dataclass(frozen=True)
class ReplayProblem:
    """An enrollment whose history the code on disk does not reproduce."""

    workflow_id: str
    #: True for non-determinism (a command the history does not hold, or another order);
    #: False for another failure of the replay (e.g. the code raised).
    nondeterministic: bool
    #: The first mismatch, as the SDK reports it, with what the history holds there.
    mismatch: str


@dataclass(frozen=True)
class ReplayReport:
    replayed: int
    problems: list[ReplayProblem]


def visibility_query(
    settings: Settings, sequences: list[str], closed_since: datetime | None
) -> str:
    """The enrollments to check: these sequences on this task queue, running or closed after
    `closed_since` (None: running only). `InvalidInput` for a name or queue holding a quote."""
    for value in (*sequences, settings.task_queue):
        if "'" in value or "\\" in value:
            raise InvalidInput("sequence", f"{value!r} cannot be put in a visibility query")
    names = ", ".join(f"'{name}'" for name in sequences)
    when = "ExecutionStatus = 'Running'"
    if closed_since is not None:
        when = f"({when} OR CloseTime > '{closed_since.isoformat().replace('+00:00', 'Z')}')"
    return (
        f"{search_attributes.SEQUENCE.name} IN ({names}) "
        f"AND TaskQueue = '{settings.task_queue}' AND {when}"
    )


def _event_summary(history: WorkflowHistory, event_id: int) -> str | None:
    """What the history holds at `event_id`: its type and, for an activity, the activity."""
    for event in history.events:
        if event.event_id != event_id:
            continue
        kind = event.WhichOneof("attributes") or "event"
        label = kind.removesuffix("_event_attributes")
        if event.HasField("activity_task_scheduled_event_attributes"):
            label += f" {event.activity_task_scheduled_event_attributes.activity_type.name}"
        if event.user_metadata.HasField("summary"):
            label += f" ({event.user_metadata.summary.data.decode('utf-8', 'replace').strip()})"
        return f"history event {event_id}: {label}"
    return None


def first_mismatch(failure: Exception, history: WorkflowHistory) -> str:
    """The first mismatching command of a failed replay, in one line."""
    text = str(failure)
    found = _CORE_MESSAGE.search(text)
    message = found.group(1) if found else text.splitlines()[0] if text else type(failure).__name__
    event = _EVENT_ID.search(message)
    where = _event_summary(history, int(event.group(1))) if event else None
    return f"{message} [{where}]" if where else message


async def replay_all(replayer: Replayer, histories: AsyncIterator[WorkflowHistory]) -> ReplayReport:
    """Replay every history; one `ReplayProblem` per history the code does not reproduce."""
    replayed = 0
    problems: list[ReplayProblem] = []
    async with replayer.workflow_replay_iterator(histories) as results:
        async for result in results:
            replayed += 1
            if result.replay_failure is None:
                continue
            problems.append(
                ReplayProblem(
                    workflow_id=result.history.workflow_id,
                    nondeterministic=isinstance(result.replay_failure, NondeterminismError),
                    mismatch=first_mismatch(result.replay_failure, result.history),
                )
            )
    return ReplayReport(replayed, problems)


async def check_cluster(
    client: Client,
    settings: Settings,
    workflows: list[type],
    *,
    sequences: list[str],
    sample: int | None,
    closed_since: datetime | None,
) -> ReplayReport:
    """Replay the histories of the enrollments `visibility_query` finds (the newest `sample`)."""
    query = visibility_query(settings, sequences, closed_since)
    histories = client.list_workflows(query, limit=sample).map_histories()
    # The core logs each failed replay task as a warning: the report says it once, plainly.
    quiet = Runtime(
        telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter("ERROR", "ERROR")))
    )
    import worker as worker_module

    return await replay_all(worker_module.replayer(workflows, runtime=quiet), histories)


def _print(report: ReplayReport) -> None:
    # One line per enrollment and its mismatch below: read whole in a CI log, never wrapped.
    for problem in report.problems:
        kind = "non-deterministic" if problem.nondeterministic else "replay failed"
        console.print(f"[bold red]{kind}[/] {escape(problem.workflow_id)}", soft_wrap=True)
        console.print(f"  first mismatch: {escape(problem.mismatch)}", soft_wrap=True)
    if report.problems:
        console.print(
            f"[bold red]failed[/]: {len(report.problems)} of {report.replayed} enrollment(s) "
            "do not replay on this code: patch the change (workflow.patched) or ship it under a "
            "new sequence name (docs/architecture.md, Changing a sequence safely)"
        )
    else:
        console.print(f"[bold green]ok[/]: {report.replayed} enrollment(s) replay on this code")


@app.command("check-replay")
def check_replay(
    sequence: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME", help="Check this sequence only (repeatable; default: every sequence)."
        ),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            min=1, metavar="N", help="Check at most this many enrollments, the newest first."
        ),
    ] = None,
    closed_within: Annotated[
        float,
        typer.Option(
            min=0,
            metavar="HOURS",
            help="Also check enrollments closed within this many hours (0: running only).",
        ),
    ] = 24.0,
) -> None:
    """Replay the histories of running (and recently closed) enrollments against the code on
    disk; exit 1 if any would break. Run it before deploying a changed sequence."""
    import worker as worker_module

    settings = get_settings()
    with handled_errors():
        workflows = worker_module.workflow_classes(settings)
    known = [cls.name for cls in workflows if issubclass(cls, SequenceWorkflow)]
    for name in sequence or []:
        if name not in known:
            fail(f"no sequence named {name!r} (known: {', '.join(known)})", EXIT_BAD_INPUT)
    closed_since = datetime.now(UTC) - timedelta(hours=closed_within) if closed_within > 0 else None

    async def go() -> ReplayReport:
        return await check_cluster(
            await services.temporal(),
            settings,
            workflows,
            sequences=sequence or known,
            sample=sample,
            closed_since=closed_since,
        )

    with handled_errors():
        report = asyncio.run(go())
    _print(report)
    raise typer.Exit(EXIT_FAILED if report.problems else 0)


__all__ = [
    "ReplayProblem",
    "ReplayReport",
    "app",
    "check_cluster",
    "first_mismatch",
    "replay_all",
    "visibility_query",
]
