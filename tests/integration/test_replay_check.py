"""`nurture sequences check-replay` on the dev server: live trade_intro enrollments, waiting after
their intro, replay on today's code; an unpatched change to the flow is caught (each enrollment
named, exit 1), the same change behind `workflow.patched` passes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from typer.testing import CliRunner

import worker as worker_module
from activities.enrollment.enrolling import EnrollmentService
from cli.main import app
from models.db import get_engine
from models.settings import Settings, get_settings
from models.temporal_client import connect
from tests.factories import make_contact, make_sender
from tests.integration.enrollments import SLOW, until_intro_sent
from tests.integration.replay_variants import PatchedTradeIntro, UnpatchedTradeIntro
from tests.sim_fixtures import SIM_API_KEY
from workflows.cohort_launch import CohortLaunch

ROOT = Path(__file__).resolve().parents[2]
ENROLLMENTS = 3


@pytest.fixture
def settings(migrated_templates, tmp_path: Path, simulator, dev_server_address: str) -> Settings:
    return Settings(
        database_url=migrated_templates.sqlite_copy(tmp_path / "nurture.db"),
        temporal_address=dev_server_address,
        task_queue=f"replay-{uuid.uuid4()}",
        sendgrid_host=simulator.url,
        sendgrid_api_key=SIM_API_KEY,
    )


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The command's environment: this test's cluster and task queue."""
    env = {
        "NURTURE_ENV": "dev",
        "NURTURE_DATABASE_URL": settings.database_url,
        "NURTURE_TEMPORAL_ADDRESS": settings.temporal_address,
        "NURTURE_TASK_QUEUE": settings.task_queue,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


async def _timer_started(client: Client, workflow_id: str, seconds: float = 20) -> None:
    """Until the enrollment waits on its open-window timer (the intro is out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        if any(e.HasField("timer_started_event_attributes") for e in history.events):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} never started its timer")


@pytest_asyncio.fixture
async def live_enrollments(settings: Settings, cli_env) -> AsyncIterator[list[str]]:
    """Enrollments in trade_intro whose intro is out and that wait (2 days) for an open; the
    worker is stopped once they wait, as a deploy would stop it."""
    engine = get_engine(settings.database_url)
    make_sender(engine)
    client = await connect(settings)
    service = EnrollmentService(engine, client, settings.task_queue)
    with ThreadPoolExecutor(4) as pool:
        async with worker_module.build_worker(client, settings, engine, executor=pool):
            ids = [
                await service.enroll(
                    "trade_intro", make_contact(engine).id, params=SLOW, send_windows=False
                )
                for _ in range(ENROLLMENTS)
            ]
            for workflow_id in ids:
                await until_intro_sent(engine, workflow_id)
                await _timer_started(client, workflow_id)
    yield ids
    for workflow_id in ids:
        await client.get_workflow_handle(workflow_id).terminate("test over")


def _check(monkeypatch: pytest.MonkeyPatch, code_on_disk: type | None, *args: str):
    """Run the command in-process; `code_on_disk` stands for an edited trade_intro."""
    if code_on_disk is not None:
        monkeypatch.setattr(
            worker_module, "workflow_classes", lambda settings: [code_on_disk, CohortLaunch]
        )
    return CliRunner().invoke(app, ["sequences", "check-replay", *args], catch_exceptions=False)


async def test_live_enrollments_replay_on_todays_code(live_enrollments, cli_env) -> None:
    # The real command, as CI runs it: its own process, the code on disk.
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cli.main", "sequences", "check-replay"],
        cwd=ROOT,
        env={**os.environ, **cli_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok: {ENROLLMENTS} enrollment(s) replay" in done.stdout


async def test_an_unpatched_change_is_caught_naming_each_enrollment(
    live_enrollments, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await asyncio.to_thread(
        _check, monkeypatch, UnpatchedTradeIntro, "--sequence", "trade_intro"
    )
    assert result.exit_code == 1, result.output
    print(result.output)
    lines = result.output.splitlines()
    flagged = [line.split()[-1] for line in lines if line.startswith("non-deterministic ")]
    assert sorted(flagged) == sorted(live_enrollments)
    # The first mismatch: the code sends a second email where the history waits on its timer.
    mismatches = [line for line in lines if line.startswith("  first mismatch: ")]
    assert len(mismatches) == ENROLLMENTS
    assert all("timer_started" in line for line in mismatches), mismatches
    output = " ".join(result.output.split())
    assert f"{ENROLLMENTS} of {ENROLLMENTS} enrollment(s) do not replay" in output


async def test_the_same_change_behind_patched_passes(
    live_enrollments, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await asyncio.to_thread(_check, monkeypatch, PatchedTradeIntro, "--sample", "10")
    assert result.exit_code == 0, result.output
    assert f"ok: {ENROLLMENTS} enrollment(s) replay" in result.output


async def test_an_unknown_sequence_is_bad_input(cli_env) -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["sequences", "check-replay", "--sequence", "nope"]
    )
    assert result.exit_code == 2
    assert "no sequence named 'nope'" in result.output
