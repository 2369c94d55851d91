"""Signed tokens: round trip, case folding by mail servers, and every way to forge one."""

from __future__ import annotations

import uuid

import pytest

from models.errors import InvalidToken
from models.tokens import TokenPurpose, sign, verify


@pytest.fixture
def message_id() -> str:
    return str(uuid.uuid4())


def test_token_names_its_message(message_id):
    assert (
        verify("k", TokenPurpose.UNSUBSCRIBE, sign("k", TokenPurpose.UNSUBSCRIBE, message_id))
        == message_id
    )


def test_reply_token_survives_upper_casing_and_fits_an_address_local_part(message_id):
    token = sign("k", TokenPurpose.REPLY, message_id)
    assert len(f"reply+{token}") <= 64
    assert verify("k", TokenPurpose.REPLY, token.upper()) == message_id


@pytest.mark.parametrize(
    "forge",
    [
        lambda t, m: sign("other", TokenPurpose.REPLY, m),
        lambda t, m: sign("k", TokenPurpose.UNSUBSCRIBE, m),
        lambda t, m: t[:-2],
        lambda t, m: t + "aa",
        lambda t, m: ("b" if t[0] == "a" else "a") + t[1:],
        lambda t, m: t[:-1] + ("b" if t[-1] == "a" else "a"),
        lambda t, m: "0" * len(t),
        lambda t, m: "",
    ],
    ids=[
        "wrong-key",
        "wrong-purpose",
        "short",
        "long",
        "edited",
        "last-char",
        "not-base32",
        "empty",
    ],
)
def test_forgeries_are_refused(message_id, forge):
    token = sign("k", TokenPurpose.REPLY, message_id)
    with pytest.raises(InvalidToken):
        verify("k", TokenPurpose.REPLY, forge(token, message_id))


def test_a_token_signed_with_a_previous_key_verifies_while_that_key_is_listed(message_id):
    old = sign("old", TokenPurpose.UNSUBSCRIBE, message_id)
    assert verify(("new", "old"), TokenPurpose.UNSUBSCRIBE, old) == message_id
    assert verify(("new", "older", "old"), TokenPurpose.UNSUBSCRIBE, old) == message_id
    with pytest.raises(InvalidToken, match="signature"):
        verify(("new",), TokenPurpose.UNSUBSCRIBE, old)
    with pytest.raises(InvalidToken, match="signature"):
        verify(
            ("new", ""), TokenPurpose.UNSUBSCRIBE, sign("", TokenPurpose.UNSUBSCRIBE, message_id)
        )
    with pytest.raises(InvalidToken, match="signature"):  # the purpose still binds under any key
        verify(("new", "old"), TokenPurpose.REPLY, old)
