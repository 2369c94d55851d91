"""The in-memory activities a sequence runs against on the time-skipping server: `FakeSender`
records every `send_step` (what, when) and stands in for `finish_enrollment` and `event_property`
under their wire names, so the real workflow code runs without a database or an ESP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.enrollment import (
    EventPropertyInput,
    EventPropertyResult,
    FinishEnrollmentInput,
    SendStatus,
    SendStepInput,
    SendStepResult,
)
from models.wire import EVENT_PROPERTY_ACTIVITY, FINISH_ENROLLMENT_ACTIVITY, SEND_STEP_ACTIVITY


@dataclass
class FakeSender:
    """Stands in for the real `send_step`: records what it is asked to send and when.

    `fail` maps a step to the `ApplicationError` type its send raises (non-retryable), e.g.
    ``{"case_study": "ConsentWithdrawn"}``. A send of a step in `hold` waits for `release()`:
    release it before the test ends, because the test server does not skip time while an
    activity runs (even one of a closed workflow).
    """

    fail: dict[str, str] = field(default_factory=dict)
    hold: set[str] = field(default_factory=set)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    finished: int = 0
    all_finished: asyncio.Event = field(default_factory=asyncio.Event)
    sent: list[SendStepInput] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    outcomes: list[FinishEnrollmentInput] = field(default_factory=list)
    #: Steps whose next send finds no quota: the first attempt raises QuotaExhausted with a
    #: retry time this long after the attempt was scheduled.
    quota_full: dict[str, timedelta] = field(default_factory=dict)
    #: While set, every send raises SenderPaused.
    sender_paused: bool = False
    #: The cohort's A/B winner; a send that awaits it raises WinnerPending while it is None.
    winner: str | None = None
    #: The stored business events' properties by event id, as the fake `event_property` reads
    #: them (`business_event` and `start_enrollment(trigger=...)` fill it).
    event_store: dict[str, dict[str, Any]] = field(default_factory=dict)
    property_reads: list[EventPropertyInput] = field(default_factory=list)

    @activity.defn(name=SEND_STEP_ACTIVITY)
    async def send_step(self, input: SendStepInput) -> SendStepResult:
        self.sent.append(input)
        self.times.append(activity.info().current_attempt_scheduled_time)
        try:
            if input.step in self.hold:
                await self.released.wait()
            if self.sender_paused:
                raise ApplicationError(
                    "sender paused (fake)", None, type="SenderPaused", non_retryable=True
                )
            wait = self.quota_full.pop(input.step, None)
            if wait is not None:
                retry_at = activity.info().current_attempt_scheduled_time + wait
                raise ApplicationError(
                    "quota full (fake)",
                    retry_at.isoformat(),
                    type="QuotaExhausted",
                    non_retryable=True,
                )
            error_type = self.fail.get(input.step)
            if error_type is not None:
                raise ApplicationError(f"{error_type} (fake)", type=error_type, non_retryable=True)
            if input.await_winner and self.winner is None:
                raise ApplicationError(
                    "winner pending (fake)", None, type="WinnerPending", non_retryable=True
                )
            return SendStepResult(
                message_id=input.message_id,
                status=SendStatus.SENT,
                esp_message_id=f"esp-{input.message_id}",
                variant=self.winner if input.await_winner else input.variant,
            )
        finally:
            self.finished += 1
            if self.finished == len(self.sent):
                self.all_finished.set()

    @activity.defn(name=FINISH_ENROLLMENT_ACTIVITY)
    async def finish_enrollment(self, input: FinishEnrollmentInput) -> None:
        """Stands in for mirroring the outcome into SQL: records it."""
        self.outcomes.append(input)

    @activity.defn(name=EVENT_PROPERTY_ACTIVITY)
    async def event_property(self, input: EventPropertyInput) -> EventPropertyResult:
        """Stands in for reading a business event's property from SQL: reads `event_store`."""
        self.property_reads.append(input)
        properties = self.event_store.get(input.event_id)
        if properties is None:
            return EventPropertyResult(value=None, found=False)
        return EventPropertyResult(value=properties.get(input.name), found=True)

    @property
    def activities(self) -> list[Callable[..., Any]]:
        """What a test worker registers."""
        return [self.send_step, self.finish_enrollment, self.event_property]

    def store_event(self, properties: dict[str, Any] | None = None) -> str:
        """Store a business event's properties (as `POST /api/events` would); its new id."""
        event_id = str(uuid.uuid4())
        self.event_store[event_id] = dict(properties or {})
        return event_id

    def release(self) -> None:
        """Let held sends finish."""
        self.released.set()

    async def until_finished(self, seconds: float = 10.0) -> None:
        """Until every send asked for has returned or raised."""
        if self.finished < len(self.sent):
            self.all_finished.clear()
            await asyncio.wait_for(self.all_finished.wait(), seconds)

    @property
    def steps(self) -> list[str]:
        """The steps asked for, in order (including ones whose send failed)."""
        return [s.step for s in self.sent]

    def input_of(self, step: str) -> SendStepInput:
        return next(s for s in self.sent if s.step == step)

    def days_after_start(self, step: str) -> float:
        """When `step` was sent, in (skipped) days after the first send."""
        at = self.times[self.steps.index(step)]
        return (at - self.times[0]) / timedelta(days=1)


__all__ = ["FakeSender"]
