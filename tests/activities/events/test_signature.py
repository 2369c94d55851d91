"""SendGrid Signed Event Webhook verification, with real P-256 keys made in the test."""

from __future__ import annotations

import base64
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sendgrid.helpers.eventwebhook import EventWebhook

from activities.events.signature import (
    SignatureProblem,
    WebhookVerifier,
    generate_key_pair,
    load_public_key,
    sign,
)
from models.errors import InvalidSignature, NurtureError

NOW = 1_700_000_000
TIMESTAMP = str(NOW)
BODY = (
    b'[{"email":"ana@example.com","timestamp":1700000000,"event":"delivered",'
    b'"sg_event_id":"hqFbp3HH9WxIM0R2-x2M1Q==","response":"250 OK"}]\r\n'
)


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    return generate_key_pair()


@pytest.fixture(scope="module")
def verifier(key_pair: tuple[str, str]) -> WebhookVerifier:
    return WebhookVerifier(key_pair[1])


def signed(key_pair: tuple[str, str], body: bytes = BODY, timestamp: str = TIMESTAMP) -> str:
    return sign(key_pair[0], body, timestamp)


def problem_of(excinfo: pytest.ExceptionInfo[InvalidSignature]) -> str:
    return excinfo.value.problem


# -- what passes ------------------------------------------------------------------------------


def test_request_signed_by_sendgrid_scheme_with_independent_signer_verifies() -> None:
    # SendGrid's documented scheme, done with `cryptography` alone: ECDSA P-256 / SHA-256 over
    # the timestamp header's bytes followed by the raw body; the header is base64 DER; the
    # configured key is base64 DER SubjectPublicKeyInfo.
    private_key = ec.generate_private_key(ec.SECP256R1())
    der_signature = private_key.sign(TIMESTAMP.encode("utf-8") + BODY, ec.ECDSA(hashes.SHA256()))
    public_b64 = base64.b64encode(
        private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()

    WebhookVerifier(public_b64).verify(
        BODY, base64.b64encode(der_signature).decode(), TIMESTAMP, now=NOW
    )


def test_our_signature_verifies_with_sendgrids_own_helper(key_pair: tuple[str, str]) -> None:
    helper = EventWebhook(key_pair[1])
    assert helper.verify_signature(BODY.decode(), signed(key_pair), TIMESTAMP) is True
    assert helper.verify_signature(BODY.decode() + " ", signed(key_pair), TIMESTAMP) is False


def test_generated_public_key_is_base64_der_of_a_p256_key(key_pair: tuple[str, str]) -> None:
    private_pem, public_b64 = key_pair
    assert "-----" not in public_b64
    key = serialization.load_der_public_key(base64.b64decode(public_b64, validate=True))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_valid_signature_passes(verifier: WebhookVerifier, key_pair: tuple[str, str]) -> None:
    verifier.verify(BODY, signed(key_pair), TIMESTAMP, now=NOW)


def test_empty_body_can_be_signed_and_verified(
    verifier: WebhookVerifier, key_pair: tuple[str, str]
) -> None:
    verifier.verify(b"", signed(key_pair, b""), TIMESTAMP, now=NOW)


def test_signature_header_split_over_lines_still_verifies(
    verifier: WebhookVerifier, key_pair: tuple[str, str]
) -> None:
    signature = signed(key_pair)
    verifier.verify(BODY, f" {signature[:20]}\n{signature[20:]} ", TIMESTAMP, now=NOW)


def test_pem_public_key_is_accepted(key_pair: tuple[str, str]) -> None:
    der = base64.b64decode(key_pair[1])
    pem = serialization.load_der_public_key(der).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    WebhookVerifier(pem.decode()).verify(BODY, signed(key_pair), TIMESTAMP, now=NOW)


@pytest.mark.parametrize("offset", [-300, 300, 0])
def test_timestamp_at_the_edge_of_the_window_passes(
    verifier: WebhookVerifier, key_pair: tuple[str, str], offset: int
) -> None:
    verifier.verify(BODY, signed(key_pair), TIMESTAMP, now=NOW - offset)


def test_replay_window_is_configurable(key_pair: tuple[str, str]) -> None:
    wide = WebhookVerifier(key_pair[1], replay_window_seconds=3600)
    wide.verify(BODY, signed(key_pair), TIMESTAMP, now=NOW + 3000)
    narrow = WebhookVerifier(key_pair[1], replay_window_seconds=10)
    with pytest.raises(InvalidSignature) as excinfo:
        narrow.verify(BODY, signed(key_pair), TIMESTAMP, now=NOW + 11)
    assert problem_of(excinfo) == SignatureProblem.TIMESTAMP_OUTSIDE_WINDOW


def test_clock_defaults_to_now(verifier: WebhookVerifier, key_pair: tuple[str, str]) -> None:
    fresh = str(int(time.time()))
    verifier.verify(BODY, signed(key_pair, timestamp=fresh), fresh)
    with pytest.raises(InvalidSignature):
        verifier.verify(BODY, signed(key_pair), TIMESTAMP)  # 2023: long stale


# -- what fails -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        BODY.replace(b"delivered", b"delivereD"),
        BODY.rstrip(),
        BODY + b" ",
        b"",
    ],
    ids=["one-byte-changed", "trailing-newline-stripped", "byte-appended", "emptied"],
)
def test_tampered_body_is_rejected(
    verifier: WebhookVerifier, key_pair: tuple[str, str], body: bytes
) -> None:
    with pytest.raises(InvalidSignature) as excinfo:
        verifier.verify(body, signed(key_pair), TIMESTAMP, now=NOW)
    assert problem_of(excinfo) == SignatureProblem.BAD_SIGNATURE


def test_signature_replayed_with_a_fresh_timestamp_is_rejected(
    verifier: WebhookVerifier, key_pair: tuple[str, str]
) -> None:
    later = str(NOW + 600)
    with pytest.raises(InvalidSignature) as excinfo:
        verifier.verify(BODY, signed(key_pair), later, now=NOW + 600)
    assert problem_of(excinfo) == SignatureProblem.BAD_SIGNATURE


def test_signature_by_another_key_is_rejected(verifier: WebhookVerifier) -> None:
    other = generate_key_pair()
    with pytest.raises(InvalidSignature) as excinfo:
        verifier.verify(BODY, signed(other), TIMESTAMP, now=NOW)
    assert problem_of(excinfo) == SignatureProblem.BAD_SIGNATURE


@pytest.mark.parametrize(
    "offset", [301, 3600, -301, -86_400], ids=["stale", "hour-old", "future", "day-ahead"]
)
def test_timestamp_outside_the_window_is_rejected_even_when_signed(
    verifier: WebhookVerifier, key_pair: tuple[str, str], offset: int
) -> None:
    with pytest.raises(InvalidSignature) as excinfo:
        verifier.verify(BODY, signed(key_pair), TIMESTAMP, now=NOW + offset)
    assert problem_of(excinfo) == SignatureProblem.TIMESTAMP_OUTSIDE_WINDOW
    assert "replay window" in str(excinfo.value)


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_missing_signature_header_is_rejected(
    verifier: WebhookVerifier, signature: str | None
) -> None:
    with pytest.raises(InvalidSignature) as excinfo:
        verifier.verify(BODY, signature, TIMESTAMP, now=NOW)
    assert problem_of(excinfo) == SignatureProblem.MISSING_SIGNATURE
    assert "X-Twilio-Email-Event-Webhook-Signature" in str(excinfo.value)


@pytest.mark.parametrize("timestamp", [None, ""])
def test_missing_timestamp_header_is_rejected(
    verifier: WebhookVerifier, key_pair: tuple[str, str], timestamp: str | None
) -> None:
    with pytest.raises(InvalidSignature) as excinfo:
        verifier.verify(BODY, signed(key_pair), timestamp, now=NOW)
    assert problem_of(excinfo) == SignatureProblem.MISSING_TIMESTAMP
    assert "X-Twilio-Email-Event-Webhook-Timestamp" in str(excinfo.value)


@pytest.mark.parametrize(
    "signature",
    ["not base64!", "abc", "====", "é" * 8, "A" * 5000, "=="],
    ids=["punctuation", "bad-padding", "only-padding", "non-ascii", "huge", "empty-once-decoded"],
)
def test_garbage_signature_is_rejected_as_not_base64(
    verifier: WebhookVerifier, signature: str
) -> None:
    with pytest.raises(InvalidSignature) as excinfo:
        verifier.verify(BODY, signature, TIMESTAMP, now=NOW)
    assert problem_of(excinfo) == SignatureProblem.SIGNATURE_NOT_BASE64


def test_base64_that_is_not_a_der_signature_is_a_bad_signature(verifier: WebhookVerifier) -> None:
    with pytest.raises(InvalidSignature) as excinfo:
        verifier.verify(BODY, base64.b64encode(b"\x30\x06garbage").decode(), TIMESTAMP, now=NOW)
    assert problem_of(excinfo) == SignatureProblem.BAD_SIGNATURE


@pytest.mark.parametrize(
    "timestamp",
    [
        "1700000000.0",
        "-1700000000",
        "+1700000000",
        " 1700000000",
        "1700000000\n",
        "17e8",
        "now",
        "".join(chr(0xFF10 + int(d)) for d in "1700000000"),  # fullwidth digits
        "9" * 5000,
    ],
    ids=[
        "decimal",
        "negative",
        "plus",
        "leading-space",
        "trailing-newline",
        "exponent",
        "word",
        "fullwidth-digits",
        "huge",
    ],
)
def test_timestamp_that_is_not_an_integer_is_rejected(
    verifier: WebhookVerifier, key_pair: tuple[str, str], timestamp: str
) -> None:
    with pytest.raises(InvalidSignature) as excinfo:
        verifier.verify(BODY, signed(key_pair, timestamp=timestamp), timestamp, now=NOW)
    assert problem_of(excinfo) == SignatureProblem.TIMESTAMP_NOT_INTEGER


def test_failure_is_a_permanent_nurture_error_that_echoes_no_secret(
    verifier: WebhookVerifier, key_pair: tuple[str, str]
) -> None:
    other_signature = signed(generate_key_pair())
    with pytest.raises(InvalidSignature) as excinfo:
        verifier.verify(BODY, other_signature, TIMESTAMP, now=NOW)
    assert isinstance(excinfo.value, NurtureError)
    assert excinfo.value.permanent
    message = str(excinfo.value)
    assert other_signature not in message
    assert key_pair[1][:40] not in message
    assert "ana@example.com" not in message


# -- configuration ----------------------------------------------------------------------------


def _p384_key() -> str:
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def _rsa_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


@pytest.mark.parametrize(
    ("public_key", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("this is not base64!", "not a base64 DER"),
        (base64.b64encode(b"not a DER key").decode(), "not a base64 DER"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not a base64 DER"),
        (_p384_key(), "P-256"),
        (_rsa_key(), "P-256"),
    ],
    ids=["empty", "blank", "not-base64", "not-der", "bad-pem", "p384", "rsa"],
)
def test_unusable_public_key_is_a_clear_configuration_error(public_key: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as excinfo:
        WebhookVerifier(public_key)
    if len(public_key) > 20:
        assert public_key not in str(excinfo.value)


def test_public_key_with_line_breaks_as_pasted_is_accepted(key_pair: tuple[str, str]) -> None:
    wrapped = "\n".join(key_pair[1][i : i + 64] for i in range(0, len(key_pair[1]), 64))
    assert isinstance(load_public_key(wrapped + "\n"), ec.EllipticCurvePublicKey)


def test_negative_replay_window_is_refused(key_pair: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="replay_window_seconds"):
        WebhookVerifier(key_pair[1], replay_window_seconds=-1)


def test_signer_refuses_a_key_of_another_curve() -> None:
    pem = (
        ec.generate_private_key(ec.SECP384R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ValueError, match="P-256"):
        sign(pem, BODY, TIMESTAMP)
