"""The Temporal activities of an enrollment, as thin wrappers over the services.

Activities are synchronous (the `sendgrid` client and the DB sessions are blocking): the worker
runs them in a thread pool, off the event loop. nurture's permanent errors become non-retryable
`ApplicationError`s typed by class name, which the `Sequence` base branches on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.enrollment.enrolling import record_outcome
from activities.enrollment.event_properties import read_event_property
from activities.enrollment.heartbeat import heartbeating
from activities.enrollment.sending import SendingService
from models.enrollment import (
    EventPropertyInput,
    EventPropertyResult,
    FinishEnrollmentInput,
    SendStepInput,
    SendStepResult,
)
from models.errors import EspRateLimited, NurtureError, SendDeferred
from models.wire import EVENT_PROPERTY_ACTIVITY, FINISH_ENROLLMENT_ACTIVITY, SEND_STEP_ACTIVITY

#: How often `send_step` heartbeats. The workflow's heartbeat timeout for the step
#: (`workflows/engine.py: SEND_HEARTBEAT_TIMEOUT`, 5 s) must leave room for several: the SDK
#: sends at most one per 0.8 × that timeout and a beat every second keeps one always waiting.
SEND_HEARTBEAT_INTERVAL = timedelta(seconds=1)


def to_application_error(exc: NurtureError) -> ApplicationError:
    """The Temporal face of a nurture error: permanent ones are non-retryable; a deferred send
    carries when to retry (ISO 8601, or None) as its first detail for the workflow to wait on."""
    if isinstance(exc, SendDeferred):
        retry_at = exc.retry_at.isoformat() if exc.retry_at is not None else None
        return ApplicationError(str(exc), retry_at, type=type(exc).__name__, non_retryable=True)
    if isinstance(exc, EspRateLimited):
        return ApplicationError(
            str(exc),
            type=type(exc).__name__,
            next_retry_delay=timedelta(seconds=exc.retry_after_seconds),
        )
    return ApplicationError(str(exc), type=type(exc).__name__, non_retryable=exc.permanent)


class EnrollmentActivities:
    """Receives its services in the constructor; `all()` lists the activities to register."""

    def __init__(self, engine: sa.Engine, sending: SendingService) -> None:
        self._engine = engine
        self._sending = sending

    @activity.defn(name=SEND_STEP_ACTIVITY)
    def send_step(self, input: SendStepInput) -> SendStepResult:
        """Send one step, at most once (`SendingService.send_step`), heartbeating all along: a
        killed worker's send is retried after the heartbeat timeout, not the start-to-close; the
        retry finds the unfinished row and does not call the ESP again."""
        try:
            with heartbeating(SEND_HEARTBEAT_INTERVAL):
                return self._sending.send_step(input)
        except NurtureError as exc:
            activity.logger.warning(
                "send step refused",
                extra={
                    "sequence": input.sequence,
                    "step": input.step,
                    "message_id": input.message_id,
                    "error": type(exc).__name__,
                    "reason": str(exc),
                },
            )
            raise to_application_error(exc) from exc

    @activity.defn(name=FINISH_ENROLLMENT_ACTIVITY)
    def finish_enrollment(self, input: FinishEnrollmentInput) -> None:
        """Mirror the outcome into SQL, with the goal or exit event that caused it."""
        record_outcome(self._engine, input)

    @activity.defn(name=EVENT_PROPERTY_ACTIVITY)
    def event_property(self, input: EventPropertyInput) -> EventPropertyResult:
        """One property of a stored business event of the enrollment's contact, as its JSON
        value: None when the event lacks it, `found=False` when the event is not there (erased,
        or about another contact). The result enters the workflow history: sequences read only
        what they decide on (a date, a code), never personal data (`Sequence.event_property`)."""
        result = read_event_property(self._engine, input)
        if not result.found:
            # Ids only: the event id and property name say nothing about the person.
            activity.logger.warning(
                "business event not found for the enrollment's contact",
                extra={"event_id": input.event_id, "property": input.name},
            )
        return result

    def all(self) -> list[Callable[..., Any]]:
        return [self.send_step, self.finish_enrollment, self.event_property]


__all__ = ["SEND_HEARTBEAT_INTERVAL", "EnrollmentActivities", "to_application_error"]
