"""Plain models of the `trade_intro` reference sequence: its params (timings). Kept out of the
workflow module so the workflow sandbox passes them through instead of rebuilding the pydantic
model for every workflow it runs."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TradeIntroParams(BaseModel):
    """Timings of `trade_intro`: ISO 8601 durations (``"P2D"``, ``"PT12H"``) or seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    open_window: timedelta = Field(
        timedelta(days=2),
        gt=timedelta(),
        description="How long an intro may go unopened before the bump.",
    )
    case_study_after: timedelta = Field(
        timedelta(days=4), gt=timedelta(), description="From the intro to the case study."
    )
    offer_after: timedelta = Field(
        timedelta(days=4), gt=timedelta(), description="From the case study to the offer."
    )

    @model_validator(mode="after")
    def _bump_before_case_study(self) -> TradeIntroParams:
        if self.open_window >= self.case_study_after:
            raise ValueError("open_window must be shorter than case_study_after")
        return self


__all__ = ["TradeIntroParams"]
