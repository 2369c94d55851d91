"""The notification outbox against a real local HTTP receiver, on SQLite and PostgreSQL: each
notification arrives signed, with its id in a header and the body; a refusal, a refused
connection or a timeout is recorded and retried after a backoff on the injected clock; two
replicas deliver each row once per lease, and a replica that died mid-POST leaves its rows to the
other when the lease ends. Also the signature scheme, the body format and the backoff."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from activities.notifications.dispatcher import (
    MAX_BACKOFF_SECONDS,
    NotificationDispatcher,
    backoff_seconds,
)
from activities.notifications.outbox import (
    notification_backlog,
    notification_body,
    queue_notification,
)
from activities.notifications.signing import (
    NOTIFICATION_ID_HEADER,
    SIGNATURE_HEADER,
    sign,
    verify_signature,
)
from models.db import session_scope
from models.tables import Notification, utcnow
from tests.activities.notifications.conftest import Clock

NOTIFY_SECRET = "notify-test-secret"
TIMEOUT = 5.0


def dispatcher_for(engine: sa.Engine, url: str, clock: Clock, **kw: Any) -> NotificationDispatcher:
    kw.setdefault("timeout_seconds", TIMEOUT)
    return NotificationDispatcher(engine, url=url, secret=NOTIFY_SECRET, clock=clock, **kw)


def reply_payload(intent: str = "interested") -> dict[str, Any]:
    contact_id = uuid4()
    return {
        "contact_id": contact_id,
        "enrollment": f"nurture/trade_intro/{contact_id}",
        "intent": intent,
        "link": f"https://nurture.example.test/dashboard/contacts/{contact_id}",
    }


def queue(engine: sa.Engine, count: int = 1, **payload: Any) -> list[UUID]:
    with session_scope(engine) as session:
        return [
            queue_notification(session, kind="reply", payload=payload or reply_payload())
            for _ in range(count)
        ]


def row(engine: sa.Engine, notification_id: UUID) -> Notification:
    with session_scope(engine) as session:
        found = session.get(Notification, notification_id)
        assert found is not None
        return found


async def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until `condition()` (a database read) holds; `AssertionError` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds:.0f} s")
        await asyncio.sleep(0.01)


# --- delivery ------------------------------------------------------------------------------------


async def test_a_notification_arrives_signed_with_its_id_in_the_header_and_the_body(
    engine, receiver, clock
) -> None:
    payload = reply_payload("wrong_person")
    [queued] = queue(engine, **payload)

    report = await dispatcher_for(engine, receiver.url, clock).deliver_due()

    assert (report.delivered, report.failed) == (1, 0)
    [request] = receiver.requests
    assert verify_signature(request.body, NOTIFY_SECRET, request.headers["x-nurture-signature"])
    assert request.headers["x-nurture-notification-id"] == str(queued)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "nurture"
    document = request.document
    assert document["id"] == str(queued)
    assert document["kind"] == "reply"
    assert datetime.fromisoformat(document["created_at"]) <= clock()
    assert document["data"] == {**payload, "contact_id": str(payload["contact_id"])}
    stored = row(engine, queued)
    assert stored.delivered_at is not None
    assert (stored.attempts, stored.claimed_until, stored.last_error) == (1, None, None)
    assert (await dispatcher_for(engine, receiver.url, clock).deliver_due()).handled == 0


async def test_a_refused_notification_waits_out_its_backoff_then_is_delivered_once(
    engine, receiver, clock
) -> None:
    [queued] = queue(engine)
    dispatcher = dispatcher_for(engine, receiver.url, clock)
    receiver.fail_next = 1

    first = await dispatcher.deliver_due()

    assert (first.delivered, first.failed) == (0, 1)
    failed = row(engine, queued)
    assert failed.delivered_at is None
    assert failed.attempts == 1
    assert failed.claimed_until is None
    assert failed.last_error is not None
    assert failed.last_error.startswith("HTTP 500: upstream")
    assert len(failed.last_error) <= len("HTTP 500: ") + 200  # never the whole response body
    assert clock() + timedelta(seconds=4) < failed.next_attempt_at
    assert failed.next_attempt_at <= clock() + timedelta(seconds=5)

    assert (await dispatcher.deliver_due()).handled == 0  # not due yet
    clock.advance(5)
    second = await dispatcher.deliver_due()

    assert (second.delivered, second.failed) == (1, 0)
    delivered = row(engine, queued)
    assert delivered.delivered_at is not None
    assert delivered.attempts == 2
    assert receiver.ids() == [str(queued)] * 2
    assert receiver.requests[0].body == receiver.requests[1].body  # the same bytes, re-signed
    assert all(
        verify_signature(r.body, NOTIFY_SECRET, r.headers["x-nurture-signature"])
        for r in receiver.requests
    )


async def test_a_refused_connection_is_recorded_and_retried_not_raised(engine, clock) -> None:
    with socket.socket() as probe:  # a port nobody listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    [queued] = queue(engine)
    url = f"http://127.0.0.1:{port}/hooks?token=secret-in-url"

    with capture_logs() as logs:
        report = await dispatcher_for(engine, url, clock).deliver_due()

    assert (report.delivered, report.failed) == (0, 1)
    failed = row(engine, queued)
    assert failed.attempts == 1
    assert failed.delivered_at is None
    assert failed.last_error is not None
    assert failed.last_error.startswith("ConnectError")
    assert "secret-in-url" not in failed.last_error
    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["notification_id"] == str(queued)
    assert warning["error"] == "ConnectError"
    assert "secret-in-url" not in repr(logs)


async def test_a_slow_receiver_times_out_and_is_retried(engine, receiver, clock) -> None:
    [queued] = queue(engine)
    dispatcher = dispatcher_for(engine, receiver.url, clock, timeout_seconds=0.3)
    receiver.delay = 3.0

    started = asyncio.get_running_loop().time()
    report = await dispatcher.deliver_due()

    assert asyncio.get_running_loop().time() - started < 2.0
    assert report.failed == 1
    timed_out = row(engine, queued)
    assert timed_out.delivered_at is None
    assert timed_out.attempts == 1
    assert timed_out.last_error is not None
    assert "Timeout" in timed_out.last_error

    receiver.delay = 0.0
    clock.advance(5)
    assert (await dispatcher.deliver_due()).delivered == 1
    assert receiver.ids() == [str(queued)] * 2


async def test_each_row_is_recorded_alone_in_a_pass_with_refusals(engine, receiver, clock) -> None:
    queued = queue(engine, 5)
    receiver.fail_next = 2

    report = await dispatcher_for(engine, receiver.url, clock, concurrency=1).deliver_due()

    assert (report.delivered, report.failed) == (3, 2)
    rows = [row(engine, notification_id) for notification_id in queued]
    assert sum(r.delivered_at is not None for r in rows) == 3
    assert sorted(r.last_error is not None for r in rows) == [False, False, False, True, True]
    assert all(r.attempts == 1 and r.claimed_until is None for r in rows)


async def test_a_pass_takes_at_most_one_batch_oldest_first(engine, receiver, clock) -> None:
    queued = queue(engine, 12)

    report = await dispatcher_for(engine, receiver.url, clock, batch=5).deliver_due()

    assert report.delivered == 5
    assert set(receiver.ids()) == {str(notification_id) for notification_id in queued[:5]}


# --- replicas ------------------------------------------------------------------------------------


async def test_two_replicas_passing_together_deliver_each_notification_once(
    engine, receiver, clock
) -> None:
    queued = queue(engine, 24)
    receiver.delay = 0.02  # passes overlap
    replicas = [dispatcher_for(engine, receiver.url, clock, batch=5) for _ in range(2)]

    rounds = []
    for _ in range(20):
        passes = await asyncio.gather(*(r.deliver_due() for r in replicas))
        rounds.append(passes)
        if not any(report.handled for report in passes):
            break

    assert all(report.handled for report in rounds[0]), rounds  # both replicas had rows at once
    assert sum(report.failed for passes in rounds for report in passes) == 0
    assert sum(report.delivered for passes in rounds for report in passes) == 24

    assert Counter(receiver.ids()) == {str(notification_id): 1 for notification_id in queued}
    with session_scope(engine) as session:
        assert notification_backlog(session).pending == 0


async def test_a_lease_keeps_a_second_replica_off_rows_the_first_is_posting(
    engine, receiver, clock
) -> None:
    [queued] = queue(engine)
    first, second = (dispatcher_for(engine, receiver.url, clock) for _ in range(2))
    receiver.holding = True

    pass_one = asyncio.create_task(first.deliver_due())
    await asyncio.to_thread(receiver.arrived.wait, 10)  # claimed, and POSTed
    meanwhile = await second.deliver_due()
    receiver.release()
    done = await asyncio.wait_for(pass_one, 10)

    assert meanwhile.handled == 0
    assert done.delivered == 1
    assert receiver.ids() == [str(queued)]


async def test_rows_of_a_replica_that_died_mid_post_are_redelivered_when_its_lease_ends(
    engine, receiver, clock
) -> None:
    [queued] = queue(engine)
    dying, survivor = (dispatcher_for(engine, receiver.url, clock) for _ in range(2))
    receiver.holding = True
    pass_one = asyncio.create_task(dying.deliver_due())
    await asyncio.to_thread(receiver.arrived.wait, 10)
    pass_one.cancel()  # the process is gone before it recorded anything
    with pytest.raises(asyncio.CancelledError):
        await pass_one
    receiver.holding = False
    receiver.release()

    leased = row(engine, queued)
    assert leased.delivered_at is None
    assert leased.claimed_until is not None
    assert (await survivor.deliver_due()).handled == 0  # leased: not yet

    clock.advance(dying.lease.total_seconds() + 1)
    assert (await survivor.deliver_due()).delivered == 1
    assert receiver.ids() == [str(queued)] * 2  # at least once: the receiver deduplicates by id


# --- the loop ------------------------------------------------------------------------------------


async def test_the_loop_outlives_a_failed_pass_and_delivers_what_is_queued(
    engine, receiver, clock, monkeypatch
) -> None:
    dispatcher = dispatcher_for(engine, receiver.url, clock, poll_seconds=0.01)
    claim = dispatcher._claim
    broken = {"left": 1}

    def claim_once_broken() -> Any:
        if broken["left"]:
            broken["left"] -= 1
            raise sa.exc.OperationalError("SELECT", {}, Exception("database restarting"))
        return claim()

    monkeypatch.setattr(dispatcher, "_claim", claim_once_broken)
    payload = reply_payload()
    [queued] = queue(engine, **payload)

    with capture_logs() as logs:
        loop = asyncio.create_task(dispatcher.run())
        try:
            await eventually(lambda: row(engine, queued).delivered_at is not None)
        finally:
            loop.cancel()
            with pytest.raises(asyncio.CancelledError):
                await loop

    events = [(entry["event"], entry["log_level"]) for entry in logs]
    assert ("notification pass failed; retrying", "error") in events
    assert ("notification delivered", "info") in events
    assert str(payload["contact_id"]) not in repr(logs)  # ids of rows, never the payload
    assert receiver.ids() == [str(queued)]


def test_a_dispatcher_needs_a_secret_and_an_http_url(engine) -> None:
    with pytest.raises(ValueError, match="NURTURE_NOTIFY_SECRET"):
        NotificationDispatcher(
            engine, url="https://hooks.example.test/", secret="", timeout_seconds=1
        )
    with pytest.raises(ValueError, match="NURTURE_NOTIFY_URL") as refused:
        NotificationDispatcher(
            engine, url="ftp://hooks.example.test/t0ken", secret="s", timeout_seconds=1
        )
    assert "t0ken" not in str(refused.value)


# --- the outbox ----------------------------------------------------------------------------------


def test_a_notification_is_queued_in_the_callers_transaction(engine) -> None:
    def cause_then_fail() -> None:
        with session_scope(engine) as session:
            queue_notification(session, kind="reply", payload=reply_payload())
            raise RuntimeError("what caused it was rolled back")

    with pytest.raises(RuntimeError):
        cause_then_fail()

    with session_scope(engine) as session:
        assert notification_backlog(session).pending == 0


def test_payloads_must_be_json_safe(engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(TypeError, match="JSON-safe"):
            queue_notification(session, kind="reply", payload={"x": object()})
        with pytest.raises(TypeError, match="JSON-safe"):
            queue_notification(session, kind="reply", payload={"x": float("nan")})
        with pytest.raises(ValueError, match="kind"):
            queue_notification(session, kind="", payload={})
        with pytest.raises(ValueError, match="kind"):
            queue_notification(session, kind="k" * 65, payload={})
        session.rollback()


def test_the_body_keeps_the_payload_under_data_so_it_cannot_shadow_the_id() -> None:
    notification_id = uuid4()
    created = datetime(2026, 12, 5, 8, 30, tzinfo=UTC)

    body = notification_body(notification_id, "reply", created, {"id": "spoofed", "b": 1, "a": 2})

    assert body == (
        b'{"created_at":"2026-12-05T08:30:00+00:00","data":{"a":2,"b":1,"id":"spoofed"},'
        b'"id":"' + str(notification_id).encode() + b'","kind":"reply"}'
    )


def test_the_backlog_counts_undelivered_rows_and_ages_the_oldest(engine) -> None:
    now = utcnow()
    with session_scope(engine) as session:
        assert notification_backlog(session).oldest_pending_seconds(now) == 0
        session.add(
            Notification(kind="reply", created_at=now - timedelta(minutes=10), delivered_at=now)
        )
        session.add(Notification(kind="reply", created_at=now - timedelta(minutes=2)))
        session.add(Notification(kind="reply", created_at=now - timedelta(minutes=1)))

    with session_scope(engine) as session:
        backlog = notification_backlog(session)
    assert backlog.pending == 2
    assert backlog.oldest_pending_seconds(now) == pytest.approx(120)


# --- backoff -------------------------------------------------------------------------------------


def test_the_pause_doubles_from_five_seconds_up_to_an_hour_less_a_little_jitter() -> None:
    assert [backoff_seconds(n) for n in range(1, 6)] == [5, 10, 20, 40, 80]
    assert backoff_seconds(11) == MAX_BACKOFF_SECONDS == 3600
    assert backoff_seconds(10_000) == MAX_BACKOFF_SECONDS  # retried forever, never overflowing
    assert 4.5 <= backoff_seconds(1, jitter=0.999) < 5
    assert 3240 <= backoff_seconds(50, jitter=0.999) < 3600


# --- signing -------------------------------------------------------------------------------------

BODY = b'{"data":{"intent":"interested"},"id":"0b7d","kind":"reply"}'


def test_the_signature_is_hmac_sha256_hex_of_the_body() -> None:
    # RFC 4231, test case 2: the scheme is plain HMAC-SHA256, reproducible by any receiver.
    assert sign(b"what do ya want for nothing?", "Jefe") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    expected = hmac.new(NOTIFY_SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, NOTIFY_SECRET) == f"sha256={expected}"
    assert verify_signature(BODY, NOTIFY_SECRET, sign(BODY, NOTIFY_SECRET))


@pytest.mark.parametrize(
    ("body", "secret", "header"),
    [
        pytest.param(BODY.replace(b"interested", b"neutral"), NOTIFY_SECRET, None, id="tampered"),
        pytest.param(BODY + b" ", NOTIFY_SECRET, None, id="one-byte-added"),
        pytest.param(BODY, "another-secret", None, id="wrong-secret"),
        pytest.param(BODY, NOTIFY_SECRET, "", id="empty-header"),
        pytest.param(BODY, NOTIFY_SECRET, "sha1=abcdef", id="foreign-scheme"),
        pytest.param(BODY, NOTIFY_SECRET, "sha256=" + "0" * 64, id="wrong-digest"),
        pytest.param(BODY, NOTIFY_SECRET, "sha256=" + "é" * 64, id="non-ascii"),
        pytest.param(BODY, NOTIFY_SECRET, "sha256=" + "a" * 5000, id="overlong"),
        pytest.param(BODY, "", None, id="empty-secret"),
    ],
)
def test_a_tampered_body_or_a_wrong_header_fails_verification(
    body: bytes, secret: str, header: str | None
) -> None:
    signed = sign(BODY, NOTIFY_SECRET)
    assert verify_signature(BODY, NOTIFY_SECRET, signed)

    assert not verify_signature(body, secret, signed if header is None else header)


def test_header_names_are_the_documented_ones() -> None:
    assert (SIGNATURE_HEADER, NOTIFICATION_ID_HEADER) == (
        "X-Nurture-Signature",
        "X-Nurture-Notification-Id",
    )
