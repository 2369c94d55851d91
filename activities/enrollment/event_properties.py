"""Reads a stored business event's properties for one enrollment: the `event_property` activity
and the send step (templates see the triggering event as `event`) both come through here.

Only the enrollment's own contact's events are read: an id naming another contact's event, a
malformed id or an erased event all read as "no such event" (None), never as an error that
would put the id's owner into a log.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session

from models.db import session_scope
from models.enrollment import EventPropertyInput, EventPropertyResult
from models.tables import BusinessEvent


def event_properties(session: Session, event_id: str, contact_id: UUID) -> dict[str, Any] | None:
    """The properties of business event `event_id` if it exists and is about `contact_id`."""
    try:
        key = UUID(event_id)
    except ValueError:
        return None
    event = session.get(BusinessEvent, key)
    if event is None or event.contact_id != contact_id:
        return None
    return dict(event.properties or {})


def read_event_property(engine: sa.Engine, query: EventPropertyInput) -> EventPropertyResult:
    """The JSON value of one property (None if the event lacks it); `found=False` when the event
    is not there for this contact."""
    with session_scope(engine) as session:
        properties = event_properties(session, query.event_id, query.contact_id)
    if properties is None:
        return EventPropertyResult(value=None, found=False)
    return EventPropertyResult(value=properties.get(query.name), found=True)


__all__ = ["event_properties", "read_event_property"]
