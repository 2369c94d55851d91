"""Every ops action through both doors — the `nurture` CLI and the HTTP API — on one database:
the same effect (rows, outbox signals, Temporal signals, mail), and the same answer to the same
mistake (CLI exit 0/1/2 ↔ HTTP 2xx / 404·409 / 422·400). Temporal is a recording stand-in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select
from typer.testing import CliRunner, Result

from api.app import create_app
from api.deps import temporal_connector
from cli import cohorts as cli_cohorts
from cli import services as cli_services
from cli.main import app as cli_app
from models.cohort import CohortLaunchInput, cohort_launch_workflow_id
from models.db import get_engine, session_scope
from models.enrollment import enrollment_workflow_id
from models.settings import Settings, get_settings
from models.tables import (
    Cohort,
    CohortMember,
    CohortStatus,
    ConsentAction,
    ConsentRecord,
    Contact,
    Enrollment,
    Event,
    EventSignal,
    Sender,
    Suppression,
    address_hash,
)
from models.wire import SENDER_RESUMED_SIGNAL
from tests.factories import make_contact, make_sender, make_sent_message, withdraw_consent
from tests.sim_fixtures import SIM_API_KEY

TOKEN = "both-doors-token"
DOORS = ["cli", "api"]

#: The outcome both doors must agree on, from the CLI's exit code or the API's status.
OK, NOT_DONE, BAD_INPUT = "ok", "not done", "bad input"
CLI_OUTCOMES = {0: OK, 1: NOT_DONE, 2: BAD_INPUT}
API_OUTCOMES = {404: NOT_DONE, 409: NOT_DONE, 400: BAD_INPUT, 422: BAD_INPUT}


@dataclass
class FakeTemporal:
    """What the doors ask of the Temporal client: a visibility list of the held workflows;
    signals and workflow starts are recorded."""

    held: list[str] = field(default_factory=list)
    signals: list[tuple[str, str, tuple[Any, ...]]] = field(default_factory=list)
    started: list[tuple[str, Any, str]] = field(default_factory=list)

    async def list_workflows(self, query: str) -> AsyncIterator[SimpleNamespace]:
        assert "sender_paused" in query
        for workflow_id in self.held:
            yield SimpleNamespace(id=workflow_id)

    def get_workflow_handle(self, workflow_id: str) -> SimpleNamespace:
        async def signal(name: str, *args: Any) -> None:
            self.signals.append((workflow_id, str(name), args))

        return SimpleNamespace(signal=signal)

    async def start_workflow(self, workflow: str, arg: Any, *, id: str, task_queue: str) -> None:
        self.started.append((workflow, arg, id))


@dataclass
class Doors:
    """Runs one action through the door a test is parametrized with."""

    door: str
    client: TestClient
    runner: CliRunner
    last: Result | httpx.Response | None = None

    def run(self, cli: list[str], api: tuple[str, str, dict[str, Any]]) -> str:
        if self.door == "cli":
            result = self.runner.invoke(cli_app, cli)
            self.last = result
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            assert "No such option" not in result.output, result.output  # a mistake in the test
            return CLI_OUTCOMES[result.exit_code]
        method, path, kwargs = api
        headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
        response = self.client.request(method, path, headers=headers, **kwargs)
        self.last = response
        if response.is_success:
            return OK
        return API_OUTCOMES[response.status_code]

    @property
    def output(self) -> str:
        """What the user read: the command's output, or the response body."""
        if isinstance(self.last, Result):
            return self.last.output
        return self.last.text if self.last is not None else ""


@pytest.fixture
def temporal() -> FakeTemporal:
    return FakeTemporal()


@pytest.fixture
def settings(api_settings: Settings, sim) -> Settings:
    return api_settings.model_copy(
        update={"api_token": TOKEN, "sendgrid_host": sim.url, "sendgrid_api_key": SIM_API_KEY}
    )


@pytest.fixture
def engine(settings: Settings) -> sa.Engine:
    return get_engine(settings.effective_database_url)


@pytest.fixture(params=DOORS)
def doors(
    request: pytest.FixtureRequest,
    settings: Settings,
    temporal: FakeTemporal,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Doors]:
    """The API app and the CLI's environment on the same settings, both with `temporal`."""

    async def connect() -> FakeTemporal:
        return temporal

    for name in (
        "database_url",
        "secret_key",
        "public_url",
        "inbound_domain",
        "sendgrid_host",
        "sendgrid_api_key",
        "api_token",
    ):
        monkeypatch.setenv(f"NURTURE_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setattr(cli_services, "temporal_or_none", connect)
    # The CLI follows a launch until every member is enrolled: no worker runs here.
    monkeypatch.setattr(cli_cohorts, "follow_launch", lambda cohort_id, members: None)
    get_settings.cache_clear()
    app = create_app(settings, run_forwarder=False)
    app.dependency_overrides[temporal_connector] = lambda: connect
    with TestClient(app) as client:
        yield Doors(request.param, client, CliRunner())
    get_settings.cache_clear()


def enroll(
    engine: sa.Engine, contact: Contact, *, sender_id: str = "default", cohort_id: str | None = None
) -> str:
    """A live enrollment row of `sender_id` (its workflow is the recording stand-in's)."""
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    with session_scope(engine) as s:
        s.merge(
            Enrollment(
                workflow_id=workflow_id,
                sequence="trade_intro",
                contact_id=contact.id,
                sender_id=sender_id,
                cohort_id=cohort_id,
            )
        )
    return workflow_id


def outbox(engine: sa.Engine) -> list[tuple[str | None, EventSignal]]:
    with session_scope(engine) as s:
        rows = s.exec(select(Event).where(col(Event.forwarded_at).is_(None))).all()
        return sorted((r.workflow_id, r.signal) for r in rows)


def sender(engine: sa.Engine, sender_id: str) -> Sender | None:
    with session_scope(engine) as s:
        return s.get(Sender, sender_id)


# -- senders -------------------------------------------------------------------------------------


def test_resume_unpauses_and_wakes_only_that_senders_held_enrollments(
    doors: Doors, engine: sa.Engine, temporal: FakeTemporal
) -> None:
    make_sender(engine, "ningbo")
    make_sender(engine, "shenzhen", from_email="chen@shenzhen.example.cn")
    held = [enroll(engine, make_contact(engine), sender_id="ningbo") for _ in range(3)]
    other = enroll(engine, make_contact(engine), sender_id="shenzhen")
    temporal.held = [*held, other]
    for sender_id in ("ningbo", "shenzhen"):
        assert (
            doors.run(
                ["senders", "pause", sender_id, "--reason", "DNS move"],
                ("POST", f"/api/senders/{sender_id}/pause", {"json": {"reason": "DNS move"}}),
            )
            == OK
        )

    outcome = doors.run(["senders", "resume", "ningbo"], ("POST", "/api/senders/ningbo/resume", {}))

    assert outcome == OK, doors.output
    resumed, still_paused = sender(engine, "ningbo"), sender(engine, "shenzhen")
    assert resumed is not None
    assert resumed.paused_at is None
    assert still_paused is not None
    assert still_paused.paused_at is not None
    assert sorted(temporal.signals) == sorted((w, SENDER_RESUMED_SIGNAL, ()) for w in held)


def test_resume_without_temporal_still_resumes(
    doors: Doors, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable() -> None:
        return None

    monkeypatch.setattr(cli_services, "temporal_or_none", unreachable)
    doors.client.app.dependency_overrides[temporal_connector] = lambda: unreachable  # type: ignore[attr-defined]
    make_sender(engine, "ningbo")
    doors.run(
        ["senders", "pause", "ningbo", "--reason", "x"],
        ("POST", "/api/senders/ningbo/pause", {"json": {"reason": "x"}}),
    )

    outcome = doors.run(["senders", "resume", "ningbo"], ("POST", "/api/senders/ningbo/resume", {}))

    resumed = sender(engine, "ningbo")
    assert outcome == OK
    assert resumed is not None
    assert resumed.paused_at is None


SENDER = {
    "from_email": "Li.Wei@Ningbo-Parts.example",
    "from_name": "Li Wei",
    "postal_address": "88 Harbour Road, Ningbo",
}


def add_sender(doors: Doors, sender_id: str, **extra: Any) -> str:
    body = {"id": sender_id, **SENDER, **extra}
    cli = ["senders", "add", sender_id]
    for key, value in {**SENDER, **extra}.items():
        cli += [f"--{key.replace('_', '-')}", str(value)]
    return doors.run(cli, ("POST", "/api/senders", {"json": body}))


def test_add_and_change_a_sender(doors: Doors, engine: sa.Engine) -> None:
    assert add_sender(doors, "ningbo", time_zone="Asia/Shanghai", daily_cap=50) == OK
    outcome = doors.run(
        ["senders", "set", "ningbo", "--daily-cap", "10", "--from-name", "Wei Li"],
        ("PATCH", "/api/senders/ningbo", {"json": {"daily_cap": 10, "from_name": "Wei Li"}}),
    )

    assert outcome == OK
    stored = sender(engine, "ningbo")
    assert stored is not None
    assert (stored.from_email, stored.time_zone, stored.daily_cap, stored.from_name) == (
        "li.wei@ningbo-parts.example",
        "Asia/Shanghai",
        10,
        "Wei Li",
    )
    assert stored.warmup_start == 20
    assert stored.domain_hourly_cap == 10


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("bad time zone", BAD_INPUT),
        ("zero cap", BAD_INPUT),
        ("twice", BAD_INPUT),
        ("empty pause reason", BAD_INPUT),
        ("unknown sender", NOT_DONE),
    ],
)
def test_sender_mistakes_get_the_same_answer(
    doors: Doors, engine: sa.Engine, case: str, expected: str
) -> None:
    make_sender(engine, "ningbo")
    if case == "bad time zone":
        outcome = add_sender(doors, "x", time_zone="Mars/Olympus")
    elif case == "zero cap":
        outcome = add_sender(doors, "x", daily_cap=0)
    elif case == "twice":
        outcome = add_sender(doors, "ningbo")
    elif case == "empty pause reason":
        outcome = doors.run(
            ["senders", "pause", "ningbo", "--reason", " "],
            ("POST", "/api/senders/ningbo/pause", {"json": {"reason": " "}}),
        )
    else:
        outcome = doors.run(["senders", "resume", "nope"], ("POST", "/api/senders/nope/resume", {}))
    assert outcome == expected, doors.output
    stored = sender(engine, "ningbo")
    assert stored is not None
    assert stored.paused_at is None
    assert sender(engine, "x") is None


# -- one enrollment -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "signal"),
    [("pause", EventSignal.PAUSE), ("resume", EventSignal.RESUME), ("cancel", EventSignal.CANCEL)],
)
def test_enrollment_control_queues_the_signal(
    doors: Doors, engine: sa.Engine, action: str, signal: EventSignal
) -> None:
    contact = make_contact(engine)
    workflow_id = enroll(engine, contact)

    outcome = doors.run(
        ["enrollment", action, "--email", contact.email],
        ("POST", f"/api/enrollments/{workflow_id}/{action}", {}),
    )

    assert outcome == OK
    assert outbox(engine) == [(workflow_id, signal)]


def test_enrollment_control_of_no_enrollment_is_not_done(doors: Doors, engine: sa.Engine) -> None:
    contact = make_contact(engine)
    workflow_id = enrollment_workflow_id("trade_intro", contact.id)
    outcome = doors.run(
        ["enrollment", "cancel", "--email", contact.email],
        ("POST", f"/api/enrollments/{workflow_id}/cancel", {}),
    )
    assert outcome == NOT_DONE
    assert outbox(engine) == []


# -- cohorts --------------------------------------------------------------------------------------


def make_cohort(engine: sa.Engine, members: int = 2) -> tuple[str, list[str]]:
    make_sender(engine)
    with session_scope(engine) as s:
        s.add(Cohort(id="hannover-1", name="Hannover", sequence="trade_intro", sender_id="default"))
    workflows = [
        enroll(engine, make_contact(engine), cohort_id="hannover-1") for _ in range(members)
    ]
    return "hannover-1", workflows


@pytest.mark.parametrize(
    ("action", "status", "signal"),
    [
        ("pause", CohortStatus.PAUSED, EventSignal.PAUSE),
        ("resume", CohortStatus.LAUNCHING, EventSignal.RESUME),
        ("cancel", CohortStatus.CANCELLED, EventSignal.CANCEL),
    ],
)
def test_cohort_control_signals_its_launch_and_queues_each_enrollment(
    doors: Doors,
    engine: sa.Engine,
    temporal: FakeTemporal,
    action: str,
    status: CohortStatus,
    signal: EventSignal,
) -> None:
    cohort_id, workflows = make_cohort(engine)

    outcome = doors.run(
        ["cohort", action, cohort_id], ("POST", f"/api/cohorts/{cohort_id}/{action}", {})
    )

    assert outcome == OK, doors.output
    with session_scope(engine) as s:
        cohort = s.get(Cohort, cohort_id)
        assert cohort is not None
        assert cohort.status == status
    assert outbox(engine) == sorted((w, signal) for w in workflows)
    [(launch, name, _)] = temporal.signals
    assert (launch, name) == (cohort_launch_workflow_id(cohort_id), action)


@pytest.mark.parametrize(("case", "status"), [("unknown", 404), ("cancelled", 409)])
def test_cohort_control_mistakes_get_the_same_answer(
    doors: Doors, engine: sa.Engine, case: str, status: int
) -> None:
    cohort_id, _ = make_cohort(engine, members=1)
    if case == "cancelled":
        with session_scope(engine) as s:
            cohort = s.get(Cohort, cohort_id)
            assert cohort is not None
            cohort.status = CohortStatus.CANCELLED
            s.add(cohort)
    else:
        cohort_id = "no-such-cohort"

    outcome = doors.run(
        ["cohort", "pause", cohort_id], ("POST", f"/api/cohorts/{cohort_id}/pause", {})
    )

    assert outcome == NOT_DONE, doors.output
    if isinstance(doors.last, httpx.Response):
        assert doors.last.status_code == status  # not found, or a cancelled cohort: a conflict
    assert outbox(engine) == []


def test_cohort_status_or_its_absence(doors: Doors, engine: sa.Engine) -> None:
    cohort_id, _ = make_cohort(engine, members=1)
    assert (
        doors.run(["cohort", "status", cohort_id], ("GET", f"/api/cohorts/{cohort_id}", {})) == OK
    )
    assert doors.run(["cohort", "status", "nope"], ("GET", "/api/cohorts/nope", {})) == NOT_DONE


def test_cohort_start_records_members_and_starts_the_launch(
    doors: Doors, engine: sa.Engine, temporal: FakeTemporal
) -> None:
    make_sender(engine)
    for country in ("PL", "PL", "DE"):
        make_contact(engine, country=country)

    outcome = doors.run(
        ["cohort", "start", "--sequence", "trade_intro", "--name", "Poznan", "--segment",
         "country=PL", "--params", '{"open_window": "P2D"}', "--per-second", "5"],
        ("POST", "/api/cohorts", {"json": {
            "sequence": "trade_intro", "name": "Poznan", "segment": "country=PL",
            "params": {"open_window": "P2D"}, "per_second": 5,
        }}),
    )  # fmt: skip

    assert outcome == OK, doors.output
    with session_scope(engine) as s:
        [cohort] = s.exec(select(Cohort)).all()
        members = s.exec(select(CohortMember).where(CohortMember.cohort_id == cohort.id)).all()
    assert cohort.segment == {"country": "PL"}
    assert len(members) == 2
    [(workflow, launch, workflow_id)] = temporal.started
    assert workflow == "cohort_launch"
    assert workflow_id == cohort_launch_workflow_id(cohort.id)
    assert isinstance(launch, CohortLaunchInput)
    assert (launch.params, launch.per_second) == ({"open_window": "P2D"}, 5.0)


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("holdout", "0.9", "holdout"),
        ("per-second", "0", "per_second"),
        ("per-second", "5000", "per_second"),
        ("sender", "nope", "sender"),
    ],
)
def test_cohort_start_mistakes_are_bad_input_and_start_nothing(
    doors: Doors, engine: sa.Engine, temporal: FakeTemporal, option: str, value: str, field: str
) -> None:
    make_sender(engine)
    make_contact(engine, country="PL")
    body: dict[str, Any] = {"sequence": "trade_intro", "name": "x", "segment": "country=PL"}
    body[field.replace("sender", "sender_id")] = value if field == "sender" else float(value)

    outcome = doors.run(
        ["cohort", "start", "--sequence", "trade_intro", "--name", "x", "--segment", "country=PL",
         f"--{option}", value],
        ("POST", "/api/cohorts", {"json": body}),
    )  # fmt: skip

    assert outcome == BAD_INPUT, doors.output
    assert field.split("_")[0] in doors.output
    with session_scope(engine) as s:
        assert s.exec(select(Cohort)).all() == []
    assert temporal.started == []


# -- contacts -------------------------------------------------------------------------------------


def add_contact(doors: Doors, email: str, **fields: str) -> str:
    row = {"email": email, "consent_source": "Canton fair 2026", **fields}
    cli = ["contacts", "add", email, "--consent-source", row["consent_source"]]
    for key, value in fields.items():
        cli += [f"--{key.replace('_', '-')}", value]

    outcome = doors.run(cli, ("POST", "/api/contacts", {"json": [row]}))
    if isinstance(doors.last, httpx.Response) and doors.last.json()["rejected"]:
        return BAD_INPUT  # the API reports a refused row in its import report
    return outcome


def consents(engine: sa.Engine, email: str) -> list[ConsentAction]:
    with session_scope(engine) as s:
        contact = s.exec(select(Contact).where(Contact.email == email)).first()
        if contact is None:
            return []
        records = s.exec(
            select(ConsentRecord)
            .where(ConsentRecord.contact_id == contact.id)
            .order_by(col(ConsentRecord.recorded_at))
        ).all()
        return [r.action for r in records]


def test_add_a_contact_with_its_consent(doors: Doors, engine: sa.Engine) -> None:
    email = "wang@maoyi.example.cn"
    outcome = add_contact(doors, email, country="cn", time_zone="Asia/Shanghai", first_name="Wei")
    assert outcome == OK, doors.output
    with session_scope(engine) as s:
        contact = s.exec(select(Contact).where(Contact.email == email)).one()
        assert (contact.country, contact.time_zone, contact.first_name) == (
            "CN",
            "Asia/Shanghai",
            "Wei",
        )
    assert consents(engine, email) == [ConsentAction.GRANTED]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"country": "XX"}, "country"),
        ({"language": "not a tag"}, "language"),
    ],
)
def test_a_contact_the_import_refuses_is_refused_by_either_door(
    doors: Doors, engine: sa.Engine, fields: dict[str, str], field: str
) -> None:
    email = "wang@maoyi.example.cn"
    assert add_contact(doors, email, **fields) == BAD_INPUT
    assert field in doors.output
    assert consents(engine, email) == []


def test_an_unsubscribed_contact_is_not_re_granted_without_a_later_consent_time(
    doors: Doors, engine: sa.Engine
) -> None:
    contact = make_contact(engine)
    withdraw_consent(engine, contact.id)

    assert add_contact(doors, contact.email) == BAD_INPUT
    assert "consent_time" in doors.output
    assert consents(engine, contact.email)[-1] == ConsentAction.WITHDRAWN


def test_import_a_file(doors: Doors, engine: sa.Engine, tmp_path: Path) -> None:
    data = "email,country,consent_source\na@buyer.example.com,DE,fair\nb@buyer.example.com,Germany,fair\n"
    file = tmp_path / "leads.csv"
    file.write_text(data)

    outcome = doors.run(
        ["contacts", "import", str(file)],
        (
            "POST",
            "/api/contacts/import",
            {"content": data, "headers": {"Content-Type": "text/csv"}},
        ),
    )

    # Rows refused: the command exits 1 after its report, the API answers the report (200).
    assert outcome == (NOT_DONE if doors.door == "cli" else OK)
    assert "rejected 1" in doors.output or '"row_number":3' in doors.output
    with session_scope(engine) as s:
        assert [c.email for c in s.exec(select(Contact)).all()] == ["a@buyer.example.com"]


def test_opt_in_mails_the_link_or_names_the_unknown_sender(
    doors: Doors, engine: sa.Engine, sim
) -> None:
    make_sender(engine)
    contact = make_contact(engine, consent=None)

    sent = doors.run(
        ["contacts", "opt-in", contact.email], ("POST", f"/api/contacts/{contact.id}/opt-in", {})
    )
    unknown = doors.run(
        ["contacts", "opt-in", contact.email, "--sender", "nope"],
        ("POST", f"/api/contacts/{contact.id}/opt-in", {"params": {"sender_id": "nope"}}),
    )

    assert (sent, unknown) == (OK, BAD_INPUT)
    [mail] = sim.store.messages(recipient=contact.email)
    assert "/c/" in (mail.text or "")


# -- privacy --------------------------------------------------------------------------------------


def test_erase_deletes_suppresses_and_cancels(doors: Doors, engine: sa.Engine) -> None:
    contact = make_contact(engine)
    make_sent_message(engine, contact)
    workflow_id = enroll(engine, contact)

    outcome = doors.run(
        ["contacts", "erase", contact.email, "--yes"], ("DELETE", f"/api/contacts/{contact.id}", {})
    )
    again = doors.run(
        ["contacts", "erase", contact.email, "--yes"], ("DELETE", f"/api/contacts/{contact.id}", {})
    )

    assert (outcome, again) == (OK, NOT_DONE)
    with session_scope(engine) as s:
        assert s.get(Contact, contact.id) is None
        assert s.get(Suppression, address_hash(contact.email)) is not None
        [cancel] = s.exec(select(Event).where(Event.signal == EventSignal.CANCEL)).all()
        assert cancel.workflow_id == workflow_id


def test_export_holds_everything_or_is_not_done(doors: Doors, engine: sa.Engine) -> None:
    contact = make_contact(engine, custom={"booth": "Hall 3"})
    make_sent_message(engine, contact)

    outcome = doors.run(
        ["contacts", "export", contact.email], ("GET", f"/api/contacts/{contact.id}/export", {})
    )

    assert outcome == OK
    last = doors.last
    data = json.loads(last.stdout) if isinstance(last, Result) else last.json()  # type: ignore[union-attr]
    assert UUID(data["contact"]["id"]) == contact.id
    assert data["contact"]["custom"] == {"booth": "Hall 3"}
    assert len(data["messages"]) == 1
    missing = doors.run(
        ["contacts", "export", "nobody@unknown.example.org"],
        ("GET", "/api/contacts/00000000-0000-4000-8000-000000000000/export", {}),
    )
    assert missing == NOT_DONE
