"""`nurture contacts add` (one contact with its consent and, optionally, the CRM's id as
`--external-id`), `nurture contacts import` (CSV / JSON / JSON Lines, with a progress bar and the
report) and `nurture contacts opt-in` (send the double opt-in email). Exit codes: 0 ok, 1 rows
refused, 2 bad input (for `add`: any refusal of its one row, such as an external id another
contact holds)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from activities.contacts.importing import ImportReport, SourceRow, import_file, import_rows
from activities.contacts.store import contact_id_by_email, normalise_email
from cli import services
from cli.output import EXIT_FAILED, console, err, handled_errors
from models.errors import InvalidInput, SenderNotFound


def print_report(report: ImportReport, *, dry_run: bool) -> None:
    prefix = "[bold]dry run[/] — would have " if dry_run else ""
    console.print(
        f"{prefix}created {report.created}, updated {report.updated}, "
        f"unchanged {report.unchanged}, rejected {len(report.rejected)}"
    )
    if report.needs_opt_in:
        console.print(
            f"[yellow]{report.needs_opt_in} contact(s) have no consent on record:[/] they "
            "cannot be mailed until they confirm (nurture contacts opt-in EMAIL)."
        )
    if report.rejected:
        table = Table(title="Rejected rows")
        table.add_column("row", justify="right")
        table.add_column("field")
        table.add_column("reason")
        for problem in report.rejected:
            table.add_row(str(problem.row_number), problem.field, problem.reason)
        console.print(table)


def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV (UTF-8 or GBK), JSON array or JSON Lines.", exists=True)
    ],
    check_mx: Annotated[
        bool, typer.Option("--check-mx/--no-check-mx", help="Look up each domain's MX.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
) -> None:
    """Import contacts; rows without consent_source come in needing double opt-in."""
    data = file.read_bytes()
    with (
        handled_errors(),
        Progress(
            TextColumn("importing"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
        ) as progress,
    ):
        task = progress.add_task("import", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = import_file(
            services.engine(),
            data,
            filename=file.name,
            check_mx=check_mx,
            dry_run=dry_run,
            progress=advance,
        )
    print_report(report, dry_run=dry_run)
    if report.rejected:
        raise typer.Exit(EXIT_FAILED)


def add(
    email: str,
    consent_source: Annotated[
        str, typer.Option(help="Where consent was given, e.g. 'web form /contact, 2026-11-02'.")
    ],
    first_name: str | None = None,
    last_name: str | None = None,
    company: str | None = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-2, e.g. DE.")] = None,
    time_zone: Annotated[str | None, typer.Option(help="IANA zone, e.g. Europe/Berlin.")] = None,
    language: Annotated[str | None, typer.Option(help="Language tag, e.g. de, zh-CN.")] = None,
    external_id: Annotated[
        str | None,
        typer.Option(
            help="Your own id of the contact (the CRM's), unique: business events and "
            "POST /api/enrollments may name the contact by it. A new one replaces the old."
        ),
    ] = None,
    consent_wording: str | None = None,
    consent_evidence: str | None = None,
    consent_time: Annotated[
        datetime | None,
        typer.Option(
            help="When consent was given, UTC (default: now). Needed to re-grant consent after "
            "a withdrawal: it must be later than the withdrawal."
        ),
    ] = None,
    check_mx: Annotated[
        bool, typer.Option("--check-mx/--no-check-mx", help="Look up the domain's MX.")
    ] = False,
) -> None:
    """Add or update a contact and record its consent in the ledger (one row of an import:
    the same checks as `nurture contacts import` and `POST /api/contacts`)."""
    row = {
        "email": email,
        "consent_source": consent_source,
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "country": country,
        "time_zone": time_zone,
        "language": language,
        "external_id": external_id,
        "consent_wording": consent_wording,
        "consent_evidence": consent_evidence,
        "consent_time": consent_time.isoformat() if consent_time else None,
    }
    engine = services.engine()
    with handled_errors():
        given = {k: v for k, v in row.items() if v is not None}
        report = import_rows(engine, [SourceRow(1, given)], check_mx=check_mx)
        for problem in report.rejected:
            raise InvalidInput(problem.field, problem.reason)
        contact_id = contact_id_by_email(engine, email)
    known_as = f", external id {external_id.strip()}" if external_id and external_id.strip() else ""
    console.print(f"contact {contact_id} ({normalise_email(email)}{known_as}) saved with consent")


def opt_in(
    email: Annotated[str, typer.Argument(help="The contact's address.")],
    sender: Annotated[str, typer.Option(help="Sender id whose name and address it carries.")] = (
        "default"
    ),
) -> None:
    """Email the contact a double opt-in link; its confirmation makes it mailable."""
    from activities.contacts.double_opt_in import OptInStatus

    with handled_errors():
        contact_id = contact_id_by_email(services.engine(), email)
        try:
            result = services.opt_in().request(contact_id, sender_id=sender)
        except SenderNotFound as exc:  # named by the user, as the API's query parameter
            raise InvalidInput("sender", str(exc)) from exc
    if result.status == OptInStatus.ALREADY_CONFIRMED:
        console.print(f"{email} already confirmed; nothing sent.")
    else:
        console.print(f"confirmation email sent to {email}.")


__all__ = ["add", "import_", "opt_in", "print_report"]
