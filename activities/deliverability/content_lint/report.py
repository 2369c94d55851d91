"""What a content lint finds: the rules (`LintRule`), their severities, one `Finding` and the
`LintReport` over one or more templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class LintRule(StrEnum):
    SPAM_PHRASE = "spam-phrase"
    ALL_CAPS = "all-caps"
    EXCLAMATION = "exclamation"
    IMPERSONAL_GREETING = "impersonal-greeting"
    NO_PERSONALISATION = "no-personalisation"
    COMPLIANCE_FOOTER = "compliance-footer"
    LINKS_IMAGES = "links-images"
    HEAVY_HTML = "heavy-html"
    LINK_SHORTENER = "link-shortener"
    SUBJECT = "subject"
    RENDER = "render"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem in one template: what is wrong (`message`) and what to do (`fix`)."""

    rule: LintRule
    severity: Severity
    template: str
    message: str
    fix: str


@dataclass(frozen=True)
class LintReport:
    """Findings over one or more templates; `ok` when none is an error."""

    templates: tuple[str, ...]
    findings: tuple[Finding, ...] = field(default=())

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors


__all__ = ["Finding", "LintReport", "LintRule", "Severity"]
