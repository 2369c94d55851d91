"""`nurture preview`: every step rendered for the sample or a stored contact (in its language), each
with the content lint's findings and its send time on the path without events, placed by the
engine's calendar; `--out` writes text and HTML; exit 1 when a step lints an error."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from cli.preview import preview
from models.db import get_engine
from models.settings import PROJECT_ROOT, get_settings
from tests.factories import make_contact, make_sender

runner = CliRunner()
START = "2028-12-21T10:00"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(preview)
    app.command("unused")(lambda: None)  # a group, so the command is named on the line
    return app


@pytest.fixture
def spammy_templates(tmp_path: Path) -> Path:
    """trade_intro's templates with a shouting, spammy offer subject."""
    root = tmp_path / "templates"
    shutil.copytree(PROJECT_ROOT / "templates" / "trade_intro", root / "trade_intro")
    offer = root / "trade_intro" / "offer.jinja"
    offer.write_text(
        offer.read_text().replace("A trial order on your terms", "ACT NOW!!! 100% FREE samples")
    )
    return root


def invoke(app: typer.Typer, *args: str):
    return runner.invoke(app, ["preview", *args], env={"COLUMNS": "200"})


def test_every_step_with_its_send_time_and_lint_findings(
    app: typer.Typer, spammy_templates: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = invoke(
        app,
        "trade_intro",
        "--start",
        START,
        "--templates-dir",
        str(spammy_templates),
        "--out",
        str(out),
    )

    assert result.exit_code == 1, result.output  # the offer lints errors
    text = result.output
    # In flow order, each with when it goes for a contact in Germany enrolled at START.
    order = [
        "1. intro · trade_intro/intro · sends Thu 2028-12-21 10:00",
        "2. bump · trade_intro/bump · sends Wed 2028-12-27 09:00",
        "3. case_study · trade_intro/case_study · sends Wed 2028-12-27 09:00",
        "4. offer · trade_intro/offer · sends Tue 2029-01-02 09:00",
    ]
    positions = [text.index(line) for line in order]
    assert positions == sorted(positions)
    assert "Mon 25 Dec Christmas Day" in text
    assert "Mon 01 Jan New Year's Day" in text
    assert "Subject: Hansa Import GmbH: a reliable parts supplier" in text
    assert "Hi Anna," in text
    offer_panel = text[positions[3] :]
    assert "ACT NOW!!! 100% FREE samples" in offer_panel
    assert "warning spam-phrase: 2 spam-trigger phrase(s): 'act now', '100% free'" in offer_panel
    assert "error exclamation: subject has 3 exclamation marks" in offer_panel
    assert text[positions[0] : positions[1]].count("lint: no findings") == 1
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "1-intro.html",
        "1-intro.txt",
        "2-bump.html",
        "2-bump.txt",
        "3-case_study.html",
        "3-case_study.txt",
        "4-offer.html",
        "4-offer.txt",
    ]
    assert (out / "1-intro.txt").read_text().startswith("Subject: Hansa Import GmbH")
    assert "Unsubscribe" in (out / "4-offer.html").read_text()


@pytest.fixture
def stored(sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    monkeypatch.setenv("NURTURE_DATABASE_URL", sqlite_database_url)
    get_settings.cache_clear()
    yield get_engine(sqlite_database_url)
    get_settings.cache_clear()


def test_a_stored_contact_in_german_with_its_own_calendar(
    app: typer.Typer, stored: sa.Engine
) -> None:
    make_sender(stored)
    contact = make_contact(
        stored, first_name="Jörg", company="Müller & Söhne", country="AT", language="de"
    )

    result = invoke(app, "quote_followup", "--contact", contact.email, "--start", START)

    assert result.exit_code == 0, result.output
    assert f"contact {contact.id}" in result.output
    assert contact.email not in result.output
    assert "Europe/Vienna, AT" in result.output
    assert "quote_followup/quote.de · sends Thu 2028-12-21 10:00" in result.output
    assert "Hallo Jörg," in result.output
    # Two Austrian business days after the quote, at the quote's clock time: Friday 22nd, then
    # (weekend, 25 and 26 December are holidays there too) Wednesday 27th.
    assert "follow_up.de · sends Wed 2028-12-27 10:00" in result.output
    # The sample quote is valid 21 days (Thursday 11 January): reminded two business days before.
    assert "reminder.de · sends Tue 2029-01-09 09:00" in result.output


def test_unknown_sequence_and_contact_are_bad_input(app: typer.Typer, stored: sa.Engine) -> None:
    result = invoke(app, "no_such_sequence")
    assert result.exit_code == 2
    assert "no sequence named 'no_such_sequence'" in result.output
    result = invoke(app, "trade_intro", "--contact", "nobody@example.com")
    assert result.exit_code == 2, result.output
