"""Bulk seeding for benchmarks: contacts with consent in a few statements (as
tests/integration/test_cohort_launch.py does), and the senders the parts send from."""

from __future__ import annotations

import uuid
from uuid import UUID

import sqlalchemy as sa

from activities.deliverability.senders import ensure_sender
from bench import UNLIMITED
from models.db import session_scope
from models.tables import ConsentAction, ConsentRecord, Contact, Sender, utcnow

_CHUNK = 5000


def seed_contacts(engine: sa.Engine, count: int, *, tag: str) -> list[UUID]:
    """`count` contacts with granted consent, `custom.bench == tag`; their ids, in order."""
    now = utcnow()
    ids = [uuid.uuid4() for _ in range(count)]
    for start in range(0, count, _CHUNK):
        chunk = range(start, min(count, start + _CHUNK))
        contacts = [
            {
                "id": ids[i],
                "email": f"{tag}-{i}@buyer{i % 997}.example.com",
                "first_name": "Ann",
                "company": f"Buyer {i % 997}",
                "country": "DE",
                "custom": {"bench": tag},
                "created_at": now,
                "updated_at": now,
                "role_account": False,
            }
            for i in chunk
        ]
        consents = [
            {
                "contact_id": ids[i],
                "action": ConsentAction.GRANTED,
                "source": "bench",
                "recorded_at": now,
            }
            for i in chunk
        ]
        with session_scope(engine) as session:
            session.execute(sa.insert(Contact), contacts)
            session.execute(sa.insert(ConsentRecord), consents)
    return ids


def bench_sender(engine: sa.Engine, sender_id: str, *, paused: bool = False) -> str:
    """A sender with no ramp and no throttle (`bench.UNLIMITED`); paused if asked, so that
    enrollments start and wait without mailing."""
    ensure_sender(
        engine,
        sender_id,
        from_email=f"{sender_id}@bench.example.com",
        from_name="Bench",
        postal_address="1 Bench Street, Hamburg",
        **UNLIMITED,
    )
    if paused:
        with session_scope(engine) as session:
            sender = session.get(Sender, sender_id)
            assert sender is not None
            sender.paused_at = utcnow()
            sender.paused_reason = "benchmark: enrollments wait"
            session.add(sender)
    return sender_id


__all__ = ["bench_sender", "seed_contacts"]
