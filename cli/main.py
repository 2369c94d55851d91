"""The `nurture` command line (Typer): dev stack, worker, API, simulator, enroll, contacts, senders,
business events, db."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import privacy, services
from cli.cohorts import app as cohort_app
from cli.contacts import add as contacts_add
from cli.contacts import import_ as contacts_import
from cli.contacts import opt_in as contacts_opt_in
from cli.enrollments import app as enrollment_app
from cli.events import app as events_app
from cli.lint import lint
from cli.output import console, fail, handled_errors
from cli.preview import preview
from cli.replay_check import app as sequences_app
from cli.scaffold import app as new_app
from cli.senders import app as senders_app
from cli.simulate import simulate
from models import config_check
from models.log_setup import configure_logging
from models.settings import get_settings

if TYPE_CHECKING:
    from uuid import UUID

app = typer.Typer(
    help="nurture: consent-aware follow-up sequences on Temporal.", no_args_is_help=True
)
contacts_app = typer.Typer(help="Contacts and their consent.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")
app.add_typer(senders_app, name="senders")
app.add_typer(db_app, name="db")
app.command("lint")(lint)
app.command("preview")(preview)
app.command("simulate")(simulate)
app.add_typer(cohort_app, name="cohort")
app.add_typer(enrollment_app, name="enrollment")
app.add_typer(events_app, name="events")
app.add_typer(sequences_app, name="sequences")
app.add_typer(new_app, name="new")
contacts_app.command("erase")(privacy.erase)
contacts_app.command("import")(contacts_import)
contacts_app.command("opt-in")(contacts_opt_in)
contacts_app.command("export")(privacy.export)
contacts_app.command("add")(contacts_add)


@app.command()
def dev(
    no_ui: Annotated[
        bool, typer.Option("--no-ui", help="Run the Temporal server headless.")
    ] = False,
    temporal_port: Annotated[
        int | None, typer.Option(help="Temporal frontend port (7233).")
    ] = None,
    ui_port: Annotated[int | None, typer.Option(help="Temporal Web UI port (8233).")] = None,
    api_port: Annotated[int | None, typer.Option(help="API port (8000).")] = None,
    simulator_port: Annotated[int | None, typer.Option(help="ESP simulator port (8025).")] = None,
) -> None:
    """Run everything on this machine: Temporal, worker, API, ESP simulator, and a demo cohort.

    Ctrl-C, SIGTERM or a closed terminal stops every process; if `nurture dev` is killed
    outright, its children die with it. A busy port is named, with its holder, before anything
    starts."""
    from cli.devstack import run_dev
    from cli.processes import ProcessFailed

    overrides: dict[str, Any] = {
        # A local stack on the simulator, whatever NURTURE_ENV says: its children run as dev.
        "env": "dev",
        "temporal_port": temporal_port,
        "temporal_ui_port": ui_port,
        "api_port": api_port,
        "simulator_port": simulator_port,
    }
    settings = get_settings().model_copy(
        update={k: v for k, v in overrides.items() if v is not None}
    )
    configure_logging(settings)
    try:
        run_dev(settings, console, ui=not no_ui)
    except ProcessFailed as exc:
        fail(str(exc))


@app.command()
def worker() -> None:
    """Run a worker (polls the task queue until Ctrl-C)."""
    config_check.exit_unless_fit(get_settings(), "worker")  # before connecting to anything
    import worker as worker_module

    with handled_errors():  # e.g. a NURTURE_SEQUENCES module that does not load
        worker_module.main()


@app.command()
def api(
    host: str = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Defaults to NURTURE_API_PORT.")] = None,
) -> None:
    """Run the HTTP API (webhooks, unsubscribe, ops API, dashboard)."""
    settings = get_settings()
    config_check.exit_unless_fit(settings, "api")  # before connecting to anything
    import uvicorn

    from workflows.registry import configure

    with handled_errors():  # a NURTURE_SEQUENCES module that does not load: one line, exit 1
        configure(get_settings().sequences)

    # The app writes one access line per request itself (route templates, never tokens).
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=host,
        port=port or settings.api_port,
        access_log=False,
    )


@app.command("check-config")
def check_config() -> None:
    """Say whether this configuration is fit for production (exit 0) or which variables are not
    (exit 2), as `nurture api` and `nurture worker` check it under NURTURE_ENV=production."""
    found = config_check.problems(get_settings())
    config_check.report(found, sys.stdout)
    if found:
        raise typer.Exit(config_check.EXIT_UNFIT)


@app.command()
def simulator(
    host: str = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Defaults to NURTURE_SIMULATOR_PORT.")] = None,
) -> None:
    """Run the SendGrid-compatible ESP simulator."""
    settings = get_settings()
    from simulator.__main__ import main as sim_main

    sys.argv = [
        "simulator",
        "--host",
        host,
        "--port",
        str(port or settings.simulator_port),
        "--api-key",
        settings.sendgrid_api_key,
    ]
    sim_main()


@app.command()
def enroll(
    email: Annotated[
        str, typer.Option(help="The contact's address (the contact must exist, with consent).")
    ],
    sequence: Annotated[str, typer.Option(help="Sequence name, e.g. trade_intro.")] = "trade_intro",
    sender: Annotated[str, typer.Option(help="Sender id.")] = "default",
    cohort: Annotated[
        str | None, typer.Option(help="Cohort id to tag the enrollment with.")
    ] = None,
    no_send_windows: Annotated[
        bool,
        typer.Option("--no-send-windows", help="Send steps when due, ignoring business hours."),
    ] = False,
    params: Annotated[
        str | None,
        typer.Option(help='Sequence parameters as JSON, e.g. \'{"open_window": "P1D"}\'.'),
    ] = None,
) -> None:
    """Enroll one contact in a sequence."""
    from activities.contacts.store import contact_id_by_email
    from activities.enrollment.enrolling import EnrollmentService
    from cli.cohorts import parse_params

    parsed = parse_params(params)
    settings = get_settings()

    async def go(contact_id: UUID) -> str:
        service = EnrollmentService(
            services.engine(), await services.temporal(), settings.task_queue
        )
        return await service.enroll(
            sequence,
            contact_id,
            cohort_id=cohort,
            sender_id=sender,
            params=parsed,
            send_windows=not no_send_windows,
        )

    with handled_errors():
        workflow_id = asyncio.run(go(contact_id_by_email(services.engine(), email)))
    console.print(f"enrolled: [bold]{workflow_id}[/]")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or upgrade the database schema."""
    from models.db import upgrade

    upgrade(get_settings().effective_database_url, revision)
    console.print("database schema is up to date")


if __name__ == "__main__":
    app()
