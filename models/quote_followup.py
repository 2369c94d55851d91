"""Plain models of the `quote_followup` sequence: its params (timings in business days) and how
it reads the quote's `valid_until`. Kept out of the workflow module so the workflow sandbox
passes them through instead of rebuilding them for every workflow it runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class QuoteFollowupParams(BaseModel):
    """Timings of `quote_followup`, in the contact's business days (weekends and its country's
    public holidays skipped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    follow_up_business_days: int = Field(
        2,
        ge=1,
        le=30,
        description="From the quote to the follow-up, sent unless the buyer clicked the quote.",
    )
    reminder_business_days: int = Field(
        2,
        ge=1,
        le=30,
        description="How many business days before the quote's valid_until the last reminder goes.",
    )


def valid_until_date(value: Any) -> date | None:
    """The quote's `valid_until` property as a date: an ISO date (`2026-12-20`) or the date of an
    ISO date-time; None when absent or not a date (the sequence then sends no reminder)."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        return None


__all__ = ["QuoteFollowupParams", "valid_until_date"]
