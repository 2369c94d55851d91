"""`nurture enrollment pause|resume|cancel`: ops control of one contact's enrollment in a sequence
(`EnrollmentControl`, as `/api/enrollments/{id}/{action}`)."""

from __future__ import annotations

from typing import Annotated

import typer

from activities.contacts.store import contact_id_by_email
from activities.enrollment.control import ControlAction
from cli import services
from cli.output import console, handled_errors
from models.enrollment import enrollment_workflow_id
from models.errors import EnrollmentNotFound

app = typer.Typer(help="One enrollment: pause, resume, cancel.", no_args_is_help=True)

Email = Annotated[str, typer.Option(help="The contact's address.")]
Sequence = Annotated[str, typer.Option(help="The sequence.")]


def run(email: str, sequence: str, action: ControlAction, reason: str | None = None) -> None:
    with handled_errors():
        workflow_id = enrollment_workflow_id(
            sequence, contact_id_by_email(services.engine(), email)
        )
        try:
            services.enrollment_control().queue(workflow_id, action, reason)
        except EnrollmentNotFound:
            raise EnrollmentNotFound(f"{email} is not enrolled in {sequence}") from None
    console.print(f"{action} queued for {workflow_id} (the API's forwarder delivers it)")


@app.command("pause")
def pause(email: Email, sequence: Sequence = "trade_intro") -> None:
    """Hold the enrollment's sends; its waits keep counting."""
    run(email, sequence, ControlAction.PAUSE)


@app.command("resume")
def resume(email: Email, sequence: Sequence = "trade_intro") -> None:
    """Let it send again."""
    run(email, sequence, ControlAction.RESUME)


@app.command("cancel")
def cancel(email: Email, sequence: Sequence = "trade_intro", reason: str | None = None) -> None:
    """End it with outcome `cancelled`."""
    run(email, sequence, ControlAction.CANCEL, reason)
