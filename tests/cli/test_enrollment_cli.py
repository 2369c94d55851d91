"""`nurture enrollment pause|resume|cancel`: queued for the contact's workflow; clear errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli.main import app
from models.db import session_scope
from models.settings import get_settings
from models.tables import Event, EventSignal
from tests.factories import make_contact, make_enrollment

runner = CliRunner()


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NURTURE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cancel_queues_the_signal_for_that_enrollment(env, engine):
    contact = make_contact(engine, email="anna@maschinen.example.de")
    workflow_id = make_enrollment(engine, contact)
    result = runner.invoke(
        app,
        [
            "enrollment",
            "cancel",
            "--email",
            "Anna@Maschinen.example.de",
            "--reason",
            "asked by phone",
        ],
    )
    assert result.exit_code == 0, result.output
    with session_scope(engine) as s:
        [row] = s.exec(select(Event).where(Event.workflow_id == workflow_id)).all()
    assert row.signal == EventSignal.CANCEL
    assert row.payload == {"reason": "asked by phone"}


def test_unknown_contact_or_enrollment_is_a_clear_error(env, engine):
    assert (
        runner.invoke(app, ["enrollment", "pause", "--email", "nobody@x.example.de"]).exit_code == 2
    )
    make_contact(engine, email="lena@fraesen.example.de")
    result = runner.invoke(app, ["enrollment", "pause", "--email", "lena@fraesen.example.de"])
    assert result.exit_code == 1
    assert "not enrolled" in result.output
