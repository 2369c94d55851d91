"""`nurture contacts erase|export`: a contact's GDPR erasure and export by address (the same
service as `/api/contacts/{id}`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from activities.contacts.privacy import ErasureReport, PrivacyService
from models.db import get_engine
from models.errors import ContactNotFound, InvalidInput
from models.settings import get_settings

console = Console()
err = Console(stderr=True)


def service() -> PrivacyService:
    return PrivacyService(get_engine(get_settings().effective_database_url))


def show_report(report: ErasureReport) -> None:
    console.print(f"[bold green]erased[/] contact {report.contact_id}")
    console.print(f"  live enrollments cancelled: {report.enrollments_cancelled}")
    console.print(f"  enrollments deleted:        {report.enrollments_deleted}")
    console.print(f"  consent records deleted:    {report.consent_records_deleted}")
    console.print(f"  messages deleted:           {report.messages_deleted}")
    console.print(f"  events deleted:             {report.events_deleted}")
    console.print(f"  cohort memberships deleted: {report.cohort_memberships_deleted}")
    console.print(
        "  address suppressed (by hash)"
        + ("" if report.suppression_added else ", as it already was")
    )


def erase(
    email: Annotated[str, typer.Argument(help="The contact's address.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a contact (GDPR): delete them and all tied to them, keep the address suppressed."""
    if not yes:
        typer.confirm(
            f"Erase {email} and everything held on them? This cannot be undone", abort=True
        )
    try:
        report = service().erase(email)
    except InvalidInput as exc:
        err.print(f"[bold red]error:[/] {exc.field}: {exc.reason}")
        raise typer.Exit(2) from None
    if not report.erased:
        err.print(f"no contact with address {email} (never held, or already erased); nothing done")
        raise typer.Exit(1)
    show_report(report)


def export(
    email: Annotated[str, typer.Argument(help="The contact's address.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Export everything held on a contact (GDPR Art. 15) as JSON."""
    try:
        data = service().export(email)
    except InvalidInput as exc:
        err.print(f"[bold red]error:[/] {exc.field}: {exc.reason}")
        raise typer.Exit(2) from None
    except ContactNotFound:
        err.print(f"[bold red]error:[/] no contact with address {email}")
        raise typer.Exit(1) from None
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(text)
        return
    output.write_text(text + "\n", encoding="utf-8")
    err.print(f"written to {output}")


__all__ = ["erase", "export"]
