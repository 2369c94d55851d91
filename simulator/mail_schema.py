"""SendGrid's published JSON schema of a `mail/send` request, as the simulator checks it: the
file in `schemas/` as published, with the corrections SendGrid's own documentation calls for.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib.resources import files
from typing import Any

__all__ = ["PATTERN_MESSAGES", "SCHEMA_FILE", "mail_send_schema", "published_schema"]

SCHEMA_FILE = "sendgrid-mail-send.schema.json"

# Patterns the corrections add. Most name what a value may not hold (used under `not`); the
# one whole-value pattern ends in `(?![\s\S])`, not `$`: in Python's `re`, which jsonschema
# uses, `$` also matches before a final newline.
_HEADER_NAME_FORBIDDEN = r"^$|[^!-9;-~]"  # RFC 5322 field name: printable ASCII except ':'
_CR_OR_LF = r"[\r\n]"
_SEMICOLON_CR_OR_LF = r"[;\r\n]"
_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?(?![\s\S])"

#: What breaking each added pattern means, for the error SendGrid-style answers give.
PATTERN_MESSAGES = {
    _HEADER_NAME_FORBIDDEN: "is not a valid header field name.",
    _CR_OR_LF: "A header value may not contain CR or LF.",
    _SEMICOLON_CR_OR_LF: "The content type cannot contain ';', or CRLF characters.",
    _BASE64: "The attachment content must be base64 encoded.",
}


def published_schema() -> dict[str, Any]:
    """The schema file exactly as SendGrid publishes it (a fresh copy)."""
    text = files("simulator").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _corrected_schema() -> dict[str, Any]:
    schema = published_schema()
    properties = schema["properties"]
    personalization = properties["personalizations"]["items"]["properties"]

    # Erratum: the published spec types the top-level `custom_args` as a string; SendGrid's
    # docs, its helper libraries and the API take an object of string values, as in a
    # personalization.
    properties["custom_args"] = {"type": "object", "additionalProperties": {"type": "string"}}

    # The spec is OpenAPI 3.0, which has no `if`/`then`, so it lists `subject` and `content` as
    # always required. SendGrid's docs make both conditional (a template may bring them; a
    # subject in every personalization will do): validation.py checks that rule.
    schema["required"] = [name for name in schema["required"] if name not in {"subject", "content"}]

    # "At least one" where SendGrid's mail/send errors say so ("must have at least one
    # personalization", "… at least one email object", "at least one defined content block").
    properties["personalizations"]["minItems"] = 1
    for kind in ("to", "cc", "bcc"):
        personalization[kind]["minItems"] = 1
    properties["content"]["minItems"] = 1

    # Maps whose descriptions say "the key/value pairs must be strings". Header names and
    # values as RFC 5322 allows them (no injected header lines).
    string_values = {"type": "string"}
    headers = {
        "type": "object",
        "propertyNames": {"not": {"pattern": _HEADER_NAME_FORBIDDEN}},
        "additionalProperties": {"type": "string", "not": {"pattern": _CR_OR_LF}},
    }
    properties["headers"] |= headers
    personalization["headers"] |= headers
    personalization["custom_args"]["additionalProperties"] = string_values
    personalization["substitutions"]["additionalProperties"] = string_values

    # As SendGrid's mail/send errors and the fields' own descriptions state them.
    content_type = properties["content"]["items"]["properties"]["type"]
    content_type["not"] = {"pattern": _SEMICOLON_CR_OR_LF}
    properties["attachments"]["items"]["properties"]["content"]["pattern"] = _BASE64
    return schema


def mail_send_schema() -> dict[str, Any]:
    """The corrected schema (draft-07) the simulator validates requests against (a fresh copy)."""
    return copy.deepcopy(_corrected_schema())
