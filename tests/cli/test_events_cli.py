"""`nurture events send` and `nurture events import`: stored through the same service as the API
(once per id, a re-send a duplicate), exit codes (0 done, 1 rows rejected or an unknown contact,
2 bad input), the import's row-level report (rejected rows by number, duplicates as row ranges),
CSV property columns and JSON Lines; triggered enrollments run once — enrolled on the
time-skipping server, pending (and said so) while Temporal is unreachable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlmodel import select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from activities.events.business import BusinessEventService
from activities.events.triggers import TriggeredSequence, TriggerRunner
from cli import services
from cli.events import app
from models.business_events import Trigger
from models.db import session_scope
from models.settings import get_settings
from models.tables import BusinessEvent, TriggerEnrollment, TriggerStatus
from tests.factories import make_contact, make_sender
from tests.workflows.scenarios import start_env

runner = CliRunner()


def lookup(name: str) -> list[TriggeredSequence]:
    if name == "quote_requested":
        return [TriggeredSequence("trade_intro", Trigger("quote_requested"))]
    return []


@pytest.fixture
def cli(database_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The commands on the test database, with the tests' triggers; Temporal unreachable."""
    monkeypatch.setenv("NURTURE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    make_sender(engine)
    queue = f"nobody-{uuid.uuid4()}"

    def trigger_runner(client: Client | None) -> TriggerRunner:
        async def connect() -> Client | None:
            return client

        return TriggerRunner(engine, connect, queue, triggers=lookup)

    async def unreachable() -> None:
        return None

    monkeypatch.setattr(services, "business_events", lambda: BusinessEventService(engine, lookup))
    monkeypatch.setattr(services, "trigger_runner", trigger_runner)
    monkeypatch.setattr(services, "temporal_or_none", unreachable)
    yield
    get_settings.cache_clear()


def events(engine: sa.Engine) -> list[BusinessEvent]:
    with session_scope(engine) as s:
        return list(s.exec(select(BusinessEvent)).all())


# --- send ----------------------------------------------------------------------------------------


def test_send_stores_the_event_once_and_a_resend_is_a_duplicate(cli, engine: sa.Engine) -> None:
    contact = make_contact(engine)
    args = ["send", "--contact", contact.email, "--name", "meeting_booked", "--id", "cal-981"]
    args += ["--property", "room=B2", "--property", "note=bring samples=yes"]

    first = runner.invoke(app, args)
    again = runner.invoke(app, args)

    assert first.exit_code == 0, first.output
    assert "stored event" in first.output
    assert "queued to 0 live enrollment(s)" in first.output
    assert again.exit_code == 0, again.output
    assert "duplicate: event cal-981 was stored before" in again.output
    [event] = events(engine)
    assert (event.key, event.name, event.contact_id) == ("cal-981", "meeting_booked", contact.id)
    assert event.properties == {"room": "B2", "note": "bring samples=yes"}


def test_send_by_external_id_with_a_time_and_a_fresh_key(cli, engine: sa.Engine) -> None:
    make_contact(engine, external_id="crm-77")
    args = ["send", "--external-id", "crm-77", "--name", "order_placed"]

    result = runner.invoke(app, [*args, "--occurred-at", "2026-12-01T09:00:00+01:00"])

    assert result.exit_code == 0, result.output
    [event] = events(engine)
    assert event.occurred_at.isoformat() == "2026-12-01T08:00:00+00:00"
    assert uuid.UUID(event.key)  # the default key is a fresh uuid


def test_send_for_an_unknown_contact_exits_1_and_stores_nothing(cli, engine: sa.Engine) -> None:
    result = runner.invoke(
        app, ["send", "--contact", "nobody@buyer.example.com", "--name", "meeting_booked"]
    )

    assert result.exit_code == 1
    assert "unknown contact with that email" in result.output
    assert events(engine) == []


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--name", "Meeting Booked"], "not lowercase snake_case"),
        (["--name", "meeting_booked", "--property", "no-equals-sign"], "expected KEY=VALUE"),
        (["--name", "meeting_booked", "--occurred-at", "2026-12-01T09:00"], "occurred_at"),
    ],
    ids=["name", "property", "occurred_at"],
)
def test_send_with_bad_input_exits_2(cli, engine: sa.Engine, extra: list[str], says: str) -> None:
    contact = make_contact(engine)

    result = runner.invoke(app, ["send", "--contact", contact.email, *extra])

    assert result.exit_code == 2, result.output
    assert says in result.output
    assert events(engine) == []


def test_send_with_no_contact_or_two_exits_2(cli, engine: sa.Engine) -> None:
    contact = make_contact(engine, external_id="crm-2")
    both = ["--contact", contact.email, "--external-id", "crm-2"]

    for args in ([], both):
        result = runner.invoke(app, ["send", "--name", "meeting_booked", *args])
        assert result.exit_code == 2, result.output
        assert "exactly one of id, email, external_id" in result.output


def test_a_triggering_send_while_temporal_is_unreachable_stays_pending(
    cli, engine: sa.Engine
) -> None:
    contact = make_contact(engine)

    result = runner.invoke(app, ["send", "--contact", contact.email, "--name", "quote_requested"])

    assert result.exit_code == 0, result.output
    assert "trade_intro: pending (Temporal unreachable)" in result.output
    assert "it runs when the API next runs" in result.output
    with session_scope(engine) as s:
        [row] = s.exec(select(TriggerEnrollment)).all()
    assert row.status == TriggerStatus.PENDING


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_env()
    try:
        yield environment
    finally:
        await environment.shutdown()


def test_a_triggering_send_enrolls_and_a_resend_runs_what_was_left_pending(
    cli, engine: sa.Engine, temporal: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = make_contact(engine)
    args = ["send", "--contact", contact.email, "--name", "quote_requested", "--id", "q-1"]
    assert "pending" in runner.invoke(app, args).output  # Temporal was down the first time

    async def reachable() -> Client:  # connected on the command's own event loop
        return await Client.connect(
            temporal.client.service_client.config.target_host,
            data_converter=pydantic_data_converter,
        )

    monkeypatch.setattr(services, "temporal_or_none", reachable)
    result = runner.invoke(app, args)

    assert result.exit_code == 0, result.output
    assert "duplicate" in result.output
    assert f"trade_intro: enrolled (nurture/trade_intro/{contact.id})" in result.output
    with session_scope(engine) as s:
        [row] = s.exec(select(TriggerEnrollment)).all()
    assert row.status == TriggerStatus.ENROLLED


# --- import --------------------------------------------------------------------------------------


def test_import_csv_stores_the_good_rows_and_reports_the_others_by_row_number(
    cli, engine: sa.Engine, tmp_path: Path
) -> None:
    a = make_contact(engine)
    b = make_contact(engine, external_id="crm-b")
    file = tmp_path / "events.csv"
    file.write_text(
        "id,name,email,external_id,occurred_at,properties,property.incoterm\n"
        f'e1,quote_requested,{a.email},,2026-12-01T09:00:00Z,"{{""product"": ""M8 bolts""}}",FOB\n'
        f"e2,order_placed,,crm-b,,,\n"
        f"e3,Order Placed,{a.email},,,,\n"
        f"e4,order_placed,nobody@buyer.example.com,,,,\n"
        f'e5,order_placed,{a.email},,,"[1, 2]",\n'
        "\n"
        f"e6,meeting_booked,{a.email},crm-b,,,\n"
    )

    result = runner.invoke(app, ["import", str(file)])

    assert result.exit_code == 1, result.output
    assert "stored 2, duplicates 0, rejected 4" in result.output
    assert "Rejected rows" in result.output
    lines = result.output.splitlines()
    for row, says in [
        (4, "not lowercase snake_case"),
        (5, "unknown contact with that email"),
        (6, "properties: must be a JSON object"),
        (8, "exactly one of id, email, external_id"),
    ]:
        assert any(f" {row} " in line and says in line for line in lines), (row, result.output)
    stored = {e.key: e for e in events(engine)}
    assert set(stored) == {"e1", "e2"}
    assert stored["e1"].properties == {"product": "M8 bolts", "incoterm": "FOB"}
    assert stored["e2"].contact_id == b.id
    assert stored["e1"].occurred_at.isoformat() == "2026-12-01T09:00:00+00:00"


def test_a_clean_import_exits_0_and_its_reimport_reports_duplicates_by_row(
    cli, engine: sa.Engine, tmp_path: Path
) -> None:
    contact = make_contact(engine)
    file = tmp_path / "events.csv"
    rows = "".join(f"m{n},meeting_booked,{contact.email}\n" for n in range(3))
    file.write_text("id,name,email\n" + rows)

    first = runner.invoke(app, ["import", str(file)])
    file.write_text("id,name,email\n" + rows + f"m9,meeting_booked,{contact.email}\n")
    again = runner.invoke(app, ["import", str(file)])

    assert first.exit_code == 0, first.output
    assert "stored 3, duplicates 0, rejected 0" in first.output
    assert again.exit_code == 0, again.output
    assert "stored 1, duplicates 3, rejected 0" in again.output
    assert "duplicates (stored before, left as they were): rows 2-4" in again.output
    assert len(events(engine)) == 4


def test_import_json_lines_reports_a_broken_line_by_its_number(
    cli, engine: sa.Engine, tmp_path: Path
) -> None:
    contact = make_contact(engine)
    ref = f'"contact": {{"id": "{contact.id}"}}'
    file = tmp_path / "events.jsonl"
    file.write_text(
        f'{{"id": "j1", "name": "meeting_booked", {ref}, "properties": {{"n": 1}}}}\n'
        '{"id": "j2", "name": \n'
        "\n"
        f'{{"id": "j3", "name": "order_placed", {ref}}}\n'
        "[1]\n"
    )

    result = runner.invoke(app, ["import", str(file)])

    assert result.exit_code == 1, result.output
    assert "stored 2, duplicates 0, rejected 2" in result.output
    lines = result.output.splitlines()
    assert any(" 2 " in line and "not valid JSON" in line for line in lines), result.output
    assert any(" 5 " in line and "must be a JSON object" in line for line in lines)
    assert {e.key: e.properties for e in events(engine)} == {"j1": {"n": 1}, "j3": {}}


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("id,name,email,colour", "unknown column(s) 'colour'"),
        ("name,email", "no id column"),
        ("id,name,phone", "unknown column"),
        ("id,name", "no email or contact_id or external_id column"),
    ],
)
def test_an_unusable_csv_exits_2_and_stores_nothing(
    cli, engine: sa.Engine, tmp_path: Path, header: str, says: str
) -> None:
    contact = make_contact(engine)
    file = tmp_path / "events.csv"
    file.write_text(f"{header}\nx1,meeting_booked,{contact.email},red\n")

    result = runner.invoke(app, ["import", str(file)])

    assert result.exit_code == 2, result.output
    assert says in result.output
    assert events(engine) == []


def test_an_import_with_triggers_while_temporal_is_unreachable_says_they_stay_pending(
    cli, engine: sa.Engine, tmp_path: Path
) -> None:
    contact = make_contact(engine)
    file = tmp_path / "quotes.csv"
    file.write_text(f"id,name,email\nq1,quote_requested,{contact.email}\n")

    result = runner.invoke(app, ["import", str(file)])

    assert result.exit_code == 0, result.output
    assert "triggers: enrolled 0, not enrolled 0, pending 1" in result.output
    assert "pending triggers run when the API next runs" in result.output
