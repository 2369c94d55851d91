"""Which funnel metric a stored engagement event counts toward: the one reading of events that the
cohort funnel and the A/B decision share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.events import BounceClass, EventKind
from models.replies import ReplyIntent

STEP_METRICS = (
    "sent",
    "delivered",
    "opened_human",
    "opened_machine",
    "clicked",
    "replied_human",
    "replied_auto",
    #: Enrollments that reached a goal with this as the last step sent before it (not an event
    #: of the message: `activities.cohorts.conversions` attributes it).
    "converted",
    "unsubscribed",
    "bounced_hard",
    "bounced_soft",
    "bounced_block",
    "complained",
    "unknown",
)


def event_metrics(
    kind: str | None, payload: Mapping[str, Any] | None, details: Mapping[str, Any] | None
) -> list[str]:
    """The funnel metrics one stored event counts toward (none for kinds the funnel ignores)."""
    payload = payload or {}
    details = details or {}
    if kind == EventKind.DELIVERED:
        return ["delivered"]
    if kind == EventKind.OPEN:
        return ["opened_machine" if payload.get("machine_open") else "opened_human"]
    if kind == EventKind.CLICK:
        return ["clicked"]
    if kind == EventKind.REPLY:
        if payload.get("auto_reply"):
            return ["replied_auto"]
        # "Please remove me" is a reply and an unsubscribe (the stored intent, as classified).
        opt_out = payload.get("reply_intent") == ReplyIntent.OPT_OUT
        return ["replied_human", "unsubscribed"] if opt_out else ["replied_human"]
    if kind == EventKind.UNSUBSCRIBE:
        return ["unsubscribed"]
    if kind == EventKind.COMPLAINT:
        return ["complained"]
    if kind == EventKind.BOUNCE:
        cls = str(payload.get("bounce_class") or details.get("bounce_class") or "")
        if cls == BounceClass.HARD:
            return ["bounced_hard"]
        return ["bounced_block"] if cls == BounceClass.BLOCK else ["bounced_soft"]
    return []


__all__ = ["STEP_METRICS", "event_metrics"]
