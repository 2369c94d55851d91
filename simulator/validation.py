"""Checks a v3 `mail/send` payload as SendGrid does, every problem naming its field: the shape
against SendGrid's published schema (`mail_schema`) with jsonschema, by hand only the documented
rules no schema states (rules across fields, totals per request, reserved header names).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from jsonschema import Draft7Validator, FormatChecker, ValidationError

from simulator.mail_schema import PATTERN_MESSAGES, mail_send_schema

__all__ = [
    "FORMAT_CHECKER",
    "MAX_CUSTOM_ARGS_BYTES",
    "MAX_RECIPIENTS",
    "MAX_SUBSTITUTIONS_BYTES",
    "RESERVED_HEADERS",
    "FieldError",
    "is_valid_address",
    "validate_mail_send",
]

MAX_RECIPIENTS = 1000
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_SUBSTITUTIONS_BYTES = 10_000

#: Headers SendGrid sets itself; a payload may not set them (compared case-insensitively).
#: The list the schema's own `headers` description gives.
RESERVED_HEADERS = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    }
)

_DOMAIN_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_TLD = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}")
# Content types rank: text/plain and AMP first, then text/html, then anything else.
_CONTENT_RANK = {"text/plain": 0, "text/x-amp-html": 0, "text/html": 1}


@dataclass(frozen=True)
class FieldError:
    """One SendGrid-style error: what is wrong and at which field (None: the whole request)."""

    message: str
    field: str | None


def is_valid_address(address: object) -> bool:
    """True if `address` is a syntactically valid email address.

    Syntax only, like SendGrid's check: reserved names such as `reply+x@inbound.localhost` (the
    dev stack's inbound domain) are accepted.
    """
    if not isinstance(address, str) or len(address) > 254:
        return False
    local, at, domain = address.rpartition("@")
    if not at or not local or not _is_valid_domain(domain):
        return False
    try:
        # The local part is checked on a neutral domain: only the syntax matters here.
        validate_email(f"{local}@example.com", check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _is_valid_domain(domain: str) -> bool:
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or len(labels) < 2:
        return False
    return all(_DOMAIN_LABEL.fullmatch(label) for label in labels) and bool(
        _TLD.fullmatch(labels[-1])
    )


#: The schema's `format: email` as SendGrid applies it. jsonschema's own `email` check only
#: looks for an "@", which would let `lead@@buyer.example.com` through.
FORMAT_CHECKER = FormatChecker(formats=())
FORMAT_CHECKER.checks("email")(lambda value: not isinstance(value, str) or is_valid_address(value))

_VALIDATOR = Draft7Validator(mail_send_schema(), format_checker=FORMAT_CHECKER)


def validate_mail_send(payload: object) -> list[FieldError]:
    """Every reason SendGrid would answer 400 to this payload; empty if it would accept it."""
    if not isinstance(payload, dict):
        return [FieldError("Bad Request", None)]
    errors = [e for error in _VALIDATOR.iter_errors(payload) for e in _field_errors(error)]
    errors += _documented_rules(payload)
    # A `required` error repeats once per missing property: keep each error once, in order.
    return list(dict.fromkeys(errors))


# -- schema errors as SendGrid-style field errors -----------------------------------------------


def _field_errors(error: ValidationError) -> Iterator[FieldError]:
    field = ".".join(str(part) for part in error.absolute_path)
    rule = error.validator_value
    if error.validator == "required":
        for name in rule:
            if name not in error.instance:
                yield FieldError(
                    f"The {name} parameter is required.", f"{field}.{name}" if field else name
                )
        return
    message = _message(error)
    if "propertyNames" in error.absolute_schema_path:
        # The error is about a key of the object at `field`, not about a value.
        message = f"{error.instance!r} {message}"
    yield FieldError(message, field or None)


def _message(error: ValidationError) -> str:
    """What is wrong, without echoing the value (it may be an address)."""
    rule = error.validator_value
    match error.validator:
        case "type":
            expected = rule if isinstance(rule, str) else " or ".join(rule)
            return f"Invalid type. Expected: {expected}, given: {_json_type(error.instance)}."
        case "format" if rule == "email":
            return "Does not contain a valid address."
        case "minLength":
            return "Must not be empty." if rule == 1 else f"Must be at least {rule} characters."
        case "maxLength":
            return f"Must be at most {rule} characters."
        case "minItems":
            return f"Must have at least {rule} item{'' if rule == 1 else 's'}."
        case "maxItems":
            return f"Is limited to {rule} items."
        case "maxProperties":
            return f"Is limited to {rule} keys."
        case "uniqueItems":
            return "Must not contain the same item twice."
        case "enum":
            return f"Must be one of {', '.join(map(repr, rule))}."
        case "pattern":
            return PATTERN_MESSAGES[rule]
        case "not" if isinstance(rule, dict) and rule.get("pattern") in PATTERN_MESSAGES:
            return PATTERN_MESSAGES[rule["pattern"]]
    return error.message


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


# -- documented rules no schema can state -----------------------------------------------------
# Each reads only what has the right shape: a wrong shape is already a schema error.


def _documented_rules(payload: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    uses_template = "template_id" in payload
    raw_personalizations = payload.get("personalizations")
    personalizations = _objects(raw_personalizations)

    every_one_has_subject = isinstance(raw_personalizations, list) and all(
        isinstance(p, dict) and "subject" in p for p in raw_personalizations
    )
    if "subject" not in payload and not uses_template and not every_one_has_subject:
        errors.append(
            FieldError(
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
                "subject",
            )
        )
    if "content" not in payload and not uses_template:
        errors.append(
            FieldError(
                "Unless a valid template_id is provided, the content parameter is required. "
                "There must be at least one defined content block.",
                "content",
            )
        )
    errors += _content_order(payload.get("content"))

    recipients = 0
    for index, personalization in enumerate(personalizations):
        field = f"personalizations.{index}"
        addresses = [
            (kind, recipient["email"])
            for kind in ("to", "cc", "bcc")
            for recipient in _objects(personalization.get(kind))
            if isinstance(recipient.get("email"), str)
        ]
        recipients += len(addresses)
        errors += _duplicate_recipient(addresses, field)
        errors += _reserved_headers(personalization.get("headers"), f"{field}.headers")
        own_args = personalization.get("custom_args")
        if isinstance(own_args, dict) and isinstance(payload.get("custom_args"), dict):
            # A personalization's custom args add to (and override) the request's.
            own_args = {**payload["custom_args"], **own_args}
        errors += _too_big(own_args, f"{field}.custom_args", MAX_CUSTOM_ARGS_BYTES)
        errors += _too_big(
            personalization.get("substitutions"), f"{field}.substitutions", MAX_SUBSTITUTIONS_BYTES
        )
    if recipients > MAX_RECIPIENTS:
        errors.append(
            FieldError(
                f"There is a limit of {MAX_RECIPIENTS} total recipients (to + cc + bcc) per "
                "request.",
                "personalizations",
            )
        )

    errors += _reserved_headers(payload.get("headers"), "headers")
    errors += _too_big(payload.get("custom_args"), "custom_args", MAX_CUSTOM_ARGS_BYTES)
    if "reply_to" in payload and "reply_to_list" in payload:
        errors.append(
            FieldError("The reply_to and reply_to_list cannot both be used.", "reply_to_list")
        )
    for index, attachment in enumerate(_objects(payload.get("attachments"))):
        if attachment.get("disposition") == "inline" and "content_id" not in attachment:
            errors.append(
                FieldError(
                    "An inline attachment requires a content_id.",
                    f"attachments.{index}.content_id",
                )
            )
    return errors


def _content_order(content: object) -> list[FieldError]:
    types = [block.get("type") for block in _objects(content)]
    ranks = [_CONTENT_RANK.get(t.strip().lower(), 2) for t in types if isinstance(t, str)]
    if ranks == sorted(ranks):
        return []
    return [
        FieldError(
            "If present, text/plain and text/x-amp-html must be first, followed by "
            "text/html, followed by any other content.",
            "content",
        )
    ]


def _duplicate_recipient(addresses: list[tuple[str, str]], field: str) -> list[FieldError]:
    """SendGrid's rule: an address appears once in a personalization's to, cc and bcc."""
    seen: set[str] = set()
    for kind, address in addresses:
        if address.casefold() in seen:
            return [
                FieldError(
                    "Each email address in the personalization block should be unique "
                    "between to, cc, and bcc. We found the first duplicate instance of "
                    f"[{address}] in the {field}.{kind} field.",
                    field,
                )
            ]
        seen.add(address.casefold())
    return []


def _reserved_headers(headers: object, field: str) -> list[FieldError]:
    if not isinstance(headers, dict):
        return []
    return [
        FieldError(f"The {name} header is reserved and cannot be set: SendGrid sets it.", field)
        for name in headers
        if name.lower() in RESERVED_HEADERS
    ]


def _too_big(values: object, field: str, limit_bytes: int) -> list[FieldError]:
    """SendGrid's limit on the total size of a custom_args or substitutions object."""
    if not isinstance(values, dict):
        return []
    size = len(json.dumps(values, separators=(",", ":")).encode("utf-8"))
    if size <= limit_bytes:
        return []
    name = field.rsplit(".", 1)[-1]
    return [
        FieldError(f"The {name} may not exceed {limit_bytes} bytes in total (got {size}).", field)
    ]


def _objects(value: object) -> list[dict[str, Any]]:
    """The objects of a list (nothing if it is no list)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
