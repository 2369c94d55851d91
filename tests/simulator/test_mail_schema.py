"""The vendored SendGrid schema is kept as published, is plain JSON Schema, and its corrections
hold."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

from jsonschema import Draft7Validator

from simulator.mail_schema import SCHEMA_FILE, mail_send_schema, published_schema

# Draft-07 keywords that take subschemas, by how they hold them.
_SCHEMA_MAPS = {"properties", "patternProperties", "definitions"}
_ONE_SCHEMA = {"items", "additionalProperties", "propertyNames", "not", "if", "then", "else"}
_SCHEMA_LISTS = {"allOf", "anyOf", "oneOf"}
_DRAFT_7_KEYWORDS = set(Draft7Validator.META_SCHEMA["properties"])


def _keywords(schema: Any) -> Iterator[str]:
    """Every keyword used anywhere in `schema`."""
    if not isinstance(schema, dict):
        return
    for keyword, value in schema.items():
        yield keyword
        if keyword in _SCHEMA_MAPS:
            for subschema in value.values():
                yield from _keywords(subschema)
        elif keyword in _ONE_SCHEMA:
            yield from _keywords(value)
        elif keyword in _SCHEMA_LISTS:
            for subschema in value:
                yield from _keywords(subschema)


def test_schema_file_is_kept_byte_for_byte_as_published() -> None:
    data = files("simulator").joinpath("schemas", SCHEMA_FILE).read_bytes()

    assert hashlib.sha256(data).hexdigest() == (
        "af5af50b005e6db958b6b290661531837f41b74bcb8cd60d98f16aadd5a7403d"
    )


def test_published_schema_uses_no_openapi_only_keyword() -> None:
    # An OpenAPI keyword (`nullable`, `discriminator`, `readOnly`, `example`...) would be ignored
    # by a JSON Schema validator without a word, and one that draft-07 spells differently
    # (OpenAPI 3.0's boolean `exclusiveMinimum`) fails the meta-schema: a newer file that has
    # either needs handling.
    schema = published_schema()

    assert set(_keywords(schema)) <= _DRAFT_7_KEYWORDS
    Draft7Validator.check_schema(schema)


def test_corrected_schema_is_a_valid_draft_7_schema() -> None:
    schema = mail_send_schema()

    Draft7Validator.check_schema(schema)
    assert set(_keywords(schema)) <= _DRAFT_7_KEYWORDS


def test_only_the_documented_corrections_differ_from_the_published_schema() -> None:
    published, corrected = published_schema(), mail_send_schema()

    assert published["properties"]["custom_args"]["type"] == "string"
    assert corrected["properties"]["custom_args"] == {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
    assert set(published["required"]) - set(corrected["required"]) == {"subject", "content"}
    # Everything else only adds constraints: no property, type or limit of SendGrid's is lost.
    del published["properties"]["custom_args"], corrected["properties"]["custom_args"]
    del published["required"], corrected["required"]
    assert _without_additions(corrected, published) == published


def _without_additions(corrected: Any, published: Any) -> Any:
    """`corrected` less the keys `published` does not have, at every depth."""
    if not isinstance(corrected, dict) or not isinstance(published, dict):
        return corrected
    return {
        key: _without_additions(value, published[key])
        for key, value in corrected.items()
        if key in published
    }
