"""The notification signature: `X-Nurture-Signature: sha256=<hex>`, where `<hex>` is the
lowercase hex HMAC-SHA256 of the raw request body (the exact bytes received, before any JSON
parsing) keyed with `NURTURE_NOTIFY_SECRET` as UTF-8. Receivers recompute it and compare in
constant time (`verify_signature`); the notification's id (`X-Nurture-Notification-Id`, and `id` in
the body) is what they deduplicate redeliveries by.

The body carries no timestamp in the signature: a replayed request is a redelivery of the same id,
which a receiver that deduplicates already ignores.
"""

from __future__ import annotations

import hashlib
import hmac

#: Request header carrying `sha256=<hex>`.
SIGNATURE_HEADER = "X-Nurture-Signature"
#: Request header carrying the notification's id (the receiver's deduplication key).
NOTIFICATION_ID_HEADER = "X-Nurture-Notification-Id"
#: The scheme prefix of the header value: names the hash, so another can be added later.
SCHEME = "sha256="

# A SHA-256 hex digest is 64 characters; anything much longer is refused before comparing.
_MAX_HEADER_CHARS = 128


def sign(body: bytes, secret: str) -> str:
    """The `X-Nurture-Signature` value for `body`: `sha256=` and the hex HMAC-SHA256."""
    if not secret:
        raise ValueError("a notification secret is required to sign")
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return SCHEME + digest


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    """Whether `header` (the received `X-Nurture-Signature`) signs `body` with `secret`.

    False for a missing, malformed, or foreign-scheme header and for an empty secret; never
    raises on what a request carries."""
    if not secret or not header or len(header) > _MAX_HEADER_CHARS:
        return False
    header = header.strip()
    if not header.startswith(SCHEME):
        return False
    expected = sign(body, secret)
    # Compare as bytes: compare_digest refuses str with non-ASCII characters.
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "replace"))


__all__ = ["NOTIFICATION_ID_HEADER", "SCHEME", "SIGNATURE_HEADER", "sign", "verify_signature"]
