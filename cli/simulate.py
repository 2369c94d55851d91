"""`nurture simulate`: one enrollment of a sequence on the time-skipping test server with a plan of
events, printed as a timeline (Rich table or `--json`). The harness is `nurture_testing.simulate`."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from cli.cohorts import parse_params
from cli.output import EXIT_BAD_INPUT, console, describe, fail
from models.calendar import ContactCalendar
from workflows.calendar import time_zone_for


def parse_start(text: str | None, time_zone: str | None, country: str | None) -> datetime | None:
    """`--start` (ISO 8601): a time without an offset is the contact's local time."""
    if text is None:
        return None
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--start is not an ISO 8601 time: {text!r} (e.g. 2028-12-21T10:00)", EXIT_BAD_INPUT)
    if start.tzinfo is None:
        zone = ContactCalendar(time_zone=time_zone_for(time_zone, country, None)).zone
        start = start.replace(tzinfo=zone)
    return start


def parse_object(text: str | None, option: str) -> dict[str, Any] | None:
    """A JSON object option as a dict (None when not given); exits 2 when it is not one."""
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{option} is not valid JSON: {exc}", EXIT_BAD_INPUT)
    if not isinstance(parsed, dict):
        fail(f"{option} must be a JSON object", EXIT_BAD_INPUT)
    return parsed


def simulate(
    sequence: Annotated[str, typer.Argument(help="The sequence, e.g. trade_intro.")],
    events: Annotated[
        str,
        typer.Option(
            help="Events and their offsets from the start: 'open@2h,click@3d,reply@5d'; "
            "'click:intro@3d' names the email; other names are business events "
            "('order_placed@4d')."
        ),
    ] = "",
    time_zone: Annotated[
        str | None, typer.Option(help="The contact's IANA zone (default: the country's).")
    ] = None,
    country: Annotated[
        str | None, typer.Option(help="The contact's country (ISO 3166-1 alpha-2): holidays.")
    ] = None,
    params: Annotated[
        str | None,
        typer.Option(help='Sequence parameters as JSON, e.g. \'{"open_window": "P1D"}\'.'),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="When the enrollment starts (ISO 8601; local if no offset). Now if unset."
        ),
    ] = None,
    trigger: Annotated[
        str | None,
        typer.Option(help="For a triggered sequence: the triggering event's properties as JSON."),
    ] = None,
    no_send_windows: Annotated[
        bool, typer.Option("--no-send-windows", help="Send each step when due, at any hour.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the timeline as JSON.")] = False,
) -> None:
    """Run a sequence's real workflow code on the time-skipping test server and print what it sends
    when (in the contact's local time), which event changed the path, and how it ended."""
    from nurture_testing import SimulationError
    from nurture_testing import simulate as run

    try:
        timeline = asyncio.run(
            run(
                sequence,
                events,
                time_zone=time_zone,
                country=country,
                params=parse_params(params),
                start=parse_start(start, time_zone, country),
                trigger=parse_object(trigger, "--trigger"),
                send_windows=not no_send_windows,
            )
        )
    except (SimulationError, ValueError, KeyError) as exc:
        message = describe(exc) if isinstance(exc, ValidationError) else str(exc).strip("'\"")
        fail(message, EXIT_BAD_INPUT)
    if as_json:
        print(timeline.model_dump_json(indent=2))
        return
    console.print(timeline.table())


__all__ = ["parse_object", "parse_start", "simulate"]
