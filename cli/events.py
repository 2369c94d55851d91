"""`nurture events send` (one business event) and `nurture events import FILE` (a backfill, with a
progress bar and a row-level report): stored by `BusinessEventService` as `POST /api/events`
stores them, then the enrollments they trigger run once — while Temporal is unreachable they
stay pending, and the API's trigger runner enrolls them when it next runs.

Import files (UTF-8, UTF-16 or GBK; the format by extension, else by the first character):

* CSV with a header row: `id` (the idempotency key: a re-import reports the row a duplicate),
  `name`, one of `email` / `contact_id` / `external_id`, optional `occurred_at` (ISO 8601 with a
  zone; empty: now), and properties as a `properties` column holding a JSON object and/or as
  `property.<key>` columns (text; an empty cell is left out; a column wins over the same key in
  `properties`). Any other column refuses the file, so no data is dropped unseen.
* JSON Lines (`.jsonl`, `.ndjson`) or a JSON array (`.json`): the API's event objects.

Row numbers are 1-based: a CSV's header is row 1; a JSON Lines file counts lines.
Exit codes (`cli.output`): 0 every row stored or a duplicate; 1 rows rejected (fix them and
import the file again: stored rows come back as duplicates); 2 the file or an option is unusable.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID, uuid4

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from activities.contacts.importing import ImportFormat, decode, detect_format
from activities.events.business import ItemResult, ItemStatus
from activities.events.triggers import TriggerOutcome
from cli import services
from cli.output import EXIT_BAD_INPUT, EXIT_FAILED, console, err, fail, handled_errors
from models.errors import InvalidInput
from models.tables import TriggerStatus

app = typer.Typer(
    help="Business events (meeting booked, quote requested, order placed): end, branch and "
    "start sequences.",
    no_args_is_help=True,
)

#: Rows stored per transaction during an import.
BATCH = 500
CONTACT_COLUMNS = ("email", "contact_id", "external_id")
PROPERTY_PREFIX = "property."
_KNOWN_COLUMNS = {"id", "name", "occurred_at", "properties", *CONTACT_COLUMNS}


@dataclass(frozen=True)
class SourceRow:
    """One row of an import file: the event object it holds, or why it holds none."""

    number: int
    item: dict[str, Any] | None
    problem: str | None = None


# -- reading files -------------------------------------------------------------------------------


def read_events(data: bytes, filename: str | None = None) -> list[SourceRow]:
    """The rows of an import file; `InvalidInput` if the file as a whole cannot be read."""
    text = decode(data)
    fmt = detect_format(text, filename)
    if fmt == ImportFormat.CSV:
        return read_csv(text)
    if fmt == ImportFormat.JSON:
        return read_json(text)
    return read_json_lines(text)


def _header(row: list[str]) -> list[str]:
    header = [name.strip() for name in row]
    unknown = [n for n in header if n not in _KNOWN_COLUMNS and not n.startswith(PROPERTY_PREFIX)]
    if unknown:
        raise InvalidInput(
            "file",
            f"unknown column(s) {', '.join(map(repr, unknown))}: properties go in "
            f"'{PROPERTY_PREFIX}<key>' columns or a 'properties' JSON column",
        )
    missing = [n for n in ("id", "name") if n not in header]
    if not any(c in header for c in CONTACT_COLUMNS):
        missing.append(" or ".join(CONTACT_COLUMNS))
    if missing:
        raise InvalidInput("file", f"the CSV header has no {', '.join(missing)} column")
    if repeated := sorted({n for n in header if header.count(n) > 1}):
        raise InvalidInput("file", f"column {repeated[0]!r} appears more than once")
    return header


def read_csv(text: str) -> list[SourceRow]:
    """Rows of a CSV with a header row; `,`, `;` or tab separated."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    if not first.strip():
        raise InvalidInput("file", "empty CSV: a header row (id,name,email,...) is needed")
    try:  # only the separator: the header alone cannot show how quotes are escaped
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    header = _header(next(reader))
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            rows.append(SourceRow(number, None, "more cells than header columns"))
            continue
        rows.append(_csv_row(number, dict(zip(header, cells, strict=False))))
    return rows


def _csv_row(number: int, cells: dict[str, str]) -> SourceRow:
    """A CSV row as the API's event object; empty cells are absent values."""
    given = {k: v.strip() for k, v in cells.items() if v.strip()}
    item: dict[str, Any] = {k: given[k] for k in ("id", "name", "occurred_at") if k in given}
    item["contact"] = {k: given[k] for k in CONTACT_COLUMNS if k in given}
    properties: dict[str, Any] = {}
    if "properties" in given:
        try:
            properties = json.loads(given["properties"])
        except json.JSONDecodeError as exc:
            return SourceRow(number, None, f"properties: not valid JSON ({exc})")
        if not isinstance(properties, dict):
            return SourceRow(number, None, "properties: must be a JSON object")
    for column, value in given.items():
        if column.startswith(PROPERTY_PREFIX) and column != PROPERTY_PREFIX:
            properties[column.removeprefix(PROPERTY_PREFIX)] = value
    item["properties"] = properties
    return SourceRow(number, item)


def _json_row(number: int, value: object) -> SourceRow:
    if not isinstance(value, dict):
        return SourceRow(number, None, "each event must be a JSON object")
    return SourceRow(number, value)


def read_json_lines(text: str) -> list[SourceRow]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(_json_row(number, json.loads(line)))
        except json.JSONDecodeError as exc:
            rows.append(SourceRow(number, None, f"not valid JSON: {exc}"))
    return rows


def read_json(text: str) -> list[SourceRow]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("file", f"not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise InvalidInput("file", "a JSON file must be an array of event objects")
    return [_json_row(number, value) for number, value in enumerate(data, start=1)]


# -- storing and triggering ----------------------------------------------------------------------


def _chunks(rows: list[SourceRow], size: int = BATCH) -> Iterator[list[SourceRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def run_triggers(event_ids: list[UUID]) -> dict[UUID, list[TriggerOutcome]]:
    """Each event's triggers, after running once those still pending (Temporal is contacted
    only then; unreachable, they stay pending for the API's runner)."""
    if not event_ids:
        return {}
    outcomes = services.trigger_runner(None).outcomes(event_ids)
    pending = [
        e for e, outs in outcomes.items() if any(o.status == TriggerStatus.PENDING for o in outs)
    ]
    if not pending:
        return outcomes

    async def run() -> None:
        runner = services.trigger_runner(await services.temporal_or_none())  # warns if down
        for start in range(0, len(pending), BATCH):
            await runner.run_for(pending[start : start + BATCH])

    asyncio.run(run())
    return services.trigger_runner(None).outcomes(event_ids)


def _trigger_line(outcome: TriggerOutcome) -> str:
    sequence = escape(outcome.sequence)
    if outcome.status == TriggerStatus.ENROLLED:
        return f"  {sequence}: [green]enrolled[/] ({escape(outcome.workflow_id or '')})"
    if outcome.status == TriggerStatus.REFUSED:
        return f"  {sequence}: not enrolled — {escape(outcome.reason or '')}"
    return (
        f"  {sequence}: [yellow]pending[/] ({escape(outcome.reason or 'not run yet')}); "
        "it runs when the API next runs"
    )


# -- send ----------------------------------------------------------------------------------------


def parse_properties(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` options as properties (text values; a later key wins)."""
    properties: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput("property", f"expected KEY=VALUE, got {pair!r}")
        properties[key.strip()] = value
    return properties


@app.command("send")
def send(
    name: Annotated[str, typer.Option(help="The event's name, e.g. meeting_booked.")],
    contact: Annotated[str | None, typer.Option(help="The contact's address.")] = None,
    contact_id: Annotated[UUID | None, typer.Option(help="Or nurture's id of the contact.")] = None,
    external_id: Annotated[
        str | None, typer.Option(help="Or the contact's external id (the CRM's).")
    ] = None,
    property_: Annotated[
        list[str] | None, typer.Option("--property", help="KEY=VALUE; repeat for more.")
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--id", help="Idempotency key (default: a new one); a re-send is a duplicate."
        ),
    ] = None,
    occurred_at: Annotated[
        str | None, typer.Option(help="When it happened, ISO 8601 with a zone (default: now).")
    ] = None,
) -> None:
    """Record one business event for a contact.

    It reaches the contact's live enrollments and enrolls the contact in the sequences it
    triggers. Exit 0: stored or a duplicate; 1: unknown contact; 2: bad input.
    """
    refs = {
        "email": contact,
        "id": str(contact_id) if contact_id is not None else None,
        "external_id": external_id,
    }
    item: dict[str, Any] = {
        "id": key or str(uuid4()),
        "name": name,
        "contact": {k: v for k, v in refs.items() if v is not None},
    }
    if occurred_at is not None:
        item["occurred_at"] = occurred_at
    with handled_errors():
        item["properties"] = parse_properties(property_ or [])
        [result] = services.business_events().store([item]).results
    if result.status == ItemStatus.REJECTED:
        fail(result.reason or "rejected", EXIT_FAILED if result.unknown_contact else EXIT_BAD_INPUT)
    assert result.event_id is not None
    if result.status == ItemStatus.DUPLICATE:
        console.print(
            f"duplicate: event {escape(item['id'])} was stored before ({result.event_id})"
        )
    else:
        console.print(
            f"stored event {result.event_id} ({escape(name)}): queued to "
            f"{result.forwarded_to} live enrollment(s)"
        )
    outcomes = run_triggers([result.event_id]).get(result.event_id, [])
    if outcomes:
        console.print("triggered:")
        for outcome in outcomes:
            console.print(_trigger_line(outcome))


# -- import --------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    #: (row number, the item's key, what became of it) for every row.
    rows: list[tuple[int, str | None, ItemStatus, str | None]]
    triggers: list[TriggerOutcome]

    def count(self, status: ItemStatus) -> int:
        return sum(row[2] == status for row in self.rows)


def _ranges(numbers: list[int]) -> str:
    """`2-5, 9, 12-13`."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def print_summary(summary: ImportSummary) -> None:
    stored, duplicates = summary.count(ItemStatus.STORED), summary.count(ItemStatus.DUPLICATE)
    rejected = [row for row in summary.rows if row[2] == ItemStatus.REJECTED]
    console.print(f"stored {stored}, duplicates {duplicates}, rejected {len(rejected)}")
    if duplicates:
        numbers = [row[0] for row in summary.rows if row[2] == ItemStatus.DUPLICATE]
        console.print(f"duplicates (stored before, left as they were): rows {_ranges(numbers)}")
    if rejected:
        table = Table(title="Rejected rows")
        table.add_column("row", justify="right")
        table.add_column("id")
        table.add_column("reason")
        for number, key, _, reason in rejected:
            table.add_row(str(number), escape(key or ""), escape(reason or ""))
        console.print(table)
    if summary.triggers:
        by_status = {s: sum(o.status == s for o in summary.triggers) for s in TriggerStatus}
        console.print(
            f"triggers: enrolled {by_status[TriggerStatus.ENROLLED]}, not enrolled "
            f"{by_status[TriggerStatus.REFUSED]}, pending {by_status[TriggerStatus.PENDING]}"
        )
        if by_status[TriggerStatus.PENDING]:
            console.print(
                "[yellow]pending triggers run when the API next runs[/] (Temporal unreachable)"
            )


def _result_row(row: SourceRow, result: ItemResult | None) -> tuple[int, Any, ItemStatus, Any]:
    if result is None:  # the file's row held no event object
        key = row.item.get("id") if row.item else None
        return (row.number, key, ItemStatus.REJECTED, row.problem)
    return (row.number, result.key, result.status, result.reason)


def store_rows(rows: list[SourceRow], progress: Progress) -> tuple[ImportSummary, list[UUID]]:
    """Store the rows batch by batch; the summary and the events whose triggers may run."""
    business_events = services.business_events()
    summary = ImportSummary(rows=[], triggers=[])
    pending: list[UUID] = []
    task = progress.add_task("import", total=len(rows))
    for chunk in _chunks(rows):
        valid = [row for row in chunk if row.item is not None]
        report = business_events.store([row.item for row in valid])
        results = {row.number: result for row, result in zip(valid, report.results, strict=True)}
        summary.rows += [_result_row(row, results.get(row.number)) for row in chunk]
        pending += report.known_event_ids
        progress.advance(task, len(chunk))
    return summary, pending


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(help="CSV, JSON Lines (.jsonl) or a JSON array (.json).", exists=True),
    ],
) -> None:
    """Import business events (a backfill), each row stored once per id.

    CSV columns: id, name, email | contact_id | external_id,
    occurred_at (optional; ISO 8601 with a zone),
    properties (a JSON object) and/or property.KEY columns.
    JSON Lines (.jsonl) or a JSON array (.json): the API's event objects.

    An event that happened more than 72 hours before its import is stored but enrolls nobody.
    Exit 0: all stored or duplicates; 1: rows rejected; 2: the file is unusable.
    """
    with handled_errors():
        rows = read_events(file.read_bytes(), file.name)
    with Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as progress:
        summary, pending = store_rows(rows, progress)
    summary.triggers = [o for outs in run_triggers(pending).values() for o in outs]
    print_summary(summary)
    if summary.count(ItemStatus.REJECTED):
        raise typer.Exit(EXIT_FAILED)


__all__ = [
    "app",
    "import_",
    "parse_properties",
    "print_summary",
    "read_events",
    "run_triggers",
    "send",
]
