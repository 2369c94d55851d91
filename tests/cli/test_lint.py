"""`nurture lint`: resolves a template name, a sequence or a .jinja path; prints the findings;
exits 1 on errors, 0 on warnings or nothing, 2 on an unknown target."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import lint as lint_module
from cli.lint import lint
from models.settings import PROJECT_ROOT, Settings

CLEAN = (
    "{% block subject %}Fasteners for {{ contact.company or 'your next order' }}{% endblock %}\n"
    "{% block text %}{{ greeting }}\n\nWe make fasteners to order for importers and ship with "
    "documents your broker will not chase. Would a sample quotation help this season?"
    "{% endblock %}\n"
    "{% block html %}<p>{{ greeting }}</p><p>We make fasteners to order for importers and ship "
    "with documents your broker will not chase. Would a sample quotation help?</p>{% endblock %}\n"
)
SHOUTING = CLEAN.replace(
    "Fasteners for {{ contact.company or 'your next order' }}", "FREE SAMPLES!! ACT NOW"
)
WARNING_ONLY = CLEAN.replace("Would a sample", "Samples are free. Would a sample")


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    app = typer.Typer()
    app.command()(lint)
    monkeypatch.setattr(lint_module, "get_settings", lambda: Settings(templates_dir=tmp_path))

    def invoke(*args: str):
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})

    return invoke


def write(root: Path, name: str, source: str) -> Path:
    path = root / f"{name}.jinja"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return path


def test_the_shipped_trade_intro_sequence_passes(run) -> None:
    result = run("trade_intro", "--templates-dir", str(PROJECT_ROOT / "templates"))
    assert result.exit_code == 0, result.output
    assert "5 template(s), 0 error(s)" in result.output  # four steps and the intro's A/B variant


def test_a_template_with_errors_exits_1_and_names_the_rules(run, tmp_path: Path) -> None:
    write(tmp_path, "seq/intro", SHOUTING)
    result = run("seq/intro")
    assert result.exit_code == 1
    assert "all-caps" in result.output
    assert "exclamation" in result.output
    assert "seq/intro" in result.output


def test_warnings_are_shown_and_exit_0(run, tmp_path: Path) -> None:
    write(tmp_path, "seq/offer", WARNING_ONLY)
    result = run("seq/offer")
    assert result.exit_code == 0, result.output
    assert "spam-phrase" in result.output
    assert "0 error(s), 1 warning(s)" in result.output


def test_a_sequence_lints_every_template_in_its_directory(run, tmp_path: Path) -> None:
    write(tmp_path, "seq/intro", CLEAN)
    write(tmp_path, "seq/offer", SHOUTING)
    write(tmp_path, "other/intro", SHOUTING)
    result = run("seq")
    assert result.exit_code == 1
    assert "2 template(s)" in result.output
    assert "seq/offer" in result.output
    assert "other/intro" not in result.output


def test_a_jinja_path_outside_the_templates_directory_is_linted(run, tmp_path: Path) -> None:
    path = write(tmp_path / "elsewhere", "draft", SHOUTING)
    result = run(str(path), "--templates-dir", str(tmp_path / "empty"))
    assert result.exit_code == 1
    assert "draft" in result.output


def test_a_jinja_path_inside_the_templates_directory_keeps_its_name(run, tmp_path: Path) -> None:
    path = write(tmp_path, "seq/intro", CLEAN)
    result = run(str(path))
    assert result.exit_code == 0, result.output
    assert "1 template(s), 0 error(s), 0 warning(s)" in result.output


def test_templates_dir_option_overrides_the_settings(run, tmp_path: Path) -> None:
    write(tmp_path / "custom", "seq/intro", SHOUTING)
    assert run("seq/intro").exit_code == 2
    assert run("seq/intro", "--templates-dir", str(tmp_path / "custom")).exit_code == 1


def test_an_unknown_target_exits_2(run) -> None:
    result = run("no_such_sequence")
    assert result.exit_code == 2
    assert "no template, sequence or .jinja file" in result.output
