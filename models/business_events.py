"""Business events as callers post them, and what a sequence declares about them.

A business event is anything outside the ESP that matters to a sequence — a meeting booked, a
quote requested, an order placed — posted to `POST /api/events` (or `nurture events send`):
`{id, name, contact: {id | email | external_id}, occurred_at, properties}`. Only the stored
event's own id, its name and its time ever enter a workflow; properties stay in SQL
(docs/architecture.md, "Business events").

A sequence declares `goals` (names that end it `converted`), `exit_on` (names that end it
`exited`) and `triggers` (`Trigger`s: names that enroll a contact).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from models.events import EventKind

#: Lowercase snake_case, at most 64 characters, starting with a letter.
EVENT_NAME_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
EVENT_NAME_MAX = 64
#: The caller's idempotency key: at most this long.
EVENT_KEY_MAX = 200
#: ESP event kinds are not business event names: `wait_for({"click"})` would be ambiguous.
RESERVED_NAMES = frozenset(kind.value for kind in EventKind)

_NAME = re.compile(EVENT_NAME_PATTERN)


def event_name_problem(name: object) -> str | None:
    """Why `name` is not a business event name, or None if it is one."""
    if not isinstance(name, str) or not name:
        return "name is required: a lowercase snake_case word such as meeting_booked"
    if len(name) > EVENT_NAME_MAX:
        return f"name is longer than {EVENT_NAME_MAX} characters"
    if not _NAME.match(name):
        return f"name {name!r} is not lowercase snake_case (such as meeting_booked)"
    if name in RESERVED_NAMES:
        return f"name {name!r} is an ESP event kind; business events need their own names"
    return None


def check_event_names(names: object, *, where: str) -> frozenset[str]:
    """`names` (a set or sequence of event names) as a frozenset; `TypeError` naming `where`
    and the fault if any is not a valid business event name (caught when a sequence is defined)."""
    if isinstance(names, str) or not isinstance(names, (set, frozenset, list, tuple)):
        raise TypeError(f"{where} takes a set of event names, not {names!r}")
    for name in names:
        problem = event_name_problem(name)
        if problem is not None:
            raise TypeError(f"{where}: {problem}")
    return frozenset(names)


class ContactRef(BaseModel):
    """Who an event or an enrollment is about: exactly one of nurture's id, the address or the
    caller's own id (`external_id`, e.g. the CRM's)."""

    model_config = ConfigDict(extra="forbid")

    id: UUID | None = None
    email: str | None = Field(None, max_length=320)
    external_id: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _exactly_one(self) -> ContactRef:
        given = [k for k in ("id", "email", "external_id") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("contact takes exactly one of id, email, external_id")
        return self

    def describe(self) -> str:
        """For messages: the id or external id, never the address (messages reach logs)."""
        if self.id is not None:
            return f"contact {self.id}"
        if self.external_id is not None:
            return f"contact with external_id {self.external_id!r}"
        return "contact with that email"


class BusinessEventIn(BaseModel):
    """One business event as posted."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=EVENT_KEY_MAX, description="Idempotency key.")
    name: str = Field(max_length=EVENT_NAME_MAX)
    contact: ContactRef
    occurred_at: AwareDatetime | None = Field(
        None, description="ISO 8601 with zone; now if absent."
    )
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _valid_name(self) -> BusinessEventIn:
        problem = event_name_problem(self.name)
        if problem is not None:
            raise ValueError(problem)
        return self


@dataclass(frozen=True)
class Trigger:
    """`Trigger("quote_requested", delay=timedelta(hours=1))` in a sequence's `triggers`: when
    that event is stored for a contact who may be mailed (consent, not suppressed, not live in
    the sequence, re-enrollment allowed), the contact is enrolled — once per event id — after
    `delay`, with `params`, in the cohort `trigger:<name>`."""

    name: str
    delay: timedelta = timedelta()
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = event_name_problem(self.name)
        if problem is not None:
            raise TypeError(f"Trigger: {problem}")
        if self.delay < timedelta():
            raise TypeError("Trigger: delay may not be negative")

    @property
    def cohort_id(self) -> str:
        return f"trigger:{self.name}"


__all__ = [
    "EVENT_KEY_MAX",
    "EVENT_NAME_MAX",
    "EVENT_NAME_PATTERN",
    "RESERVED_NAMES",
    "BusinessEventIn",
    "ContactRef",
    "Trigger",
    "check_event_names",
    "event_name_problem",
]
