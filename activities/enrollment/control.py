"""Ops control of enrollments — pause, resume, cancel — queued in the outbox so the signal reaches
the workflow even if Temporal is down right now (the forwarder delivers it). `EnrollmentControl`
is what `nurture enrollment …` and `/api/enrollments/{id}/{action}` both call."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session

from activities.events.ingest import insert_once
from models.db import session_scope
from models.errors import EnrollmentNotFound
from models.tables import Enrollment, EventSignal, utcnow


class ControlAction(StrEnum):
    """What ops may do to a live enrollment (or to every enrollment of a cohort)."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


ACTIONS = {
    ControlAction.PAUSE: EventSignal.PAUSE,
    ControlAction.RESUME: EventSignal.RESUME,
    ControlAction.CANCEL: EventSignal.CANCEL,
}


def queue_control(
    session: Session, workflow_id: str, action: str, reason: str | None = None
) -> bool:
    """Queue `action` for one enrollment's workflow; False if it was already queued this instant."""
    signal = ACTIONS[ControlAction(action)]
    stamp = utcnow()
    payload = {"reason": reason or "cancelled by ops"} if signal == EventSignal.CANCEL else {}
    return (
        insert_once(
            session,
            esp_event_id=f"ops-{signal.value}-{stamp.timestamp():.6f}-{workflow_id}"[:200],
            esp_type=f"ops_{signal.value}",
            kind=None,
            message_id=None,
            workflow_id=workflow_id,
            contact_id=None,
            occurred_at=stamp,
            details={"reason": reason} if reason else {},
            signal=signal,
            payload=payload,
            forwarded_at=None,
        )
        is not None
    )


def control_enrollment(
    session: Session, workflow_id: str, action: str, reason: str | None = None
) -> Enrollment:
    """Pause, resume or cancel one enrollment in `session`; `EnrollmentNotFound` if none."""
    enrollment = session.get(Enrollment, workflow_id)
    if enrollment is None:
        raise EnrollmentNotFound(f"no enrollment {workflow_id!r}")
    queue_control(session, workflow_id, action, reason)
    return enrollment


class EnrollmentControl:
    """Pause, resume or cancel one enrollment, committed in the outbox (the one service of the
    CLI's `enrollment` commands and the API's `/api/enrollments/{id}/{action}`)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def queue(self, workflow_id: str, action: str, reason: str | None = None) -> None:
        """Queue the action's signal for the workflow; `EnrollmentNotFound` if no such
        enrollment. The caller wakes its forwarder, if it runs one."""
        with session_scope(self._engine) as session:
            control_enrollment(session, workflow_id, action, reason)


__all__ = ["ACTIONS", "ControlAction", "EnrollmentControl", "control_enrollment", "queue_control"]
