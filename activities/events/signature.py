"""SendGrid Signed Event Webhook: verify a request (ECDSA P-256 / SHA-256 over timestamp + body)
within a replay window, and sign one (tests, the ESP simulator).
"""

from __future__ import annotations

import base64
import binascii
import time
from enum import StrEnum

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from models.errors import InvalidSignature

#: Request headers SendGrid signs with (HTTP header names are case-insensitive).
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

#: How far a request's timestamp may be from our clock, either side, by default.
DEFAULT_REPLAY_WINDOW_SECONDS = 300

# A DER ECDSA P-256 signature is at most 72 bytes (96 base64 characters); anything much longer is
# rejected before decoding, so every request costs bounded work.
_MAX_SIGNATURE_CHARS = 256
# Unix seconds fit in 11 digits until the year 5138; longer is not a SendGrid timestamp.
_MAX_TIMESTAMP_DIGITS = 12

_ALGORITHM = ec.ECDSA(hashes.SHA256())


class SignatureProblem(StrEnum):
    """Which check a request failed: `InvalidSignature.problem`, stable for metrics."""

    MISSING_SIGNATURE = "missing_signature"
    MISSING_TIMESTAMP = "missing_timestamp"
    SIGNATURE_NOT_BASE64 = "signature_not_base64"
    TIMESTAMP_NOT_INTEGER = "timestamp_not_integer"
    BAD_SIGNATURE = "bad_signature"
    TIMESTAMP_OUTSIDE_WINDOW = "timestamp_outside_window"


class WebhookVerifier:
    """Verifies SendGrid Signed Event Webhook requests against one public key.

    The key is what SendGrid shows under Mail Settings → Signed Event Webhook: base64 of the DER
    SubjectPublicKeyInfo of a P-256 key (a PEM block is accepted too).
    """

    def __init__(
        self,
        public_key: str,
        *,
        replay_window_seconds: int = DEFAULT_REPLAY_WINDOW_SECONDS,
    ) -> None:
        if replay_window_seconds < 0:
            raise ValueError("replay_window_seconds must not be negative")
        self._public_key = load_public_key(public_key)
        self._window = replay_window_seconds

    @property
    def replay_window_seconds(self) -> int:
        return self._window

    def verify(
        self,
        raw_body: bytes,
        signature: str | None,
        timestamp: str | None,
        *,
        now: float | None = None,
    ) -> None:
        """Return if `signature` signs `timestamp + raw_body` and `timestamp` is within the replay
        window of `now` (Unix seconds, default: the clock); raise `InvalidSignature` otherwise.

        `raw_body` must be the request body exactly as received, before any JSON parsing.
        Every well-formed request costs one signature check, whatever its timestamp.
        """
        if not signature or not signature.strip():
            raise InvalidSignature(
                f"missing {SIGNATURE_HEADER} header", problem=SignatureProblem.MISSING_SIGNATURE
            )
        if not timestamp:
            raise InvalidSignature(
                f"missing {TIMESTAMP_HEADER} header", problem=SignatureProblem.MISSING_TIMESTAMP
            )
        der_signature = _decode_signature(signature)
        sent_at = _parse_timestamp(timestamp)
        try:
            self._public_key.verify(der_signature, timestamp.encode() + raw_body, _ALGORITHM)
        except _CryptoInvalidSignature:
            raise InvalidSignature(
                "signature does not match the body and timestamp (wrong key, or altered in transit)",
                problem=SignatureProblem.BAD_SIGNATURE,
            ) from None
        clock = time.time() if now is None else now
        if abs(clock - sent_at) > self._window:
            raise InvalidSignature(
                f"timestamp is {clock - sent_at:+.0f} s from now, outside the "
                f"±{self._window} s replay window",
                problem=SignatureProblem.TIMESTAMP_OUTSIDE_WINDOW,
            )


def load_public_key(public_key: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key in `public_key` (base64 DER SubjectPublicKeyInfo, or PEM).

    Raises `ValueError` naming what is wrong; the key itself is never echoed.
    """
    text = public_key.strip() if isinstance(public_key, str) else ""
    if not text:
        raise ValueError("webhook public key is empty (set NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY)")
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            der = base64.b64decode("".join(text.split()), validate=True)
            key = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise ValueError(
            "webhook public key is not a base64 DER (or PEM) public key, as SendGrid shows it"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("webhook public key is not an ECDSA P-256 key, as SendGrid uses")
    return key


def generate_key_pair() -> tuple[str, str]:
    """A fresh P-256 key pair: (private key as PKCS#8 PEM, public key as base64 DER, as SendGrid
    shows it). For tests and the ESP simulator."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, base64.b64encode(public_der).decode()


def public_key_of(private_key_pem: str) -> str:
    """The public half of a PEM private key, as SendGrid shows it (base64 DER)."""
    private_key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(public_der).decode()


def sign(private_key_pem: str, raw_body: bytes, timestamp: str) -> str:
    """The signature header value SendGrid would send: base64 DER ECDSA over timestamp + body."""
    private_key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise ValueError("signing key is not an ECDSA P-256 private key")
    der = private_key.sign(timestamp.encode() + raw_body, _ALGORITHM)
    return base64.b64encode(der).decode()


def _decode_signature(signature: str) -> bytes:
    compact = "".join(signature.split())
    try:
        if len(compact) > _MAX_SIGNATURE_CHARS:
            raise ValueError
        der = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature(
            f"{SIGNATURE_HEADER} header is not a base64 signature",
            problem=SignatureProblem.SIGNATURE_NOT_BASE64,
        ) from None
    if not der:
        raise InvalidSignature(
            f"{SIGNATURE_HEADER} header is empty once decoded",
            problem=SignatureProblem.SIGNATURE_NOT_BASE64,
        )
    return der


def _parse_timestamp(timestamp: str) -> int:
    # Exactly ASCII digits: the signed bytes are the header as sent, so no trimming or signs.
    if not (
        timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS
    ):
        raise InvalidSignature(
            f"{TIMESTAMP_HEADER} header is not an integer Unix time in seconds",
            problem=SignatureProblem.TIMESTAMP_NOT_INTEGER,
        )
    return int(timestamp)


__all__ = [
    "DEFAULT_REPLAY_WINDOW_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SignatureProblem",
    "WebhookVerifier",
    "generate_key_pair",
    "load_public_key",
    "public_key_of",
    "sign",
]
