"""The public entry of the content lint: lint one template, a sequence's step templates, or every
template of a sequence before a cohort starts."""

from __future__ import annotations

from pathlib import Path

import jinja2

from activities.deliverability.content_lint.report import LintReport
from activities.deliverability.content_lint.rules import _lint
from activities.enrollment.rendering import Renderer


def _source_env(templates_dir: Path) -> jinja2.Environment:
    """For reading sources; strict like the renderer's, so a subject is empty only if it is."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)), undefined=jinja2.StrictUndefined
    )


def lint_template(
    name: str, *, renderer: Renderer | None = None, templates_dir: Path
) -> LintReport:
    """Lint one template, `name` as the renderer knows it (`trade_intro/intro`)."""
    renderer = renderer or Renderer(templates_dir)
    return LintReport(
        templates=(name,), findings=tuple(_lint(name, renderer, _source_env(templates_dir)))
    )


def lint_sequence(
    sequence: str, steps: list[str], templates_dir: Path, *, renderer: Renderer | None = None
) -> LintReport:
    """Lint the step templates of a sequence (`steps` are template names inside `sequence/`)."""
    renderer = renderer or Renderer(templates_dir)
    env = _source_env(templates_dir)
    names = tuple(f"{sequence}/{step}" for step in steps)
    findings = [f for name in names for f in _lint(name, renderer, env)]
    return LintReport(templates=names, findings=tuple(findings))


def sequence_templates(sequence: str, templates_dir: Path) -> list[str]:
    """Every template of a sequence: the `.jinja` files in `templates/<sequence>/`."""
    return sorted(p.name.removesuffix(".jinja") for p in (templates_dir / sequence).glob("*.jinja"))


def lint_before_start(sequence: str, templates_dir: Path) -> LintReport:
    """What a cohort start runs first: every template of the sequence; errors block the start."""
    return lint_sequence(sequence, sequence_templates(sequence, templates_dir), templates_dir)


__all__ = ["lint_before_start", "lint_sequence", "lint_template", "sequence_templates"]
