"""`nurture lint`: content lint of a template, a sequence's templates, or a .jinja file, as a
table; exits 1 when any finding is an error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from activities.deliverability.content_lint import (
    LintReport,
    Severity,
    lint_sequence,
    lint_template,
    sequence_templates,
)
from activities.enrollment.rendering import Renderer
from cli.output import EXIT_BAD_INPUT, EXIT_FAILED, console, fail, handled_errors
from models.settings import get_settings
from workflows.registry import templates_dir_of

TEMPLATE_SUFFIX = ".jinja"


def _steps(sequence_dir: Path) -> list[str]:
    return sequence_templates(sequence_dir.name, sequence_dir.parent)


def _lint_target(target: str, templates_dir: Path) -> LintReport | None:
    """A .jinja file; else a sequence or a template name under `templates_dir`; else a
    directory of templates anywhere."""
    path = Path(target)
    if target.endswith(TEMPLATE_SUFFIX) or path.is_file():
        if not path.is_file():
            return None
        path = path.resolve()
        root = templates_dir.resolve()
        if path.is_relative_to(root):
            name = path.relative_to(root).as_posix().removesuffix(TEMPLATE_SUFFIX)
            return lint_template(name, templates_dir=templates_dir)
        name = path.name.removesuffix(TEMPLATE_SUFFIX)
        return lint_template(name, renderer=Renderer(path.parent), templates_dir=path.parent)
    name = target.strip("/")
    if name and (templates_dir / name).is_dir():
        steps = _steps(templates_dir / name)
        return lint_sequence(name, steps, templates_dir) if steps else None
    if name and (templates_dir / f"{name}{TEMPLATE_SUFFIX}").is_file():
        return lint_template(name, templates_dir=templates_dir)
    if path.is_dir() and (steps := _steps(path)):
        path = path.resolve()
        return lint_sequence(path.name, steps, path.parent)
    return None


def _print(report: LintReport, console: Console) -> None:
    if report.findings:
        table = Table(show_lines=False)
        table.add_column("template", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("message", overflow="fold", ratio=3)
        table.add_column("fix", overflow="fold", ratio=2)
        for f in sorted(report.findings, key=lambda f: (f.template, f.severity, f.rule)):
            style = "bold red" if f.severity is Severity.ERROR else "yellow"
            table.add_row(f.template, f"[{style}]{f.severity}[/]", f.rule, f.message, f.fix)
        console.print(table)
    verdict = "[bold red]failed[/]" if not report.ok else "[bold green]ok[/]"
    console.print(
        f"{verdict}: {len(report.templates)} template(s), "
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    )


def lint(
    target: Annotated[
        str,
        typer.Argument(
            help="A template (trade_intro/intro), a sequence (trade_intro) or a .jinja file."
        ),
    ],
    templates_dir: Annotated[
        Path | None,
        typer.Option(
            help="Templates directory (default: NURTURE_TEMPLATES_DIR, or the templates folder "
            "of a NURTURE_SEQUENCES sequence)."
        ),
    ] = None,
) -> None:
    """Lint email templates for spam triggers, shouting, missing personalisation and footer."""
    with handled_errors():  # a NURTURE_SEQUENCES module that does not load
        directory = templates_dir or templates_dir_of(
            target.strip("/").split("/")[0], get_settings().templates_dir
        )
    report = _lint_target(target, directory)
    if report is None:
        fail(
            f"no template, sequence or .jinja file {target!r} (templates directory: {directory})",
            EXIT_BAD_INPUT,
        )
    _print(report, console)
    raise typer.Exit(0 if report.ok else EXIT_FAILED)


__all__ = ["lint"]
