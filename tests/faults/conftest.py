"""Fixtures of the fault tests: a printed random seed, settings for one test's stack, its own
Temporal dev server, and worker and API processes — every process stopped at the end."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli.processes import ChildProcess
from models.settings import Settings
from tests.faults.processes import ApiProcess, DevServer, api_process, worker_process
from tests.sim_fixtures import SIM_API_KEY


@pytest.fixture
def fault_rng(request: pytest.FixtureRequest) -> random.Random:
    """Where the faults strike; NURTURE_FAULT_SEED=<seed> replays a run's schedule."""
    seed = int(os.environ.get("NURTURE_FAULT_SEED") or random.SystemRandom().randrange(2**32))
    print(f"{request.node.name}: fault seed {seed} (rerun with NURTURE_FAULT_SEED={seed})")
    request.node.user_properties.append(("fault_seed", seed))
    return random.Random(seed)


@pytest.fixture
def stack_settings(tmp_path: Path, simulator) -> Callable[..., Settings]:
    """Settings for this test's stack: its own task queue and data dir, the session simulator."""

    def make(database_url: str, temporal_address: str, **extra: object) -> Settings:
        return Settings(
            data_dir=tmp_path / "nurture",
            database_url=database_url,
            temporal_address=temporal_address,
            task_queue=f"fault-{uuid.uuid4()}",
            sendgrid_host=simulator.url,
            sendgrid_api_key=SIM_API_KEY,
            **extra,  # type: ignore[arg-type]
        )

    return make


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[DevServer]:
    """This test's own Temporal dev server, persisted to a SQLite file: a test may kill it."""
    server = DevServer.persisted(tmp_path / "logs", tmp_path / "temporal.db")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., ChildProcess]]:
    """Makes `python -m worker` children for a test (not started); stops them all afterwards."""
    made: list[ChildProcess] = []

    def make(settings: Settings, name: str = "worker") -> ChildProcess:
        child = worker_process(settings, tmp_path / "logs", name)
        made.append(child)
        return child

    yield make
    for child in made:
        child.stop()


@pytest.fixture
def apis(tmp_path: Path) -> Iterator[Callable[..., ApiProcess]]:
    """Makes API processes for a test (not started); stops them all afterwards."""
    made: list[ApiProcess] = []

    def make(settings: Settings, name: str = "api") -> ApiProcess:
        api = api_process(settings, tmp_path / "logs", name)
        made.append(api)
        return api

    yield make
    for api in made:
        api.stop()
