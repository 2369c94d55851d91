"""Plain models of a cohort's A/B test of one step: what ops ask for, what one enrollment is
assigned, and what the decision says. Assignments travel through Temporal: labels only.

A variant of step `intro` of sequence `trade_intro` is the template
`templates/trade_intro/intro@<variant>.jinja`; the step's own template is the variant `control`.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field, model_validator

#: The step's own template (`<step>.jinja`) as a variant.
CONTROL_VARIANT = "control"


def variant_template(template: str, variant: str | None) -> str:
    """The template name of `variant` of the step template `template`."""
    if variant is None or variant == CONTROL_VARIANT:
        return template
    return f"{template}@{variant}"


class AbTestSpec(BaseModel):
    """An A/B test ops start with a cohort: which step, which variants, how big a sample."""

    step: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
    variants: list[str] = Field(
        default_factory=list,
        description="Variant names; empty: `control` and every `<step>@<variant>` template.",
    )
    sample_per_variant: int = Field(
        100, ge=1, le=100_000, description="Contacts who get each variant before the decision."
    )
    min_sample: int | None = Field(
        None,
        ge=1,
        description="Sends a variant needs before a winner may be called "
        "(default: half the sample). Below it the control is kept.",
    )
    window: timedelta = Field(
        timedelta(days=3),
        description="How long replies and clicks are counted after the sample's last send.",
    )

    @model_validator(mode="after")
    def _sane(self) -> AbTestSpec:
        if len(set(self.variants)) != len(self.variants):
            raise ValueError("variants repeat")
        for name in self.variants:
            if not name or not all(c.isalnum() or c in "_-" for c in name):
                raise ValueError(f"variant {name!r}: letters, digits, _ and - only")
        if self.window < timedelta():
            raise ValueError("window must not be negative")
        return self

    @property
    def min_sends(self) -> int:
        return self.min_sample or max(1, self.sample_per_variant // 2)


class AbAssignment(BaseModel):
    """What one enrollment sends at the tested step."""

    step: str
    variant: str | None = Field(
        None, description="The variant; None: the cohort's winner, once it is decided."
    )


class AbDecision(BaseModel):
    """What the decide activity answers the cohort launch."""

    decided: bool
    winner: str | None = None
    reason: str = ""
    #: When to look again if not decided.
    recheck_after_seconds: float = 3600.0


__all__ = [
    "CONTROL_VARIANT",
    "AbAssignment",
    "AbDecision",
    "AbTestSpec",
    "variant_template",
]
