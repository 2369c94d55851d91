"""`nurture new sequence NAME`: writes a sequence into the adopter's package — workflow, params
model, templates the content lint passes, and a time-skipping test that passes as written — which
NURTURE_SEQUENCES then loads; refuses bad names, taken names, nurture's own packages and files
that exist."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from activities.deliverability.content_lint import lint_before_start
from cli.main import app
from cli.scaffold import STEPS
from workflows.registry import by_name, configure, templates_dir_of


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package path unique to the test (sys.modules remembers imported ones), importable from
    `tmp_path`; the process forgets its sequences afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield f"acme_{uuid.uuid4().hex[:8]}.sequences"
    configure(())


def new(*args: str):
    return CliRunner().invoke(app, ["new", "sequence", *args], env={"COLUMNS": "200"})


def nurture_env(tmp_path: Path, package: str) -> dict[str, str]:
    """The environment of a nurture process run from the adopter's project."""
    return {
        **os.environ,
        "NURTURE_ENV": "dev",
        "NURTURE_SEQUENCES": package,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }


def test_the_scaffolded_sequence_passes_its_own_test(tmp_path: Path, package: str) -> None:
    result = new("quote_reminder", "--package", package, "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    package_dir = tmp_path.joinpath(*package.split("."))
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    prefix = package.replace(".", "/")
    assert written == {
        f"{package.split('.')[0]}/__init__.py",
        f"{prefix}/__init__.py",
        f"{prefix}/quote_reminder.py",
        f"{prefix}/quote_reminder_params.py",
        *(f"{prefix}/templates/quote_reminder/{step}.jinja" for step in STEPS),
        "tests/test_quote_reminder.py",
    }
    assert (
        '@sequence("quote_reminder")\nclass QuoteReminderSequence('
        in (package_dir / "quote_reminder.py").read_text()
    )
    # Its test, run as the README says (python -m pytest from the project root), passes.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        env=nurture_env(tmp_path, package),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_the_scaffolded_sequence_loads_and_its_templates_are_lint_clean(
    tmp_path: Path, package: str
) -> None:
    assert new("spring_offer", "--package", package).exit_code == 0  # --dir: the cwd
    configure([package])
    cls = by_name("spring_offer")
    assert cls.__module__ == f"{package}.spring_offer"
    assert cls.params_model.__name__ == "SpringOfferParams"
    templates_dir = templates_dir_of("spring_offer", Path("/nowhere"))
    assert templates_dir == tmp_path.joinpath(*package.split("."), "templates")
    report = lint_before_start("spring_offer", templates_dir)
    assert report.templates == tuple(f"spring_offer/{step}" for step in sorted(STEPS))
    assert report.findings == ()
    # The same through the command line, NURTURE_SEQUENCES read from the environment.
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "lint", "spring_offer"],
        cwd=Path(__file__).resolve().parents[2],
        env=nurture_env(tmp_path, package),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: 3 template(s), 0 error(s), 0 warning(s)" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Quote-Reminder"], "a sequence name is snake_case"),
        (["trade_intro"], "a sequence named 'trade_intro' exists already"),
        (["welcome", "--package", "workflows"], "'workflows' is nurture's own"),
        (["welcome", "--package", "my-company.sequences"], "a package path like"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(
    tmp_path: Path, package: str, args: list[str], message: str
) -> None:
    result = new(*args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []


def test_existing_files_are_never_overwritten(tmp_path: Path, package: str) -> None:
    assert new("welcome", "--package", package).exit_code == 0
    workflow = tmp_path.joinpath(*package.split("."), "welcome.py")
    workflow.write_text("# my edits\n")
    result = new("welcome", "--package", package)
    assert result.exit_code == 2
    assert "exists already: nothing written" in " ".join(result.output.split())
    assert workflow.read_text() == "# my edits\n"
