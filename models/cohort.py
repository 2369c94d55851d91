"""Plain models of a cohort launch (they travel through Temporal: ids and counts only)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


def cohort_launch_workflow_id(cohort_id: str) -> str:
    return f"nurture-cohort/{cohort_id}"


class CohortLaunchInput(BaseModel):
    cohort_id: str
    sequence: str
    sender_id: str
    params: dict[str, Any] = Field(default_factory=dict)
    send_windows: bool = True
    batch_size: int = Field(100, ge=1, le=1000)
    per_second: float = Field(50.0, gt=0, description="Enrollments started per second, at most.")
    decide_ab: bool = Field(
        False, description="After the launch, call the cohort's A/B winner once it is due."
    )
    #: Carried across continue-as-new.
    enrolled: int = 0
    skipped: int = 0


class LaunchBatchInput(BaseModel):
    cohort_id: str
    sequence: str
    sender_id: str
    params: dict[str, Any] = Field(default_factory=dict)
    send_windows: bool = True
    limit: int


class LaunchBatchResult(BaseModel):
    processed: int
    enrolled: int
    skipped: int


class CohortLaunchProgress(BaseModel):
    cohort_id: str
    enrolled: int
    skipped: int
    paused: bool
    cancelled: bool
    done: bool


class CohortLaunchResult(BaseModel):
    cohort_id: str
    enrolled: int
    skipped: int
    cancelled: bool
    ab_winner: str | None = None


__all__ = [
    "CohortLaunchInput",
    "CohortLaunchProgress",
    "CohortLaunchResult",
    "LaunchBatchInput",
    "LaunchBatchResult",
    "cohort_launch_workflow_id",
]
