"""The notification outbox: `queue_notification` adds a row in the caller's transaction (so a
notification exists if and only if what caused it was committed), `notification_body` is the one
place the wire body is built, and `notification_backlog` is what `/metrics` reports.

The body POSTed to `NURTURE_NOTIFY_URL` is one JSON object, the same bytes on every attempt:

    {"created_at": "2026-12-05T08:30:06.307199+00:00",
     "data": {"contact_id": "…", "enrollment": "…", "intent": "interested", "link": "https://…"},
     "id": "0b7d…",                      # the row's UUID: deduplicate by it
     "kind": "reply"}

`id`, `kind` and `created_at` are ours; whatever the caller queued sits under `data` untouched, so
a payload key can never shadow the id a receiver deduplicates by. Keys are sorted and the JSON is
compact and ASCII. Payloads carry ids, an intent and a link, never a reply's text or an address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic_core import PydanticSerializationError, to_jsonable_python
from sqlmodel import Session, col

from models.tables import Notification

#: Longest `kind` the table holds.
MAX_KIND_LENGTH = 64

#: Rows not yet accepted by the receiver (due now or waiting out a retry pause).
UNDELIVERED = col(Notification.delivered_at).is_(None)


def queue_notification(session: Session, *, kind: str, payload: dict[str, Any]) -> UUID:
    """Add a notification to `session` (the caller commits) and return its id, the receiver's
    deduplication key.

    `payload` must be JSON-safe: plain JSON values, plus what pydantic serialises (UUIDs,
    datetimes, enums), which are stored as their JSON form. Raises `ValueError` for an empty or
    overlong `kind` and `TypeError` for a payload that is not a JSON object of such values."""
    if not kind or len(kind) > MAX_KIND_LENGTH:
        raise ValueError(f"kind must be 1 to {MAX_KIND_LENGTH} characters")
    if not isinstance(payload, dict):
        raise TypeError("payload must be a dict (a JSON object)")
    try:
        stored = to_jsonable_python(payload)
        # Round-trip: what is stored is exactly what will be sent (no NaN, only str keys).
        stored = json.loads(json.dumps(stored, allow_nan=False))
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise TypeError(f"payload is not JSON-safe: {type(exc).__name__}") from exc
    row = Notification(kind=kind, payload=stored)
    session.add(row)
    return row.id


def notification_body(
    notification_id: UUID, kind: str, created_at: datetime, payload: dict[str, Any]
) -> bytes:
    """The bytes POSTed (and signed) for one notification; the same on every attempt."""
    document = {
        "id": str(notification_id),
        "kind": kind,
        "created_at": created_at.isoformat(),
        "data": payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True)
class NotificationBacklog:
    """Notifications the receiver has not accepted yet, and when the oldest was queued."""

    pending: int
    oldest_created_at: datetime | None

    def oldest_pending_seconds(self, now: datetime) -> float:
        """Age of the oldest undelivered notification; 0 when none waits."""
        if self.oldest_created_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_created_at).total_seconds())


def notification_backlog(session: Session) -> NotificationBacklog:
    """The undelivered count and the oldest of them, in one aggregate query."""
    count, oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(col(Notification.created_at)))
        .select_from(Notification)
        .where(UNDELIVERED)
    ).one()
    return NotificationBacklog(pending=int(count), oldest_created_at=oldest)


__all__ = [
    "MAX_KIND_LENGTH",
    "UNDELIVERED",
    "NotificationBacklog",
    "notification_backlog",
    "notification_body",
    "queue_notification",
]
