"""`nurture cohort …`: start a cohort (progress bar until the launch is done), its funnel, and
pause / resume / cancel — the same services as `/api/cohorts`."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from pydantic import TypeAdapter, ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import col, func, select

from activities.cohorts.funnel import STEP_METRICS, CohortFunnel
from activities.cohorts.service import (
    MAX_PER_SECOND,
    CohortStarted,
    cohort_status,
    parse_segment,
)
from activities.contacts.importing import import_file, read_rows
from activities.contacts.store import contact_id_by_email
from activities.enrollment.control import ControlAction
from cli import services
from cli.output import EXIT_BAD_INPUT, console, err, exit_code, fail, handled_errors
from models.ab_test import AbTestSpec
from models.cohort import cohort_launch_workflow_id
from models.db import session_scope
from models.errors import ContentLintFailed
from models.tables import CohortMember, MemberStatus

app = typer.Typer(
    help="Cohorts: start, watch the funnel, pause, resume, cancel.", no_args_is_help=True
)


@app.command("start")
def start(
    sequence: Annotated[str, typer.Option(help="Sequence name, e.g. trade_intro.")],
    name: Annotated[str, typer.Option(help="A name ops will recognise.")],
    segment: Annotated[
        str | None, typer.Option(help="e.g. 'country=DE industry=machinery'.")
    ] = None,
    contacts: Annotated[
        str | None, typer.Option(help="A file of contacts (CSV/JSON): imported, then enrolled.")
    ] = None,
    sender: Annotated[str, typer.Option(help="Sender id.")] = "default",
    per_second: Annotated[
        float,
        typer.Option(help="Enrollments started per second, at most.", max=MAX_PER_SECOND),
    ] = 50.0,
    no_send_windows: Annotated[bool, typer.Option("--no-send-windows")] = False,
    holdout: Annotated[
        float, typer.Option(help="Share of members never mailed, to measure lift (0–0.5).")
    ] = 0.0,
    ab_test: Annotated[
        str | None, typer.Option(help="A/B-test this step: a sample gets each variant first.")
    ] = None,
    ab_variants: Annotated[
        str | None,
        typer.Option(
            help="e.g. 'control,short_subject' (default: every <step>@<variant> template)."
        ),
    ] = None,
    ab_sample: Annotated[int, typer.Option(help="Contacts per variant in the sample.")] = 100,
    ab_min_sample: Annotated[
        int | None, typer.Option(help="Sends a variant needs to win (default: half the sample).")
    ] = None,
    ab_window: Annotated[
        str, typer.Option(help="How long answers count after the sample's last send: 72h, 3d, P3D.")
    ] = "3d",
    params: Annotated[
        str | None,
        typer.Option(help='Sequence parameters as JSON, e.g. \'{"open_window": "P1D"}\'.'),
    ] = None,
) -> None:
    """Lint the sequence, then launch the cohort durably; shows progress until the launch is done."""
    if (segment is None) == (contacts is None):
        fail("give exactly one of --segment and --contacts", EXIT_BAD_INPUT)
    spec = None
    if ab_test is not None:
        try:
            spec = AbTestSpec(
                step=ab_test,
                variants=[v.strip() for v in ab_variants.split(",") if v.strip()]
                if ab_variants
                else [],
                sample_per_variant=ab_sample,
                min_sample=ab_min_sample,
                window=parse_duration(ab_window),
            )
        except (ValidationError, ValueError) as exc:
            fail(f"--ab-*: {exc}", EXIT_BAD_INPUT)
    parsed_params = parse_params(params)

    async def go(contact_ids: list[UUID] | None) -> CohortStarted:
        return await (await services.cohorts()).start(
            name=name,
            sequence=sequence,
            sender_id=sender,
            segment=parse_segment(segment) if segment else None,
            contact_ids=contact_ids,
            params=parsed_params,
            send_windows=not no_send_windows,
            per_second=per_second,
            holdout=holdout,
            ab_test=spec,
        )

    with handled_errors():
        try:
            # The file is imported first (a re-run imports nothing twice), off the event loop.
            contact_ids = import_for_cohort(services.engine(), Path(contacts)) if contacts else None
            started = asyncio.run(go(contact_ids))
        except ContentLintFailed as exc:
            for f in exc.errors:
                err.print(f"[bold red]lint error[/] {f.template}: {f.message} — {f.fix}")
            fail(
                "content lint errors block the start (run `nurture lint` for details)",
                exit_code(exc),
            )
    for f in started.lint.warnings:
        console.print(f"[yellow]lint warning[/] {f.template}: {f.message}")
    console.print(f"cohort [bold]{started.cohort_id}[/]: {started.members} contacts")
    if started.holdout:
        console.print(f"held out: {started.holdout} (never mailed)")
    if started.ab_variants:
        console.print(f"A/B test of {ab_test}: {', '.join(started.ab_variants)}")
    follow_launch(started.cohort_id, started.members - started.holdout)


def parse_params(text: str | None) -> dict[str, Any]:
    """`--params` JSON (an object) as a dict; exits 2 when it is not one."""
    try:
        parsed = json.loads(text) if text else {}
    except json.JSONDecodeError as exc:
        fail(f"--params is not valid JSON: {exc}", EXIT_BAD_INPUT)
    if not isinstance(parsed, dict):
        fail("--params must be a JSON object", EXIT_BAD_INPUT)
    return parsed


def parse_duration(text: str) -> timedelta:
    """`72h`, `3d`, `90m`, `45s`, or ISO 8601 (`P3D`, `PT12H`)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhms])\s*", text)
    if match:
        unit = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[match[2]]
        return timedelta(**{unit: float(match[1])})
    try:
        return TypeAdapter(timedelta).validate_python(text)
    except ValidationError:
        raise ValueError(f"{text!r} is not a duration (72h, 3d, 90m, 45s, P3D)") from None


def import_for_cohort(engine: Any, path: Path) -> list[UUID]:
    """Import the file (its rows' consent goes to the ledger), report rejected rows, and return
    the contacts of the accepted ones."""
    data = path.read_bytes()
    rows = read_rows(data, filename=path.name)
    report = import_file(engine, data, filename=path.name)
    rejected = {p.row_number for p in report.rejected}
    for problem in report.rejected:
        err.print(
            f"[yellow]row {problem.row_number}[/] {problem.field}: {problem.reason} (not in the cohort)"
        )
    ids: list[UUID] = []
    for row in rows:
        email = row.values.get("email")
        if row.row_number in rejected or not isinstance(email, str):
            continue
        ids.append(contact_id_by_email(engine, email))
    return list(dict.fromkeys(ids))


def follow_launch(cohort_id: str, members: int) -> None:
    engine = services.engine()
    columns = (TextColumn("launching"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("launch", total=members)
        while True:
            with session_scope(engine) as session:
                done = session.exec(
                    select(func.count())
                    .select_from(CohortMember)
                    .where(
                        CohortMember.cohort_id == cohort_id,
                        col(CohortMember.status).in_([MemberStatus.ENROLLED, MemberStatus.SKIPPED]),
                    )
                ).one()
            progress.update(task, completed=done)
            if done >= members:
                break
            asyncio.run(asyncio.sleep(0.5))
    show_funnel(cohort_id)


def show_funnel(cohort_id: str) -> None:
    with handled_errors():
        print_funnel(cohort_status(services.engine(), cohort_id))


def print_funnel(f: CohortFunnel) -> None:
    console.print(
        f"[bold]{f.name}[/] ({f.cohort_id}) · {f.sequence} · {f.status} · "
        f"{f.enrolled} enrolled, {f.skipped} skipped, {f.pending} pending"
        + (f", {f.holdout} held out" if f.holdout else "")
    )
    for reason, n in sorted(f.skip_reasons.items()):
        console.print(f"  skipped {n}: {reason}")
    # Metrics down, steps across: a funnel reads top to bottom and fits a terminal.
    table = Table(
        "", *[step.step + (f" ({step.variant})" if step.variant else "") for step in f.steps]
    )
    for metric in STEP_METRICS:
        cells = []
        for step in f.steps:
            n = step.counts[metric]
            cells.append(str(n) if metric == "sent" else f"{n} ({step.rates[metric]:.0%})")
        table.add_row(metric.replace("_", " "), *cells)
    console.print(table)
    if f.outcomes:
        console.print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(f.outcomes.items())))
    if f.goals:
        console.print("goals reached: " + ", ".join(f"{k} {v}" for k, v in sorted(f.goals.items())))
    if f.ab_test is not None:
        ab = f.ab_test
        console.print(f"A/B test of {ab.step} (sample {ab.sample_per_variant} per variant):")
        for variant in ab.variants:
            fig = ab.figures.get(variant)
            if fig is not None:
                console.print(
                    f"  {variant}: {fig.sent} sent, {fig.converted} conversions "
                    f"({fig.conversion_rate:.1%}), {fig.replied_human} human replies: "
                    f"{fig.replied_interested} interested, {fig.replied_negative} negative "
                    f"(quality {fig.reply_quality:+.1%}), {fig.clicked} clicks "
                    f"({fig.click_rate:.1%})"
                )
        console.print(
            f"  winner: [bold]{ab.winner}[/] — {ab.reason}" if ab.winner else "  winner: not yet"
        )


@app.command("status")
def status(cohort_id: str) -> None:
    """The cohort's funnel per step, and how its enrollments ended."""
    show_funnel(cohort_id)


def control(cohort_id: str, action: ControlAction, reason: str | None = None) -> None:
    async def go() -> Any:
        return await (await services.cohorts()).control(cohort_id, action, reason)

    with handled_errors():
        cohort = asyncio.run(go())
    console.print(f"cohort {cohort.id}: {cohort.status} (signals queued for its enrollments)")


@app.command("pause")
def pause(cohort_id: str) -> None:
    """Hold every send of the cohort (and its launch); waits keep counting."""
    control(cohort_id, ControlAction.PAUSE)


@app.command("resume")
def resume(cohort_id: str) -> None:
    """Let the cohort send again."""
    control(cohort_id, ControlAction.RESUME)


@app.command("cancel")
def cancel(cohort_id: str, reason: Annotated[str | None, typer.Option()] = None) -> None:
    """End every enrollment of the cohort with outcome `cancelled`."""
    control(cohort_id, ControlAction.CANCEL, reason)


__all__ = ["app", "cohort_launch_workflow_id"]
