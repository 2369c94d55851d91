"""`nurture dev`: the whole stack on one machine — Temporal dev server persisted under
`.nurture/`, ESP simulator, API, worker — plus sample contacts, a demo cohort (started through
the cohort service, its funnel moving within a minute), a demo quote request that triggers
quote_followup, and a guide to which page shows what."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from rich.console import Console
from sqlmodel import func, select
from temporalio.client import Client

from activities.cohorts.service import CohortService
from activities.contacts.store import ConsentEvidence, upsert_contact
from activities.deliverability.content_lint import lint_before_start
from activities.deliverability.senders import ensure_sender
from activities.events.business import BusinessEventService
from activities.events.signature import generate_key_pair, public_key_of
from activities.events.triggers import TriggerRunner
from cli.busy_ports import busy_port_message, port_busy
from cli.processes import ChildProcess, ProcessFailed, free_port, temporal_dev_server
from models.db import get_engine, session_scope, upgrade
from models.settings import DEV_API_TOKEN, Settings
from models.tables import Cohort, CohortMember
from models.temporal_client import connect

DEMO_SENDER = {
    "from_email": "li.wei@ningbo-parts.example",
    "from_name": "Li Wei, Ningbo Precision Parts",
    "postal_address": "88 Harbour Road, Beilun District, Ningbo 315800, China",
    "time_zone": "Asia/Shanghai",
    # A warmed-up demo identity: the simulator delivers nothing, so no ramp is needed here.
    "warmup_start": 500,
    "warmup_ceiling": 500,
    "daily_cap": 500,
}

#: Sample buyers. Addresses on example domains: the simulator never delivers anything.
DEMO_CONTACTS = [
    {
        "email": "anna.schmidt@maschinen.example.de",
        "first_name": "Anna",
        "company": "Schmidt Maschinen GmbH",
        "country": "DE",
        "time_zone": "Europe/Berlin",
    },
    {
        "email": "j.dupont@outillage.example.fr",
        "first_name": "Julien",
        "company": "Outillage Dupont SARL",
        "country": "FR",
        "time_zone": "Europe/Paris",
    },
    {
        "email": "purchasing@rotterdam-trading.example.nl",
        "company": "Rotterdam Trading BV",
        "country": "NL",
    },
    {
        "email": "m.garcia@suministros.example.es",
        "first_name": "María",
        "company": "Suministros García",
        "country": "ES",
        "language": "es",
    },
    {
        "email": "buyer@midwest-industrial.example.com",
        "first_name": "Tom",
        "company": "Midwest Industrial Supply",
        "country": "US",
        "time_zone": "America/Chicago",
    },
]

#: The demo runs trade_intro in minutes instead of days, so the funnel moves while you watch.
DEMO_PARAMS = {"open_window": "PT30S", "case_study_after": "PT60S", "offer_after": "PT45S"}

#: How long stopping the whole stack may take before the children left are SIGKILLed.
STOP_SECONDS = 10.0

#: The signals that stop `nurture dev` cleanly: Ctrl-C, `kill` (systemd, IDE stop buttons, CI
#: timeouts) and a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class PortsBusy(ProcessFailed):
    """A port `nurture dev` needs is taken; the message names each and, where it can, its holder."""


@dataclass
class DevStack:
    """The children of `nurture dev`, started in order and stopped in reverse."""

    settings: Settings
    console: Console
    ui: bool = True
    #: The simulator's event scenario: `lively` keeps the demo funnel moving within a minute.
    scenario: str = "lively"

    def __post_init__(self) -> None:
        self.data_dir = self.settings.data_dir.resolve()
        self.log_dir = self.data_dir / "logs"
        self.children: list[ChildProcess] = []
        #: Where the worker serves Temporal SDK metrics (NURTURE_WORKER_METRICS_PORT, else free).
        self.worker_metrics_port = self.settings.worker_metrics_port or free_port()

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.simulator_port}"

    def webhook_key(self) -> tuple[Path, str]:
        """The simulator's signing key (kept under data_dir) and its public half for the API."""
        path = self.data_dir / "webhook-signing-key.pem"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            private_pem, _ = generate_key_pair()
            path.write_text(private_pem)
            path.chmod(0o600)
        return path, public_key_of(path.read_text())

    def child_env(self) -> dict[str, str]:
        s = self.settings
        _, public_key = self.webhook_key()
        return {
            # The simulator's key and host, the built-in secrets: a dev stack, never production.
            "NURTURE_ENV": "dev",
            "NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY": public_key,
            "NURTURE_DATA_DIR": str(self.data_dir),
            "NURTURE_DATABASE_URL": s.effective_database_url,
            "NURTURE_TEMPORAL_ADDRESS": f"127.0.0.1:{s.temporal_port}",
            "NURTURE_TEMPORAL_NAMESPACE": s.temporal_namespace,
            "NURTURE_TEMPORAL_UI_URL": f"http://localhost:{s.temporal_ui_port}",
            "NURTURE_TASK_QUEUE": s.task_queue,
            "NURTURE_SENDGRID_HOST": self.simulator_url,
            "NURTURE_SENDGRID_API_KEY": s.sendgrid_api_key,
            "NURTURE_PUBLIC_URL": s.public_url,
            "NURTURE_SIMULATOR_PORT": str(s.simulator_port),
            "NURTURE_WORKER_METRICS_PORT": str(self.worker_metrics_port),
            # Bytecode even where PYTHONDONTWRITEBYTECODE is set, kept under the data directory:
            # without it the workflow sandbox recompiles the workflow modules from source for
            # every workflow it runs (bench/README.md).
            "PYTHONDONTWRITEBYTECODE": "",
            "PYTHONPYCACHEPREFIX": str(self.data_dir / "pycache"),
        }

    def ports(self) -> list[tuple[str, int, str]]:
        """(what, port, how to change it) for every port the stack will listen on."""
        s = self.settings
        named = [("Temporal", s.temporal_port, "--temporal-port or NURTURE_TEMPORAL_PORT")]
        if self.ui:
            named.append(
                ("Temporal UI", s.temporal_ui_port, "--ui-port or NURTURE_TEMPORAL_UI_PORT")
            )
        named.append(("API", s.api_port, "--api-port or NURTURE_API_PORT"))
        named.append(
            ("ESP simulator", s.simulator_port, "--simulator-port or NURTURE_SIMULATOR_PORT")
        )
        named.append(("worker metrics", self.worker_metrics_port, "NURTURE_WORKER_METRICS_PORT"))
        return named

    def check_ports(self) -> None:
        """Raise `PortsBusy` naming every port that is taken or given twice, before anything
        starts: a child failing on its port later would leave the others half started."""
        problems: list[str] = []
        seen: dict[int, str] = {}
        for label, port, option in self.ports():
            if port in seen:
                problems.append(f"port {port} is given to both {seen[port]} and {label} ({option})")
            else:
                try:
                    if port_busy(port):
                        problems.append(busy_port_message(label, port, option))
                except OSError as exc:  # e.g. a port below 1024 without the right to bind it
                    problems.append(f"port {port} ({label}) cannot be used: {exc.strerror}")
            seen.setdefault(port, label)
        if problems:
            raise PortsBusy("\n  ".join(["nothing was started:", *problems]))

    def _start(self, child: ChildProcess, port: int | None) -> None:
        self.children.append(child)  # before it starts: a signal during the start stops it too
        child.start()
        if port is not None:
            child.wait_for_port(port)

    def start(self) -> None:
        self.check_ports()
        s = self.settings
        py = sys.executable
        env = self.child_env()
        self.console.print(f"[bold]nurture dev[/] · data in {self.data_dir}")
        upgrade(s.effective_database_url)
        self._start(
            temporal_dev_server(
                self.log_dir,
                db_file=self.data_dir / "temporal.db",
                port=s.temporal_port,
                ui_port=s.temporal_ui_port if self.ui else None,
            ),
            s.temporal_port,
        )
        self._start(
            ChildProcess(
                "simulator",
                [
                    py,
                    "-m",
                    "simulator",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(s.simulator_port),
                    "--api-key",
                    s.sendgrid_api_key,
                    "--webhook-url",
                    f"http://127.0.0.1:{s.api_port}/webhooks/sendgrid/events",
                    "--inbound-url",
                    f"http://127.0.0.1:{s.api_port}/webhooks/sendgrid/inbound",
                    "--webhook-private-key-file",
                    str(self.webhook_key()[0]),
                    "--scenario",
                    self.scenario,
                ],
                self.log_dir,
                env,
            ),
            s.simulator_port,
        )
        self._start(
            ChildProcess(
                "api",
                [
                    py,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "api.app:app_from_env",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(s.api_port),
                ],
                self.log_dir,
                env,
            ),
            s.api_port,
        )
        self._start(ChildProcess("worker", [py, "-m", "worker"], self.log_dir, env), None)

    def stop(self) -> None:
        """Worker first, Temporal last, within `STOP_SECONDS` in all: a child still running at
        the deadline is SIGKILLed."""
        deadline = time.monotonic() + STOP_SECONDS
        for child in reversed(self.children):
            child.stop(timeout=deadline - time.monotonic())
        self.children.clear()

    def check_alive(self) -> None:
        for child in self.children:
            if not child.running:
                raise ProcessFailed(f"{child.name} stopped; see {child.log_path}")


def seed(engine: sa.Engine) -> list[str]:
    """The demo sender and sample contacts, each with consent evidence; returns their addresses."""
    ensure_sender(engine, "default", **DEMO_SENDER)
    evidence = ConsentEvidence(
        source="nurture dev: sample data",
        wording="I agree to receive product information by email.",
        evidence="seeded by `nurture dev`",
    )
    for row in DEMO_CONTACTS:
        upsert_contact(engine, consent=evidence, **row)  # type: ignore[arg-type]
    return [row["email"] for row in DEMO_CONTACTS]


#: The demo cohort's name: `nurture dev` starts it once per data directory and shows it after.
DEMO_COHORT_NAME = "nurture dev demo: trade_intro"
#: The demo business event: a quote request from the first sample buyer, which enrolls her in
#: quote_followup (its trigger). Its id is the caller's idempotency key: stored once per data dir.
DEMO_EVENT_ID = "nurture-dev-demo-quote-request"
#: How long the demo quote is valid (its `valid_until`), from today.
DEMO_QUOTE_VALID = timedelta(days=14)


@dataclass(frozen=True)
class Demo:
    """What the demo started: the cohort and the triggered quote_followup enrollment."""

    cohort_id: str
    cohort_members: int
    quote_workflow_id: str | None


def _lint_or_fail(settings: Settings, console: Console, sequence: str) -> None:
    report = lint_before_start(sequence, settings.templates_dir)
    for finding in report.warnings:
        console.print(f"[yellow]lint warning[/] {finding.template}: {finding.message}")
    if not report.ok:
        for finding in report.errors:
            console.print(
                f"[bold red]lint error[/] {finding.template}: {finding.message} — {finding.fix}"
            )
        raise ProcessFailed(
            f"the demo was not started: {sequence}'s templates fail the content lint"
        )


def _existing_demo_cohort(engine: sa.Engine) -> tuple[str, int] | None:
    """The demo cohort an earlier `nurture dev` on this data directory started, and its members."""
    with session_scope(engine) as session:
        cohort = session.exec(select(Cohort).where(Cohort.name == DEMO_COHORT_NAME)).first()
        if cohort is None:
            return None
        members = session.exec(
            select(func.count())
            .select_from(CohortMember)
            .where(CohortMember.cohort_id == cohort.id)
        ).one()
        return cohort.id, int(members)


async def start_demo_cohort(
    settings: Settings, engine: sa.Engine, console: Console, client: Client
) -> tuple[str, int]:
    """The sample buyers as a real cohort, started through the cohort service (content lint, the
    durable launch) with trade_intro's timings in seconds, so its funnel moves within a minute."""
    from activities.contacts.store import contact_id_by_email

    _lint_or_fail(settings, console, "trade_intro")
    contact_ids = [contact_id_by_email(engine, email) for email in seed(engine)]
    existing = _existing_demo_cohort(engine)
    if existing is not None:
        console.print(f"demo cohort [bold]{existing[0]}[/] (started earlier on this data)")
        return existing
    service = CohortService(engine, client, settings.task_queue, settings.templates_dir)
    started = await service.start(
        name=DEMO_COHORT_NAME,
        sequence="trade_intro",
        contact_ids=contact_ids,
        params=DEMO_PARAMS,
        send_windows=False,
    )
    console.print(f"demo cohort [bold]{started.cohort_id}[/]: {started.members} members launching")
    return started.cohort_id, started.members


async def send_demo_quote_request(
    settings: Settings, engine: sa.Engine, console: Console, client: Client
) -> str | None:
    """A `quote_requested` business event for the first sample buyer, stored and run through the
    triggers as `POST /api/events` does: it enrolls her in quote_followup, whose quote goes at
    once. The workflow id, or None when the event was stored before (a restart)."""
    _lint_or_fail(settings, console, "quote_followup")
    buyer = DEMO_CONTACTS[0]
    valid_until = (datetime.now(UTC) + DEMO_QUOTE_VALID).date().isoformat()
    report = BusinessEventService(engine).store(
        [
            {
                "id": DEMO_EVENT_ID,
                "name": "quote_requested",
                "contact": {"email": buyer["email"]},
                "properties": {
                    "product": "M8 stainless hex bolts",
                    "quote_number": "Q-0142",
                    "quantity": "20,000 pcs",
                    "valid_until": valid_until,
                },
            }
        ]
    )
    if report.rejected:
        raise ProcessFailed(f"the demo quote request was refused: {report.results[0].reason}")

    async def connected() -> Client:
        return client

    outcomes = await TriggerRunner(engine, connected, settings.task_queue).run_for(
        report.triggered_event_ids
    )
    enrolled = [o.workflow_id for o in outcomes if o.enrolled and o.workflow_id]
    if enrolled:
        console.print(f"demo quote request: enrolled in [bold]{enrolled[0]}[/]")
        return enrolled[0]
    if report.duplicates:
        console.print("demo quote request: sent earlier on this data")
    for outcome in outcomes:
        if not outcome.enrolled:
            console.print(f"[yellow]demo quote request not enrolled:[/] {outcome.reason}")
    return None


async def start_demo(settings: Settings, engine: sa.Engine, console: Console) -> Demo:
    """The demo cohort and the triggered quote_followup enrollment."""
    client = await connect(settings, address=f"127.0.0.1:{settings.temporal_port}")
    cohort_id, members = await start_demo_cohort(settings, engine, console, client)
    quote = await send_demo_quote_request(settings, engine, console, client)
    return Demo(cohort_id, members, quote)


def guide(settings: Settings, demo: Demo, *, ui: bool, worker_metrics_port: int) -> str:
    """What to open first, page by page: printed once the stack and the demo are up."""
    s = settings
    api = f"http://localhost:{s.api_port}"
    token = " (log in with NURTURE_API_TOKEN" + (
        f" = {DEV_API_TOKEN})" if s.api_token == DEV_API_TOKEN else ")"
    )
    temporal = (
        f"  http://localhost:{s.temporal_ui_port}/  Temporal UI: each enrollment's workflow and "
        "its history (filter NurtureSequence = 'trade_intro')\n"
        if ui
        else f"  Temporal at 127.0.0.1:{s.temporal_port} (headless)\n"
    )
    quote = (
        f"{api}/business-events  the demo quote request and the quote_followup enrollment it "
        f"started ({demo.quote_workflow_id}); its quote is mailed at once\n"
        if demo.quote_workflow_id
        else f"{api}/business-events  business events and the enrollments they triggered\n"
    )
    return (
        "\n[bold green]nurture is running.[/] Ctrl-C stops everything.\n\n"
        f"[bold]Start here[/]{token}:\n"
        f"  {api}/  cohorts: the demo cohort's funnel (sent, opened, clicked, replied) fills "
        "within a minute\n"
        f"  {api}/cohorts/{demo.cohort_id}  the demo cohort: {demo.cohort_members} sample buyers "
        "step by step, outcomes, each enrollment\n"
        f"  {quote}"
        f"  {api}/replies  replies the simulator sends back, each with its intent\n"
        f"  {api}/events  every ESP event (delivered, open, click, bounce) as it arrives\n"
        f"  {api}/senders  the demo sender's quota and health\n"
        + temporal
        + f"  http://localhost:{s.simulator_port}/_sim/messages  every mail the ESP simulator "
        "received (JSON)\n\n"
        "[bold]For sequence authors[/]: nurture preview trade_intro · nurture simulate trade_intro "
        '--events "open@2h,click@3d" --country DE\n'
        f"[dim]API {api}/healthz · metrics {api}/metrics · worker metrics "
        f"http://localhost:{worker_metrics_port}/metrics[/]\n"
    )


def funnel_line(simulator_url: str) -> str:
    try:
        messages = httpx.get(f"{simulator_url}/_sim/messages", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return "simulator not answering"
    steps = Counter(m.get("categories", ["", "?"])[-1].split("/")[-1] for m in messages)
    parts = ", ".join(f"{k} {v}" for k, v in sorted(steps.items())) or "none yet"
    return f"{len(messages)} mails in the simulator ({parts})"


def _stop_on_signals() -> None:
    """Ctrl-C, `kill` (SIGTERM) and a closed terminal (SIGHUP) all stop the whole stack. Set
    explicitly, and unblocked: a process inherits its parent's ignored signals (a non-interactive
    shell's background job ignores SIGINT) and its blocked-signal mask (a parent whose thread
    blocked SIGINT), and either would leave Python never raising KeyboardInterrupt. Only the first
    one interrupts: a second Ctrl-C must not abandon the stop halfway (it is bounded anyway)."""

    def interrupt(signum: int, frame: object) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt

    for sig in STOP_SIGNALS:
        signal.signal(sig, interrupt)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, set(STOP_SIGNALS))


def run_dev(settings: Settings, console: Console, *, ui: bool = True) -> None:
    _stop_on_signals()
    stack = DevStack(settings, console, ui=ui)
    stack.check_ports()  # here too, so a refusal is not followed by "stopped."
    try:
        stack.start()
        engine = get_engine(settings.effective_database_url)
        demo = asyncio.run(start_demo(settings, engine, console))
        console.print(
            guide(settings, demo, ui=ui, worker_metrics_port=stack.worker_metrics_port),
            soft_wrap=True,
        )
        console.print(f"  logs {stack.log_dir}")
        last = ""
        while True:
            stack.check_alive()
            line = funnel_line(stack.simulator_url)
            if line != last:
                console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {line}")
                last = line
            time.sleep(3)
    except KeyboardInterrupt:
        console.print("\nstopping…")
    finally:
        stack.stop()
        console.print("stopped.")


__all__ = [
    "DEMO_COHORT_NAME",
    "DEMO_CONTACTS",
    "DEMO_EVENT_ID",
    "DEMO_PARAMS",
    "STOP_SECONDS",
    "Demo",
    "DevStack",
    "PortsBusy",
    "guide",
    "run_dev",
    "seed",
    "send_demo_quote_request",
    "start_demo",
    "start_demo_cohort",
]
