"""`nurture contacts erase|export`: a contact's GDPR erasure and export by address (the same
service as `/api/contacts/{id}`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from activities.contacts.privacy import ErasureReport, PrivacyService
from cli import services
from cli.output import console, err, handled_errors
from models.errors import ContactNotFound


def service() -> PrivacyService:
    return services.privacy()


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
    with handled_errors():
        report = service().erase(email)
        if not report.erased:
            raise ContactNotFound(
                f"no contact with address {email} (never held, or already erased); nothing done"
            )
    show_report(report)


def export(
    email: Annotated[str, typer.Argument(help="The contact's address.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Export everything held on a contact (GDPR Art. 15) as JSON."""
    with handled_errors():
        try:
            data = service().export(email)
        except ContactNotFound:
            raise ContactNotFound(f"no contact with address {email}") from None
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if output is None:
        typer.echo(text)
        return
    output.write_text(text + "\n", encoding="utf-8")
    err.print(f"written to {output}")


__all__ = ["erase", "export"]
