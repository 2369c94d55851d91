"""Domain names and DKIM selectors as the checks take them: validated and normalised (IDNA), and
compared (`_is_within`)."""

from __future__ import annotations

import ipaddress
import re

import idna

from models.errors import InvalidInput


def _bare(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _is_within(name: str, parent: str) -> bool:
    """`name` is `parent` or a name under it."""
    return name == parent or name.endswith("." + parent)


_SELECTOR = re.compile(
    r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


def normalize_domain(value: str, *, field: str = "domain") -> str:
    """`value` as a lower-case ASCII domain name (IDNA, UTS #46); `InvalidInput` naming `field`
    and the reason when it is not one."""
    text = value.strip().rstrip(".")
    if not text:
        raise InvalidInput(field, "is empty; give a domain name such as example.com")
    if "@" in text:
        raise InvalidInput(
            field, f"{value!r} is an email address; give its domain ({text.rsplit('@', 1)[1]})"
        )
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        raise InvalidInput(field, f"{value!r} is an IP address, not a domain name")
    if "/" in text or ":" in text:
        raise InvalidInput(field, f"{value!r} is a URL or has a port; give only the host name")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidInput(field, f"{value!r} is not a valid domain name: {exc}") from exc
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise InvalidInput(field, f"{value!r} is not a full domain name (e.g. example.com)")
    if labels[-1].isdigit():
        raise InvalidInput(field, f"{value!r} has a numeric top-level label")
    if len(ascii_name) > 253:
        raise InvalidInput(field, f"{value!r} is longer than 253 characters")
    return ascii_name


def normalize_selector(value: str) -> str:
    """A DKIM selector (one or more labels, underscores allowed), lower-cased."""
    selector = value.strip().rstrip(".").lower()
    if not _SELECTOR.match(selector):
        raise InvalidInput("dkim_selector", f"{value!r} is not a DKIM selector (e.g. s1)")
    return selector


__all__ = ["normalize_domain", "normalize_selector"]
