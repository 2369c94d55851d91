"""Engagement and business events as the forwarder signals them (ids only), and the event plan a
simulation delivers: ``"open@2h,click:intro@3d,order_placed@5d"`` — each an event kind (or a
business event name), optionally the step whose email it is about, and an offset from the
enrollment's start (``30m``, ``2h``, ``3d``, ``1d12h``)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models.business_events import event_name_problem
from models.events import SIGNALLED_KINDS, BounceClass, EngagementEvent, EventKind

#: The ESP event kinds a plan may name: those the forwarder signals (`SIGNALLED_KINDS`), business
#: events being named by their own names.
PLANNED_KINDS = SIGNALLED_KINDS - {EventKind.BUSINESS}
_OFFSET_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_ITEM = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)(?::(?P<step>[A-Za-z0-9_@.-]+))?@(?P<at>\S+)$")


def engagement_event(
    kind: EventKind,
    message_id: str | None = None,
    *,
    occurred_at: datetime | None = None,
    **details: Any,
) -> EngagementEvent:
    """An engagement event as the webhook forwarder would signal it (ids only)."""
    details.setdefault("esp_event_id", f"evt-{uuid.uuid4().hex[:16]}")
    return EngagementEvent(
        kind=kind, occurred_at=occurred_at or datetime.now(UTC), message_id=message_id, **details
    )


def business_event(
    name: str, event_id: str | None = None, *, occurred_at: datetime | None = None
) -> EngagementEvent:
    """A business event as the forwarder signals it: name, nurture's id and time, no properties."""
    event_id = event_id or str(uuid.uuid4())
    return EngagementEvent(
        kind=EventKind.BUSINESS,
        occurred_at=occurred_at or datetime.now(UTC),
        name=name,
        event_id=event_id,
        esp_event_id=f"business:{event_id}",
    )


def parse_offset(text: str) -> timedelta:
    """`2h`, `3d`, `30m`, `1d12h`, `1w`, `90s` as a duration; ValueError naming the fault."""
    cleaned = text.strip().lower()
    parts = _OFFSET_PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"not an offset: {text!r} (a number and a unit: 30m, 2h, 3d, 1d12h, 1w)")
    total = timedelta()
    for number, unit in parts:
        total += timedelta(**{_UNITS[unit]: float(number)})
    return total


def describe_offset(duration: timedelta) -> str:
    """A duration as the plan writes it: `2d`, `3d4h`, `45m`, `0m`."""
    minutes = round(duration.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m")) if n)
    return text or "0m"


@dataclass(frozen=True)
class PlannedEvent:
    """One event of a simulation's plan: `kind` (or a business event `name`) at `offset` after
    the enrollment started, about the email of `step` (None: the latest sent by then)."""

    offset: timedelta
    kind: EventKind
    name: str | None = None
    step: str | None = None

    @property
    def label(self) -> str:
        """The event as written in a plan: `click:intro@3d`, `order_placed@5d`."""
        what = self.name if self.kind == EventKind.BUSINESS else str(self.kind)
        on = f":{self.step}" if self.step else ""
        return f"{what}{on}@{describe_offset(self.offset)}"

    def signal(self, message_id: str | None, occurred_at: datetime) -> EngagementEvent:
        """The event the forwarder would signal for this one (a bounce is a hard bounce)."""
        if self.kind == EventKind.BUSINESS:
            assert self.name is not None
            return business_event(self.name, occurred_at=occurred_at)
        details: dict[str, Any] = {}
        if self.kind == EventKind.BOUNCE:
            details["bounce_class"] = BounceClass.HARD
        if self.kind == EventKind.CLICK:
            details["url"] = "https://example.com/simulated-click"
        return engagement_event(self.kind, message_id, occurred_at=occurred_at, **details)


def parse_events(plan: str | list[PlannedEvent] | None) -> list[PlannedEvent]:
    """The events of a plan (``"open@2h,click@3d,reply@5d"``), in time order; ValueError naming
    the item at fault. A name that is no ESP event kind is a business event (`order_placed@4d`);
    ``kind:step@offset`` names the step whose email the event is about."""
    if plan is None:
        return []
    if not isinstance(plan, str):
        return sorted(plan, key=lambda e: e.offset)
    events = []
    for raw in plan.split(","):
        item = raw.strip()
        if not item:
            continue
        match = _ITEM.match(item)
        if match is None:
            raise ValueError(
                f"not an event: {item!r} (expected kind@offset or kind:step@offset, "
                "e.g. click@3d, open:intro@2h, order_placed@5d)"
            )
        name, step = match.group("name"), match.group("step")
        offset = parse_offset(match.group("at"))
        if name in {kind.value for kind in EventKind}:
            kind = EventKind(name)
            if kind not in PLANNED_KINDS:
                allowed = ", ".join(sorted(PLANNED_KINDS))
                raise ValueError(f"{item!r}: {name} changes nothing in a workflow (use {allowed})")
            events.append(PlannedEvent(offset=offset, kind=kind, step=step))
            continue
        problem = event_name_problem(name)
        if problem is not None:
            raise ValueError(f"{item!r}: {problem}")
        if step is not None:
            raise ValueError(f"{item!r}: a business event is about no email, so it takes no step")
        events.append(PlannedEvent(offset=offset, kind=EventKind.BUSINESS, name=name))
    # Stable: events planned for the same moment keep their written order.
    return sorted(events, key=lambda e: e.offset)


__all__ = [
    "PLANNED_KINDS",
    "PlannedEvent",
    "business_event",
    "describe_offset",
    "engagement_event",
    "parse_events",
    "parse_offset",
]
