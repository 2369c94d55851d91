"""`nurture enrollment pause|resume|cancel`: ops control of one contact's enrollment in a sequence."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from activities.contacts.store import contact_id_by_email
from activities.enrollment.control import control_enrollment
from models.db import get_engine, session_scope
from models.enrollment import enrollment_workflow_id
from models.errors import EnrollmentNotFound, InvalidInput
from models.settings import get_settings

app = typer.Typer(help="One enrollment: pause, resume, cancel.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

Email = Annotated[str, typer.Option(help="The contact's address.")]
Sequence = Annotated[str, typer.Option(help="The sequence.")]


def run(email: str, sequence: str, action: str, reason: str | None = None) -> None:
    engine = get_engine(get_settings().effective_database_url)
    try:
        workflow_id = enrollment_workflow_id(sequence, contact_id_by_email(engine, email))
        with session_scope(engine) as session:
            control_enrollment(session, workflow_id, action, reason)
    except InvalidInput as exc:
        err.print(f"[bold red]error:[/] {exc.field}: {exc.reason}")
        raise typer.Exit(2) from None
    except EnrollmentNotFound:
        err.print(f"[bold red]error:[/] {email} is not enrolled in {sequence}")
        raise typer.Exit(1) from None
    console.print(f"{action} queued for {workflow_id} (the API's forwarder delivers it)")


@app.command("pause")
def pause(email: Email, sequence: Sequence = "trade_intro") -> None:
    """Hold the enrollment's sends; its waits keep counting."""
    run(email, sequence, "pause")


@app.command("resume")
def resume(email: Email, sequence: Sequence = "trade_intro") -> None:
    """Let it send again."""
    run(email, sequence, "resume")


@app.command("cancel")
def cancel(email: Email, sequence: Sequence = "trade_intro", reason: str | None = None) -> None:
    """End it with outcome `cancelled`."""
    run(email, sequence, "cancel", reason)
