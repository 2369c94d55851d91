"""Ops control of enrollments — pause, resume, cancel — queued in the outbox so the signal reaches
the workflow even if Temporal is down right now (the forwarder delivers it)."""

from __future__ import annotations

from sqlmodel import Session

from activities.events.ingest import insert_once
from models.errors import EnrollmentNotFound
from models.tables import Enrollment, EventSignal, utcnow

ACTIONS = {"pause": EventSignal.PAUSE, "resume": EventSignal.RESUME, "cancel": EventSignal.CANCEL}


def queue_control(
    session: Session, workflow_id: str, action: str, reason: str | None = None
) -> bool:
    """Queue `action` for one enrollment's workflow; False if it was already queued this instant."""
    signal = ACTIONS[action]
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
    """Pause, resume or cancel one live enrollment."""
    enrollment = session.get(Enrollment, workflow_id)
    if enrollment is None:
        raise EnrollmentNotFound(workflow_id)
    queue_control(session, workflow_id, action, reason)
    return enrollment


__all__ = ["ACTIONS", "control_enrollment", "queue_control"]
