"""Signed opaque tokens for unsubscribe links and Reply-To addresses.

A token is `base32(purpose-bound HMAC-SHA256 truncated, message uuid)`, lower case so it survives
mail servers that fold the local part of an address. It reveals nothing and cannot be forged or
enumerated without the secret key. Tokens are signed with NURTURE_SECRET_KEY and verified with it
or any of NURTURE_PREVIOUS_SECRET_KEYS, so links in mail sent before a key rotation keep working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from enum import StrEnum
from uuid import UUID

from models.errors import InvalidToken

_MAC_BYTES = 10


class TokenPurpose(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    REPLY = "reply"
    #: Double opt-in: the token names the confirmation request (a UUID), not a message.
    CONFIRM = "confirm"


def _mac(secret: str, purpose: TokenPurpose, payload: bytes) -> bytes:
    key = hashlib.sha256(f"nurture/{purpose}/{secret}".encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(secret: str, purpose: TokenPurpose, message_id: str) -> str:
    """A token naming `message_id` (a UUID string) for one purpose."""
    payload = UUID(message_id).bytes
    raw = payload + _mac(secret, purpose, payload)
    return base64.b32encode(raw).decode().rstrip("=").lower()


def verify(secret: str | Sequence[str], purpose: TokenPurpose, token: str) -> str:
    """The message id inside a token signed with `secret` (one key, or the current key and the
    previous ones: `Settings.verification_keys`); raises `InvalidToken` otherwise."""
    keys = (secret,) if isinstance(secret, str) else tuple(secret)
    text = token.strip().upper()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (ValueError, TypeError) as exc:
        raise InvalidToken("token is not valid base32") from exc
    if len(raw) != 16 + _MAC_BYTES:
        raise InvalidToken("token has the wrong length")
    if base64.b32encode(raw).decode().rstrip("=") != text:
        # The last character carries unused bits: accept only the one canonical spelling.
        raise InvalidToken("token is not in canonical form")
    payload, mac = raw[:16], raw[16:]
    # Every key is tried (no early exit): the time taken says nothing about which one matched.
    matched = [hmac.compare_digest(mac, _mac(key, purpose, payload)) for key in keys if key]
    if not any(matched):
        raise InvalidToken("token signature does not match")
    return str(UUID(bytes=payload))


__all__ = ["TokenPurpose", "sign", "verify"]
