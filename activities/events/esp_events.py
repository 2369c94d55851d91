"""SendGrid Event Webhook batches parsed into `EspEvent`s: kinds mapped, ids validated, bounces
classified, personal data kept out of the engagement event.

A click URL loses its query and fragment when they hold an '@' (also percent-encoded): tracking
parameters often carry the recipient's address, and the URL enters workflow histories. If the host
or path still holds one, only scheme and host are kept. Free text kept in `details` (reason,
response) has anything shaped like an address replaced by `[redacted]`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from activities.events.bounces import classify_bounce
from models.errors import MalformedPayload
from models.esp_events import INVALID_ESP_TYPE, EspEvent
from models.events import BounceClass, EngagementEvent, EventKind
from models.wire import CUSTOM_ARG_MESSAGE_ID, CUSTOM_ARG_WORKFLOW_ID


class SendGridEventType(StrEnum):
    """The Event Webhook's event names nurture knows."""

    PROCESSED = "processed"
    DROPPED = "dropped"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCE = "bounce"
    OPEN = "open"
    CLICK = "click"
    SPAMREPORT = "spamreport"
    UNSUBSCRIBE = "unsubscribe"
    GROUP_UNSUBSCRIBE = "group_unsubscribe"
    GROUP_RESUBSCRIBE = "group_resubscribe"


#: Engagement kind of each known event type; None: known, deliberately ignored.
EVENT_KINDS: dict[str, EventKind | None] = {
    SendGridEventType.PROCESSED: EventKind.PROCESSED,
    SendGridEventType.DROPPED: EventKind.DROPPED,
    SendGridEventType.DELIVERED: EventKind.DELIVERED,
    SendGridEventType.DEFERRED: EventKind.DEFERRED,
    SendGridEventType.BOUNCE: EventKind.BOUNCE,
    SendGridEventType.OPEN: EventKind.OPEN,
    SendGridEventType.CLICK: EventKind.CLICK,
    SendGridEventType.SPAMREPORT: EventKind.COMPLAINT,
    SendGridEventType.UNSUBSCRIBE: EventKind.UNSUBSCRIBE,
    SendGridEventType.GROUP_UNSUBSCRIBE: EventKind.UNSUBSCRIBE,
    SendGridEventType.GROUP_RESUBSCRIBE: None,
}

# Where custom args may sit when not top-level (SendGrid puts them top-level).
_NESTED_ARGS = ("custom_args", "unique_args")

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_WORKFLOW_ID = re.compile(
    r"nurture/[A-Za-z0-9_.-]{1,100}/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
# Tokens of free text between delimiters; a token holding an '@' is redacted whole (linear time).
_TOKEN = re.compile(r"[^\s<>()\[\]{}\"',;:]+")
_REDACTED = "[redacted]"
_EVENT_ID = re.compile(r"[!-?A-~]{1,200}")  # printable ASCII except space and '@'
# SendGrid's per-recipient suffixes after the X-Message-Id.
_SG_SUFFIX = re.compile(r"\.(?:filter|recvd-)")

# Bounds: ids longer than these are not SendGrid's and are dropped (truncating could collide);
# free text is truncated.
_MAX_TYPE = 64
_MAX_ID = 200
_MAX_EMAIL = 320
_MAX_URL = 2048
_MAX_TEXT = 500
_MAX_SHORT = 64
_MAX_UNIX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_INT64 = 2**63


def parse_event_batch(raw_body: bytes, *, now: datetime | None = None) -> list[EspEvent]:
    """Every item of an Event Webhook body, in order. An item that is not an object, or of an
    unknown type, is kept with `event=None`; only a body that is not UTF-8 JSON holding an array
    raises `MalformedPayload`. `now` stands in for a missing or invalid item timestamp."""
    try:
        text = raw_body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedPayload("body", "is not UTF-8 text") from None
    try:
        batch = json.loads(text)
    except RecursionError:
        raise MalformedPayload("body", "is nested too deeply to be an event batch") from None
    except ValueError as exc:
        raise MalformedPayload("body", f"is not valid JSON ({_json_error(exc)})") from None
    if not isinstance(batch, list):
        raise MalformedPayload("body", f"is a JSON {_json_type(batch)}, not an array of events")
    received_at = (now or datetime.now(UTC)).astimezone(UTC)
    return [_parse_item(item, received_at) for item in batch]


def sg_message_id_prefix(sg_message_id: str) -> str:
    """The X-Message-Id (which nurture stores) inside SendGrid's per-recipient sg_message_id,
    `{X-Message-Id}.filter...`: the part before the filter suffix, else before the first '.'."""
    match = _SG_SUFFIX.search(sg_message_id)
    if match:
        return sg_message_id[: match.start()]
    return sg_message_id.split(".", 1)[0]


# -- one item --------------------------------------------------------------------------------


def _parse_item(item: object, received_at: datetime) -> EspEvent:
    if not isinstance(item, dict):
        return EspEvent(event=None, esp_type=INVALID_ESP_TYPE, occurred_at=received_at)
    esp_type = _esp_type(item.get("event"))
    occurred_at = _occurred_at(item.get("timestamp"), received_at)
    esp_event_id = _event_id(item.get("sg_event_id"))
    message_id = _custom_arg(item, CUSTOM_ARG_MESSAGE_ID, _message_id)
    kind = EVENT_KINDS.get(esp_type)
    url = _safe_url(item.get("url")) if kind == EventKind.CLICK else None
    machine_open = _flag(item.get("sg_machine_open"))
    event = None
    if kind is not None:
        event = EngagementEvent(
            kind=kind,
            occurred_at=occurred_at,
            message_id=message_id,
            esp_event_id=esp_event_id,
            bounce_class=_bounce_class(kind, esp_type, item),
            machine_open=machine_open if kind == EventKind.OPEN else False,
            url=url,
        )
    return EspEvent(
        event=event,
        esp_type=esp_type,
        esp_event_id=esp_event_id,
        message_id=message_id,
        workflow_id=_custom_arg(item, CUSTOM_ARG_WORKFLOW_ID, _workflow_id),
        sg_message_id=_id(item.get("sg_message_id")),
        smtp_id=_id(item.get("smtp-id")),
        email=_email(item.get("email")),
        occurred_at=occurred_at,
        details=_details(item, url),
    )


def _esp_type(value: object) -> str:
    if not isinstance(value, str):
        return INVALID_ESP_TYPE
    name = _clean(value.strip().lower(), _MAX_TYPE)
    return name or INVALID_ESP_TYPE


def _bounce_class(kind: EventKind, esp_type: str, item: Mapping[str, Any]) -> BounceClass | None:
    if kind == EventKind.DEFERRED:
        return BounceClass.SOFT
    if kind != EventKind.BOUNCE:
        return None
    return classify_bounce(
        event_type=esp_type,
        bounce_type=_str(item.get("type")),
        status=_str(item.get("status")),
        reason=_str(item.get("reason")),
        bounce_classification=_str(item.get("bounce_classification")),
    )


def _occurred_at(value: object, received_at: datetime) -> datetime:
    seconds: float | None = None
    if isinstance(value, bool):
        seconds = None
    elif isinstance(value, int):
        seconds = float(value) if 0 <= value <= _MAX_UNIX_SECONDS else None
    elif isinstance(value, float):
        seconds = value
    elif isinstance(value, str) and value.isascii() and value.strip().isdigit():
        digits = value.strip()
        seconds = float(digits) if len(digits) <= 12 else None
    if seconds is None or not math.isfinite(seconds) or not 0 <= seconds <= _MAX_UNIX_SECONDS:
        return received_at
    return datetime.fromtimestamp(seconds, tz=UTC)


def _custom_arg(
    item: Mapping[str, Any], key: str, parse: Callable[[object], str | None]
) -> str | None:
    candidates = [item.get(key)]
    for nested_key in _NESTED_ARGS:
        nested = item.get(nested_key)
        if isinstance(nested, dict):
            candidates.append(nested.get(key))
    for candidate in candidates:
        parsed = parse(candidate)
        if parsed is not None:
            return parsed
    return None


def _message_id(value: object) -> str | None:
    if isinstance(value, str) and _UUID.fullmatch(value):
        return value.lower()
    return None


def _workflow_id(value: object) -> str | None:
    if isinstance(value, str) and _WORKFLOW_ID.fullmatch(value):
        return value
    return None


def _event_id(value: object) -> str | None:
    # It enters workflow histories: printable ASCII, no spaces, never anything with an '@'.
    if isinstance(value, str) and _EVENT_ID.fullmatch(value):
        return value
    return None


def _id(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > _MAX_ID:
        return None
    return _clean(value.strip(), _MAX_ID) or None


def _email(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > _MAX_EMAIL:
        return None
    return _clean(value.strip(), _MAX_EMAIL) or None


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return False


# -- details ---------------------------------------------------------------------------------

# Item keys kept in `details` (scalars only), with the longest text kept of each.
_DETAIL_KEYS: dict[str, int] = {
    "reason": _MAX_TEXT,
    "response": _MAX_TEXT,
    "status": _MAX_SHORT,
    "type": _MAX_SHORT,
    "bounce_classification": _MAX_SHORT,
    "attempt": _MAX_SHORT,
    "asm_group_id": _MAX_SHORT,
}


def _details(item: Mapping[str, Any], url: str | None) -> dict[str, str | int | bool]:
    details: dict[str, str | int | bool] = {}
    for key, limit in _DETAIL_KEYS.items():
        value = _detail_value(item.get(key), limit)
        if value is not None:
            details[key] = value
    if url is not None:
        details["url"] = url
    if "sg_machine_open" in item:
        details["sg_machine_open"] = _flag(item["sg_machine_open"])
    return details


def _detail_value(value: object, limit: int) -> str | int | bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else None
    if isinstance(value, str):
        # Redact before truncating, so a cut cannot leave half an address behind.
        return _clean(_redact(value[: limit * 4]), limit)
    return None


# -- URLs ------------------------------------------------------------------------------------


def _safe_url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    url = _clean(value.strip(), len(value))
    if not url:
        return None
    try:
        parts = urlsplit(url)
        if _holds_address(parts.query) or _holds_address(parts.fragment) or len(url) > _MAX_URL:
            parts = parts._replace(query="", fragment="")
        if _holds_address(parts.netloc) or _holds_address(parts.path):
            host = parts.hostname
            if not host:
                return None
            parts = SplitResult(parts.scheme, host, "", "", "")
        safe = urlunsplit(parts)
    except ValueError:  # e.g. an unbalanced IPv6 bracket in the host
        return None
    return safe if 0 < len(safe) <= _MAX_URL else None


def _holds_address(text: str) -> bool:
    # Percent-decoding up to three times catches %40 and %2540 alike.
    for _ in range(3):
        if "@" in text:
            return True
        decoded = unquote(text)
        if decoded == text:
            return False
        text = decoded
    return "@" in text


# -- text ------------------------------------------------------------------------------------


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _redact(text: str) -> str:
    if "@" not in text:
        return text
    return _TOKEN.sub(lambda token: _REDACTED if "@" in token[0] else token[0], text)


def _clean(text: str, limit: int) -> str:
    """At most `limit` characters that any database and JSON encoder accept: no NUL, and lone
    surrogates (possible through JSON escapes) replaced."""
    text = text[:limit].replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return "a number is too long"


def _json_type(value: object) -> str:
    match value:
        case dict():
            return "object"
        case str():
            return "string"
        case bool():
            return "boolean"
        case int() | float():
            return "number"
        case None:
            return "null"
    return type(value).__name__


__all__ = [
    "EVENT_KINDS",
    "SendGridEventType",
    "parse_event_batch",
    "sg_message_id_prefix",
]
