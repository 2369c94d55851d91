"""Who may call what: the ops API's bearer tokens (`Authorization: Bearer <token>`, any of
NURTURE_API_TOKENS and NURTURE_API_TOKEN) and Inbound Parse's Basic password, each compared in
constant time. Routes take them as dependencies from `api.deps`."""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import HTTPException

from models.settings import Settings


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def accepted_token(settings: Settings, presented: str) -> str | None:
    """The accepted API token `presented` is, else None (always None when none is set).

    Digests of equal length are compared, against every token with no early exit: neither the
    answer nor its timing tells how close a wrong token was, in length or in content."""
    if not presented:
        return None
    offered = _digest(presented)
    found = None
    for token in settings.accepted_api_tokens:
        if hmac.compare_digest(offered, _digest(token)):
            found = token
    return found


def check_bearer_token(settings: Settings, authorization: str | None) -> None:
    """401 unless the header carries an accepted API token."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    if accepted_token(settings, token.strip()) is None:
        raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"})


def check_inbound_password(settings: Settings, authorization: str | None) -> None:
    """SendGrid does not sign Inbound Parse; a password in the URL (HTTP Basic) keeps strangers
    from posting fake replies when NURTURE_INBOUND_PARSE_PASSWORD is set."""
    expected = settings.inbound_parse_password
    if not expected:
        return
    scheme, _, encoded = (authorization or "").partition(" ")
    try:
        _, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        password = ""
    if scheme.lower() != "basic" or not hmac.compare_digest(password.encode(), expected.encode()):
        raise HTTPException(
            401,
            "inbound parse needs the configured Basic auth",
            headers={"WWW-Authenticate": "Basic"},
        )


__all__ = ["accepted_token", "check_bearer_token", "check_inbound_password"]
