"""`nurture cohort start --contacts FILE` on a real dev server with a worker running: the file is
imported (bad rows reported, not enrolled), the launch runs to the end behind the progress bar,
contacts without consent are skipped with the reason, the funnel table is printed, and the
A/B and holdout options reach the cohort."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

import worker as worker_module
from cli.main import app
from models.db import get_engine, session_scope
from models.settings import Settings, get_settings
from models.tables import AbTest, Cohort, CohortMember, Contact, MemberStatus, Message
from models.temporal_client import connect
from tests.factories import make_sender
from tests.sim_fixtures import SIM_API_KEY

runner = CliRunner()

HEADER = (
    "email,first_name,company,country,consent_basis,consent_source,consent_time,"
    "consent_wording,consent_evidence\n"
)


def consented(i: int) -> str:
    return (
        f"buyer{i}@importer{i}.example.pl,Ola,Importer {i},PL,consent,Poznan fair 2026,"
        "2026-06-10T10:00:00Z,Yes please,scan-" + str(i) + "\n"
    )


@pytest.fixture
def stack(
    database_url: str, dev_server_address: str, sim, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The CLI's environment, and a worker running in its own thread and loop."""
    queue = f"cli-{uuid.uuid4()}"
    for key, value in {
        "NURTURE_DATABASE_URL": database_url,
        "NURTURE_TEMPORAL_ADDRESS": dev_server_address,
        "NURTURE_TASK_QUEUE": queue,
        "NURTURE_SENDGRID_HOST": sim.url,
        "NURTURE_SENDGRID_API_KEY": SIM_API_KEY,
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    settings = get_settings()
    engine = get_engine(database_url)
    make_sender(engine, warmup_start=100)
    stop = threading.Event()
    ready = threading.Event()

    async def run() -> None:
        client = await connect(settings)
        with ThreadPoolExecutor(4) as pool:
            async with worker_module.build_worker(client, settings, engine, executor=pool):
                ready.set()
                await asyncio.to_thread(stop.wait)

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(30), "worker did not start"
    yield settings
    stop.set()
    thread.join(30)
    get_settings.cache_clear()


def test_cohort_start_from_a_file_imports_launches_and_reports(stack, tmp_path: Path) -> None:
    file = tmp_path / "poznan.csv"
    file.write_text(
        HEADER
        + "".join(consented(i) for i in range(6))
        + "no-consent@importer.example.pl,Jan,Importer X,PL,,,,,\n"  # imported, not consented
        + "not-an-address,Bad,,PL,,,,,\n"  # refused at import
    )
    result = runner.invoke(
        app,
        [
            "cohort",
            "start",
            "--sequence",
            "trade_intro",
            "--name",
            "Poznan fair",
            "--contacts",
            str(file),
            "--no-send-windows",
            "--holdout",
            "0.2",
            "--ab-test",
            "intro",
            "--ab-sample",
            "2",
            "--ab-window",
            "1h",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "row 9" in result.output  # the bad address, reported by row number
    assert "A/B test of intro: control, question" in result.output
    assert "launching" in result.output
    assert "sent" in result.output

    engine = get_engine(stack.effective_database_url)
    with session_scope(engine) as s:
        [cohort] = s.exec(select(Cohort)).all()
        members = s.exec(select(CohortMember).where(CohortMember.cohort_id == cohort.id)).all()
        test = s.get(AbTest, cohort.id)
    assert cohort.holdout == 0.2
    assert test is not None
    assert test.sample_per_variant == 2
    assert test.window_seconds == 3600
    assert len(members) == 7  # six consented and one without consent; the bad row is not in
    by_status: dict[str, list[CohortMember]] = {}
    for m in members:
        by_status.setdefault(m.status, []).append(m)
    assert MemberStatus.PENDING not in by_status  # the launch finished before the CLI returned
    skipped = by_status.get(MemberStatus.SKIPPED, [])
    held = len(by_status.get(MemberStatus.HOLDOUT, []))
    # The contact without consent is skipped with the reason (unless the holdout drew it).
    with session_scope(engine) as s:
        no_consent = s.exec(
            select(Contact).where(Contact.email == "no-consent@importer.example.pl")
        ).one()
    [member] = [m for m in members if m.contact_id == no_consent.id]
    assert member.status in (MemberStatus.SKIPPED, MemberStatus.HOLDOUT)
    expected = [member.contact_id] if member.status == MemberStatus.SKIPPED else []
    assert [m.contact_id for m in skipped] == expected
    assert all("ConsentMissing" in (m.reason or "") for m in skipped)
    assert len(by_status[MemberStatus.ENROLLED]) + len(skipped) + held == 7
    assert ("held out" in result.output) == (held > 0)

    # Once the sample's intros are out, `cohort status` shows them per variant.
    sample = [m for m in by_status[MemberStatus.ENROLLED] if m.variant]
    deadline = time.monotonic() + 30
    while True:
        with session_scope(engine) as s:
            sent = s.exec(select(Message).where(col(Message.variant).is_not(None))).all()
        if len(sent) == len(sample) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(m.variant or "" for m in sent) == sorted(m.variant or "" for m in sample)
    status = runner.invoke(app, ["cohort", "status", cohort.id])
    assert status.exit_code == 0, status.output
    for variant in {m.variant for m in sample}:
        assert f"intro ({variant})" in status.output
    assert "winner: not yet" in status.output


def test_bad_ab_options_are_refused_before_anything_starts(stack, tmp_path: Path) -> None:
    file = tmp_path / "one.csv"
    file.write_text(HEADER + consented(1))
    base = ["cohort", "start", "--sequence", "trade_intro", "--name", "x", "--contacts", str(file)]
    bad_window = runner.invoke(app, [*base, "--ab-test", "intro", "--ab-window", "soon"])
    assert bad_window.exit_code == 2
    assert "not a duration" in bad_window.output
    no_variant = runner.invoke(app, [*base, "--ab-test", "offer"])
    assert no_variant.exit_code == 2
    assert "needs two variants" in no_variant.output
    too_many_held = runner.invoke(app, [*base, "--holdout", "0.9"])
    assert too_many_held.exit_code == 2
    assert "holdout" in too_many_held.output
    with session_scope(get_engine(stack.effective_database_url)) as s:
        assert s.exec(select(Cohort)).all() == []
