"""The sample contacts, sender and unsubscribe link every template is rendered with for the lint."""

from __future__ import annotations

from activities.enrollment.rendering import Recipient, SenderIdentity

SAMPLE_CONTACT = Recipient(
    first_name="Anna",
    last_name="Schmidt",
    company="Hansa Import GmbH",
    country="DE",
    language=None,
    custom={},
)
#: Nothing known but the address: exercises every fallback.
SAMPLE_CONTACT_BARE = Recipient(
    first_name=None, last_name=None, company=None, country=None, language=None, custom={}
)
SAMPLE_SENDER = SenderIdentity(
    from_name="Li Wei, Ningbo Precision Parts",
    from_email="li.wei@ningbo-precision.example",
    postal_address="88 Harbour Road, Beilun District, Ningbo 315800, China",
)
SAMPLE_UNSUBSCRIBE_URL = "https://nurture.example/u/lint-sample-token"

_SAMPLES: tuple[tuple[str, Recipient], ...] = (
    ("a contact with a first name", SAMPLE_CONTACT),
    ("a contact without a first name", SAMPLE_CONTACT_BARE),
)

__all__ = ["SAMPLE_CONTACT", "SAMPLE_CONTACT_BARE", "SAMPLE_SENDER", "SAMPLE_UNSUBSCRIBE_URL"]
