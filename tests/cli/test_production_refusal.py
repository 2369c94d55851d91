"""Under NURTURE_ENV=production (the default), `nurture api` and `nurture worker` — and the entry
points `nurture dev` and the Dockerfile use, `python -m worker` and the uvicorn factory — refuse
the built-in configuration: exit 2 within seconds, each offending variable named, and no
connection made to the database or to Temporal. `nurture check-config` prints the same verdict
(exit 0 fit, 2 not); `nurture dev` runs its children as dev."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cli.devstack import DevStack
from cli.main import app
from cli.processes import free_port
from models.settings import Settings, get_settings

BIN = Path(sys.executable).parent
OFFENDERS = [
    "NURTURE_SECRET_KEY",
    "NURTURE_API_TOKEN",
    "NURTURE_SENDGRID_API_KEY",
    "NURTURE_SENDGRID_HOST",
    "NURTURE_PUBLIC_URL",
]
GOOD = {
    "NURTURE_SECRET_KEY": "k" * 40,
    "NURTURE_API_TOKENS": "t" * 40 + "," + "u" * 40,
    "NURTURE_SENDGRID_API_KEY": "SG.not-the-simulator",
    "NURTURE_SENDGRID_HOST": "https://api.sendgrid.com",
    "NURTURE_PUBLIC_URL": "https://nurture.example.com",
}


class Trap:
    """A listening socket that records whether anything connected to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def connected(self) -> bool:
        self.sock.settimeout(0.2)
        try:
            conn, _ = self.sock.accept()
        except TimeoutError:
            return False
        conn.close()
        return True


@pytest.fixture
def traps() -> Iterator[tuple[Trap, Trap]]:
    """Where the database and Temporal seem to be."""
    db, temporal = Trap(), Trap()
    yield db, temporal
    db.sock.close()
    temporal.sock.close()


def production_env(tmp_path: Path, db: Trap, temporal: Trap) -> dict[str, str]:
    """This environment without any NURTURE_ variable (so the built-in configuration), production,
    the database and Temporal pointed at the traps."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(
        NURTURE_ENV="production",
        NURTURE_DATA_DIR=str(tmp_path),
        NURTURE_DATABASE_URL=f"postgresql://nurture@127.0.0.1:{db.port}/nurture",
        NURTURE_TEMPORAL_ADDRESS=f"127.0.0.1:{temporal.port}",
    )
    return env


ENTRY_POINTS = {
    "nurture api": [str(BIN / "nurture"), "api", "--port", "{port}"],
    "nurture worker": [str(BIN / "nurture"), "worker"],
    "python -m worker": [sys.executable, "-m", "worker"],
    "uvicorn factory": [
        *(sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env"),
        *("--port", "{port}"),
    ],
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_production_with_defaults_exits_2_naming_each_variable_without_connecting(
    entry: str, tmp_path: Path, traps: tuple[Trap, Trap]
) -> None:
    db, temporal = traps
    port = free_port()
    argv = [part.format(port=port) for part in ENTRY_POINTS[entry]]
    began = time.monotonic()
    done = subprocess.run(
        argv,
        env=production_env(tmp_path, db, temporal),
        cwd=tmp_path,  # no .env here
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - began
    assert done.returncode == 2, done.stderr
    process = "api" if "api" in entry or "uvicorn" in entry else "worker"
    assert f"nurture {process}: refusing to start with NURTURE_ENV=production" in done.stderr
    lines = done.stderr.strip().splitlines()[1:]
    assert [line.split(":")[0] for line in lines] == OFFENDERS
    assert "dev-insecure-secret-change-me" not in done.stderr
    assert "Traceback" not in done.stderr
    assert not db.connected(), "connected to the database before refusing"
    assert not temporal.connected(), "connected to Temporal before refusing"
    assert took < 30, f"took {took:.1f}s to refuse"


def test_a_fit_configuration_gets_past_the_check_and_connects(
    tmp_path: Path, traps: tuple[Trap, Trap]
) -> None:
    """The check is what stopped the worker above: with fit settings it goes on to Temporal."""
    db, temporal = traps
    env = {**production_env(tmp_path, db, temporal), **GOOD}
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not temporal.connected():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "never tried Temporal"
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def check_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    """Run `nurture check-config` in-process with exactly the given NURTURE_ variables."""
    for name in list(os.environ):
        if name.startswith("NURTURE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run(**variables: str):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return CliRunner().invoke(app, ["check-config"])

    yield run
    get_settings.cache_clear()


def test_check_config_exits_2_naming_the_offenders_of_the_defaults(check_config) -> None:
    result = check_config()
    assert result.exit_code == 2
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == OFFENDERS


def test_check_config_exits_0_for_a_production_configuration(check_config) -> None:
    result = check_config(**GOOD)
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "configuration is fit for production\n"


def test_check_config_under_dev_says_the_checks_are_off(check_config) -> None:
    result = check_config(**GOOD, NURTURE_ENV="dev")
    assert result.exit_code == 2
    assert result.stdout.startswith("NURTURE_ENV: is dev")


def test_nurture_dev_runs_its_children_as_dev(tmp_path: Path) -> None:
    stack = DevStack(Settings(env="production", data_dir=tmp_path), Console(file=None))
    assert stack.child_env()["NURTURE_ENV"] == "dev"
