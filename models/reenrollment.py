"""Re-enrollment rules of a sequence: may a contact who was enrolled before be enrolled again?"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field


class ReenrollmentPolicy(StrEnum):
    NEVER = "never"
    AFTER_COMPLETION = "after_completion"
    AFTER_DAYS = "after_days"


class Reenrollment(BaseModel):
    """`never`; `after_completion` (once the previous enrollment ended, however); or
    `after_days` (that many days after the previous enrollment ended)."""

    policy: ReenrollmentPolicy = ReenrollmentPolicy.NEVER
    days: int = Field(0, ge=0)

    @classmethod
    def never(cls) -> Reenrollment:
        return cls(policy=ReenrollmentPolicy.NEVER)

    @classmethod
    def after_completion(cls) -> Reenrollment:
        return cls(policy=ReenrollmentPolicy.AFTER_COMPLETION)

    @classmethod
    def after_days(cls, days: int) -> Reenrollment:
        return cls(policy=ReenrollmentPolicy.AFTER_DAYS, days=days)

    def refusal(self, ended_at: datetime | None, now: datetime) -> str | None:
        """Why a contact whose previous enrollment ended at `ended_at` (None: still live) may not
        be enrolled again now, or None if it may."""
        if ended_at is None:
            return "an enrollment is still running"
        if self.policy == ReenrollmentPolicy.NEVER:
            return "enrolled before, and this sequence never re-enrolls"
        if self.policy == ReenrollmentPolicy.AFTER_DAYS and now < ended_at + timedelta(
            days=self.days
        ):
            return f"enrolled before; this sequence re-enrolls {self.days} days after the last one ended"
        return None


__all__ = ["Reenrollment", "ReenrollmentPolicy"]
