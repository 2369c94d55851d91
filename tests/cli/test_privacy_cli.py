"""`nurture contacts erase|export`: confirmation, the printed report, JSON to stdout or a file."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from activities.contacts.privacy import PrivacyService
from cli import privacy
from models.db import session_scope
from models.tables import Contact, Suppression, address_hash
from tests.factories import make_contact, make_sent_message

runner = CliRunner()


@pytest.fixture
def cli(engine, monkeypatch) -> typer.Typer:
    """The two commands as the `contacts` group registers them, on the test database."""
    monkeypatch.setattr(privacy, "service", lambda: PrivacyService(engine))
    app = typer.Typer()
    app.command("erase")(privacy.erase)
    app.command("export")(privacy.export)
    return app


def contact_exists(engine, contact) -> bool:
    with session_scope(engine) as s:
        return s.get(Contact, contact.id) is not None


def test_erase_asks_first_and_a_no_keeps_the_contact(cli, engine):
    contact = make_contact(engine)
    result = runner.invoke(cli, ["erase", contact.email], input="n\n")
    assert result.exit_code == 1  # aborted
    assert contact_exists(engine, contact)


def test_erase_after_yes_prints_the_report(cli, engine):
    contact = make_contact(engine)
    make_sent_message(engine, contact)

    result = runner.invoke(cli, ["erase", contact.email], input="y\n")

    assert result.exit_code == 0, result.output
    assert f"erased contact {contact.id}" in result.output
    assert "messages deleted:           1" in result.output
    assert not contact_exists(engine, contact)
    with session_scope(engine) as s:
        assert s.get(Suppression, address_hash(contact.email)) is not None


def test_erase_with_yes_does_not_ask(cli, engine):
    contact = make_contact(engine)
    result = runner.invoke(cli, ["erase", contact.email.upper(), "--yes"])
    assert result.exit_code == 0, result.output
    assert not contact_exists(engine, contact)


def test_erase_of_an_unknown_address_says_so_and_exits_1(cli, engine):
    result = runner.invoke(cli, ["erase", "nobody@unknown.example.org", "--yes"])
    assert result.exit_code == 1
    assert "nothing done" in result.output


def test_erase_of_something_that_is_not_an_address_exits_2(cli):
    result = runner.invoke(cli, ["erase", "not an address", "--yes"])
    assert result.exit_code == 2
    assert "email" in result.output


def test_export_prints_json_to_stdout(cli, engine):
    contact = make_contact(engine, first_name="Jürgen")
    result = runner.invoke(cli, ["export", contact.email])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["contact"]["id"] == str(contact.id)
    assert data["contact"]["first_name"] == "Jürgen"


def test_export_writes_a_file(cli, engine, tmp_path):
    contact = make_contact(engine)
    make_sent_message(engine, contact)
    target = tmp_path / "export.json"

    result = runner.invoke(cli, ["export", contact.email, "--output", str(target)])

    assert result.exit_code == 0, result.output
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["contact"]["email"] == contact.email
    assert len(data["messages"]) == 1


def test_export_of_an_unknown_address_exits_1(cli):
    result = runner.invoke(cli, ["export", "nobody@unknown.example.org"])
    assert result.exit_code == 1
    assert "no contact" in result.output
