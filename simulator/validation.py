"""Checks a v3 `mail/send` payload as SendGrid does; every problem names its field.

Address checks are syntax only, like SendGrid's: reserved names such as
`reply+x@inbound.localhost` (the dev stack's inbound domain) are accepted.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from email_validator import EmailNotValidError, validate_email

__all__ = [
    "MAX_CATEGORIES",
    "MAX_CUSTOM_ARGS_BYTES",
    "MAX_PERSONALIZATIONS",
    "MAX_RECIPIENTS",
    "RESERVED_HEADERS",
    "FieldError",
    "is_valid_address",
    "validate_mail_send",
]

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_CATEGORIES = 10
MAX_CATEGORY_LENGTH = 255
MAX_CUSTOM_ARGS_BYTES = 10_000

#: Headers SendGrid sets itself; a payload may not set them (compared case-insensitively).
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

_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 field name: printable ASCII except ':'
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
    """True if `address` is a syntactically valid email address."""
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


def validate_mail_send(payload: object) -> list[FieldError]:
    """Every reason SendGrid would answer 400 to this payload; empty if it would accept it."""
    if not isinstance(payload, dict):
        return [FieldError("Bad Request", None)]
    return _MailSendCheck(payload).run()


class _MailSendCheck:
    """Walks one payload and collects its errors."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.errors: list[FieldError] = []

    def fail(self, field: str | None, message: str) -> None:
        self.errors.append(FieldError(message, field))

    def run(self) -> list[FieldError]:
        payload = self.payload
        uses_template = "template_id" in payload
        if uses_template and not _non_empty_str(payload["template_id"]):
            self.fail("template_id", "The template_id must be a non-empty string.")

        self.check_personalizations(payload.get("personalizations"))
        if "from" not in payload:
            self.fail(
                "from",
                "The from object must be provided for every email send. It is an object that "
                "requires an email parameter, but may also contain a name parameter.",
            )
        else:
            self.check_address_object(payload["from"], "from", "from")
        self.check_subject(uses_template)
        self.check_content(uses_template)
        self.check_reply_to()
        self.check_string_map(payload.get("headers"), "headers", headers=True)
        self.check_string_map(payload.get("custom_args"), "custom_args", headers=False)
        self.check_custom_args_size(payload.get("custom_args"), "custom_args")
        self.check_categories(payload.get("categories"))
        self.check_send_at(payload, "send_at")
        self.check_attachments(payload.get("attachments"))
        for key in ("asm", "mail_settings", "tracking_settings"):
            if key in payload and not isinstance(payload[key], dict):
                self.fail(key, f"The {key} parameter must be an object.")
        if isinstance(payload.get("asm"), dict) and not _is_int(payload["asm"].get("group_id")):
            self.fail("asm.group_id", "The asm group_id must be an integer.")
        for key in ("batch_id", "ip_pool_name"):
            if key in payload and not isinstance(payload[key], str):
                self.fail(key, f"The {key} parameter must be a string.")
        return self.errors

    # -- personalizations ---------------------------------------------------------------

    def check_personalizations(self, personalizations: object) -> None:
        if not isinstance(personalizations, list) or not personalizations:
            self.fail(
                "personalizations",
                "The personalizations field is required and must have at least one "
                "personalization.",
            )
            return
        if len(personalizations) > MAX_PERSONALIZATIONS:
            self.fail(
                "personalizations",
                f"The personalization block is limited to {MAX_PERSONALIZATIONS} "
                f"personalizations per API request. You have provided {len(personalizations)} "
                "personalizations. Please consider splitting this into multiple requests and "
                "resending your request.",
            )
        total = 0
        for index, personalization in enumerate(personalizations):
            total += self.check_personalization(personalization, f"personalizations.{index}")
        if total > MAX_RECIPIENTS:
            self.fail(
                "personalizations",
                f"There is a limit of {MAX_RECIPIENTS} total recipients (to + cc + bcc) per "
                "request.",
            )

    def check_personalization(self, personalization: object, field: str) -> int:
        """Check one personalization; return how many recipients it names."""
        if not isinstance(personalization, dict):
            self.fail(field, "Each personalization must be an object.")
            return 0
        to = personalization.get("to")
        if not isinstance(to, list) or not to:
            self.fail(
                f"{field}.to",
                "The to array is required for all personalization objects, and must have at "
                "least one email object with a valid email address.",
            )
        seen: set[str] = set()
        duplicate_reported = False
        count = 0
        for kind in ("to", "cc", "bcc"):
            recipients = personalization.get(kind)
            if kind != "to" and kind in personalization:
                if not isinstance(recipients, list) or not recipients:
                    self.fail(
                        f"{field}.{kind}",
                        f"The {kind} array, when used, must at least have one object with a "
                        "valid email parameter, and it may also contain a name parameter.",
                    )
                    continue
            if not isinstance(recipients, list):
                continue
            for index, recipient in enumerate(recipients):
                count += 1
                address = self.check_address_object(recipient, f"{field}.{kind}.{index}", kind)
                if address is None:
                    continue
                key = address.casefold()
                if key in seen and not duplicate_reported:
                    duplicate_reported = True
                    self.fail(
                        field,
                        "Each email address in the personalization block should be unique "
                        "between to, cc, and bcc. We found the first duplicate instance of "
                        f"[{address}] in the {field}.{kind} field.",
                    )
                seen.add(key)
        if "from" in personalization:
            self.check_address_object(personalization["from"], f"{field}.from", "from")
        if "subject" in personalization and not _non_empty_str(personalization["subject"]):
            self.fail(
                f"{field}.subject",
                "The subject of a personalization must be a string at least one character in "
                "length.",
            )
        self.check_string_map(personalization.get("headers"), f"{field}.headers", headers=True)
        self.check_string_map(
            personalization.get("substitutions"), f"{field}.substitutions", headers=False
        )
        own_args = personalization.get("custom_args")
        self.check_string_map(own_args, f"{field}.custom_args", headers=False)
        if isinstance(own_args, dict) and isinstance(self.payload.get("custom_args"), dict):
            merged = {**self.payload["custom_args"], **own_args}
            self.check_custom_args_size(merged, f"{field}.custom_args")
        if "dynamic_template_data" in personalization and not isinstance(
            personalization["dynamic_template_data"], dict
        ):
            self.fail(
                f"{field}.dynamic_template_data", "The dynamic_template_data must be an object."
            )
        self.check_send_at(personalization, f"{field}.send_at")
        return count

    # -- addresses ----------------------------------------------------------------------

    def check_address_object(self, value: object, field: str, role: str) -> str | None:
        """Check an `{"email": ..., "name": ...}` object; return its address if valid."""
        if not isinstance(value, dict):
            self.fail(
                field,
                f"The {role} object must contain an email parameter with a valid email "
                "address, and may also contain a name parameter.",
            )
            return None
        if "name" in value and not isinstance(value["name"], str):
            self.fail(f"{field}.name", f"The {role} name must be a string.")
        address = value.get("email")
        if not is_valid_address(address):
            message = (
                f"The {role} email does not contain a valid address."
                if role in ("from", "reply_to")
                else "Does not contain a valid address."
            )
            self.fail(f"{field}.email", message)
            return None
        assert isinstance(address, str)
        return address

    def check_reply_to(self) -> None:
        payload = self.payload
        if "reply_to" in payload:
            self.check_address_object(payload["reply_to"], "reply_to", "reply_to")
        if "reply_to_list" not in payload:
            return
        reply_to_list = payload["reply_to_list"]
        if "reply_to" in payload:
            self.fail("reply_to_list", "The reply_to and reply_to_list cannot both be used.")
        if not isinstance(reply_to_list, list) or not 1 <= len(reply_to_list) <= 1000:
            self.fail("reply_to_list", "The reply_to_list must hold 1 to 1000 objects.")
            return
        for index, entry in enumerate(reply_to_list):
            self.check_address_object(entry, f"reply_to_list.{index}", "reply_to")

    # -- subject and content ------------------------------------------------------------

    def check_subject(self, uses_template: bool) -> None:
        payload = self.payload
        if "subject" in payload:
            if not _non_empty_str(payload["subject"]):
                self.fail(
                    "subject",
                    "The subject of your email must be a string at least one character in length.",
                )
            return
        personalizations = payload.get("personalizations")
        every_one_has_subject = isinstance(personalizations, list) and all(
            isinstance(p, dict) and "subject" in p for p in personalizations
        )
        if not uses_template and not every_one_has_subject:
            self.fail(
                "subject",
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
            )

    def check_content(self, uses_template: bool) -> None:
        payload = self.payload
        content = payload.get("content")
        if "content" not in payload and uses_template:
            return
        if not isinstance(content, list) or not content:
            self.fail(
                "content",
                "Unless a valid template_id is provided, the content parameter is required. "
                "There must be at least one defined content block.",
            )
            return
        ranks: list[int] = []
        for index, block in enumerate(content):
            field = f"content.{index}"
            if not isinstance(block, dict):
                self.fail(field, "Each content block must be an object with a type and a value.")
                continue
            mime_type = block.get("type")
            if not _non_empty_str(mime_type):
                self.fail(
                    f"{field}.type",
                    "The content type must be a string at least one character in length.",
                )
            elif re.search(r"[;\r\n]", mime_type):
                self.fail(
                    f"{field}.type", "The content type cannot contain ';', or CRLF characters."
                )
            else:
                ranks.append(_CONTENT_RANK.get(mime_type.strip().lower(), 2))
            if not _non_empty_str(block.get("value")):
                self.fail(
                    f"{field}.value",
                    "The content value must be a string at least one character in length.",
                )
        if ranks != sorted(ranks):
            self.fail(
                "content",
                "If present, text/plain and text/x-amp-html must be first, followed by "
                "text/html, followed by any other content.",
            )

    # -- maps, lists and scalars --------------------------------------------------------

    def check_string_map(self, value: object, field: str, *, headers: bool) -> None:
        """Headers, custom args, substitutions: an object whose values are strings."""
        if value is None:
            return
        if not isinstance(value, dict):
            self.fail(field, f"The {field} parameter must be an object of string values.")
            return
        for key, item in value.items():
            if not isinstance(item, str):
                self.fail(
                    f"{field}.{key}",
                    f"Invalid type. Expected: string, given: {_json_type(item)}.",
                )
            elif headers and re.search(r"[\r\n]", item):
                self.fail(f"{field}.{key}", "A header value may not contain CR or LF.")
            if headers and not _HEADER_NAME.fullmatch(key):
                self.fail(field, f"The header name {key!r} is not a valid header field name.")
            elif headers and key.lower() in RESERVED_HEADERS:
                self.fail(
                    field,
                    f"The {key} header is reserved and cannot be set: SendGrid sets it.",
                )

    def check_custom_args_size(self, custom_args: object, field: str) -> None:
        if not isinstance(custom_args, dict):
            return
        size = len(json.dumps(custom_args, separators=(",", ":")).encode("utf-8"))
        if size >= MAX_CUSTOM_ARGS_BYTES:
            self.fail(
                field,
                f"The custom_args must total less than {MAX_CUSTOM_ARGS_BYTES} bytes (got {size}).",
            )

    def check_categories(self, categories: object) -> None:
        if categories is None:
            return
        if not isinstance(categories, list):
            self.fail("categories", "The categories parameter must be an array of strings.")
            return
        if len(categories) > MAX_CATEGORIES:
            self.fail(
                "categories",
                f"The categories parameter may not have more than {MAX_CATEGORIES} items.",
            )
        for index, category in enumerate(categories):
            if not _non_empty_str(category) or len(category) > MAX_CATEGORY_LENGTH:
                self.fail(
                    f"categories.{index}",
                    f"A category must be a string of 1 to {MAX_CATEGORY_LENGTH} characters.",
                )

    def check_send_at(self, container: dict[str, Any], field: str) -> None:
        if "send_at" in container and not _is_int(container["send_at"]):
            self.fail(field, "The send_at parameter must be a unix timestamp (an integer).")

    def check_attachments(self, attachments: object) -> None:
        if attachments is None:
            return
        if not isinstance(attachments, list):
            self.fail("attachments", "The attachments parameter must be an array.")
            return
        for index, attachment in enumerate(attachments):
            field = f"attachments.{index}"
            if not isinstance(attachment, dict):
                self.fail(field, "Each attachment must be an object.")
                continue
            content = attachment.get("content")
            if not _non_empty_str(content) or not _is_base64(content):
                self.fail(f"{field}.content", "The attachment content must be base64 encoded.")
            if not _non_empty_str(attachment.get("filename")):
                self.fail(f"{field}.filename", "The attachment filename is required.")
            disposition = attachment.get("disposition", "attachment")
            if disposition not in ("attachment", "inline"):
                self.fail(
                    f"{field}.disposition",
                    "The disposition must be either 'attachment' or 'inline'.",
                )
            elif disposition == "inline" and not _non_empty_str(attachment.get("content_id")):
                self.fail(f"{field}.content_id", "An inline attachment requires a content_id.")


def _non_empty_str(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value != ""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _json_type(value: object) -> str:
    if value is None:
        return "null"
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
