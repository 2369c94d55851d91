"""Content lint: checks a step template (its source and two sample renderings, footer included)
for what gets cold export-trade email filtered, clipped or complained about, before a cohort starts.
The rules and why each exists: `rules`."""

from activities.deliverability.content_lint.linter import (
    lint_before_start,
    lint_sequence,
    lint_template,
    sequence_templates,
)
from activities.deliverability.content_lint.report import Finding, LintReport, LintRule, Severity

__all__ = [
    "Finding",
    "LintReport",
    "LintRule",
    "Severity",
    "lint_before_start",
    "lint_sequence",
    "lint_template",
    "sequence_templates",
]
