"""`nurture contacts import` / `opt-in` / `add`: report table, exit codes (0 ok, 1 rows refused,
2 unreadable file or a refused `add`), dry runs, the opt-in email reaching the simulator, and the
CRM's id set by `add --external-id`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from sqlmodel import select
from typer.testing import CliRunner

from cli.contacts import import_, opt_in
from models.db import session_scope
from models.settings import get_settings
from models.tables import Contact
from tests.factories import make_contact, make_sender
from tests.sim_fixtures import SIM_API_KEY

runner = CliRunner()


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, sim) -> Iterator[typer.Typer]:
    monkeypatch.setenv("NURTURE_DATABASE_URL", database_url)
    monkeypatch.setenv("NURTURE_SENDGRID_HOST", sim.url)
    monkeypatch.setenv("NURTURE_SENDGRID_API_KEY", SIM_API_KEY)
    get_settings.cache_clear()
    app = typer.Typer()
    app.command("import")(import_)
    app.command("opt-in")(opt_in)
    yield app
    get_settings.cache_clear()


def _emails(engine: sa.Engine) -> list[str]:
    with session_scope(engine) as s:
        return sorted(c.email for c in s.exec(select(Contact)).all())


def test_import_with_a_bad_row_prints_it_and_exits_1(
    cli: typer.Typer, engine: sa.Engine, tmp_path: Path
) -> None:
    file = tmp_path / "leads.csv"
    file.write_text("email,country\na@buyer.example.com,DE\nb@buyer.example.com,Germany\n")

    result = runner.invoke(cli, ["import", str(file)])

    assert result.exit_code == 1, result.output
    assert "created 1" in result.output
    assert "rejected 1" in result.output
    assert "Rejected rows" in result.output
    assert "country" in result.output
    assert "no consent on record" in result.output
    assert _emails(engine) == ["a@buyer.example.com"]


def test_clean_import_exits_0_and_dry_run_writes_nothing(
    cli: typer.Typer, engine: sa.Engine, tmp_path: Path
) -> None:
    file = tmp_path / "leads.jsonl"
    file.write_text('{"email": "a@buyer.example.com", "consent_source": "web form"}\n')

    dry = runner.invoke(cli, ["import", str(file), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output
    assert _emails(engine) == []

    real = runner.invoke(cli, ["import", str(file)])
    assert real.exit_code == 0, real.output
    assert _emails(engine) == ["a@buyer.example.com"]


def test_unreadable_file_exits_2(cli: typer.Typer, tmp_path: Path) -> None:
    file = tmp_path / "leads.csv"
    file.write_text("name\nAnna\n")

    result = runner.invoke(cli, ["import", str(file)])

    assert result.exit_code == 2
    assert "email" in result.output


def test_opt_in_sends_the_confirmation(cli: typer.Typer, engine: sa.Engine, sim) -> None:
    make_sender(engine)
    contact = make_contact(engine, consent=None)

    result = runner.invoke(cli, ["opt-in", contact.email])

    assert result.exit_code == 0, result.output
    [mail] = sim.store.messages(recipient=contact.email)
    assert "/c/" in (mail.text or "")
    assert runner.invoke(cli, ["opt-in", "nobody@buyer.example.com"]).exit_code == 2


def _external_id(engine: sa.Engine, email: str) -> str | None:
    with session_scope(engine) as s:
        return s.exec(select(Contact).where(Contact.email == email)).one().external_id


def test_add_with_external_id_sets_it_and_refuses_one_another_contact_holds(
    cli: typer.Typer, engine: sa.Engine
) -> None:
    from cli.main import app as nurture

    def add(email: str, *options: str):
        return runner.invoke(
            nurture, ["contacts", "add", email, "--consent-source", "web form", *options]
        )

    first = add("a@buyer.example.com", "--external-id", "crm-001")
    assert first.exit_code == 0, first.output
    assert "external id crm-001" in " ".join(first.output.split())  # as the terminal wraps it
    assert _external_id(engine, "a@buyer.example.com") == "crm-001"

    taken = add("b@buyer.example.com", "--external-id", "crm-001", "--company", "B GmbH")
    assert taken.exit_code == 2, taken.output
    assert "external_id" in taken.output
    assert "already the external_id of another contact" in " ".join(taken.output.split())
    assert _emails(engine) == ["a@buyer.example.com"]  # nothing of b written

    again = add("a@buyer.example.com", "--external-id", "crm-001")
    rekeyed = add("a@buyer.example.com", "--external-id", "crm-9001")
    kept = add("a@buyer.example.com", "--first-name", "Anna")
    assert (again.exit_code, rekeyed.exit_code, kept.exit_code) == (0, 0, 0)
    assert _external_id(engine, "a@buyer.example.com") == "crm-9001"
