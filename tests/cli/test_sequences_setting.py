"""NURTURE_SEQUENCES from the command line: `nurture worker` and `nurture api` refuse a module
that does not load with one line naming it (exit 1), before connecting to anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_scaffold import nurture_env


@pytest.mark.parametrize("command", ["worker", "api"])
def test_worker_and_api_refuse_a_module_that_does_not_load_in_one_line(
    tmp_path: Path, command: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", command],
        cwd=Path(__file__).resolve().parents[2],
        env=nurture_env(tmp_path, "no_such_company.sequences"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "cannot import module 'no_such_company.sequences'" in done.stderr
    assert "Traceback" not in done.stderr
