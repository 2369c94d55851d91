"""Delivers the notification outbox to `NURTURE_NOTIFY_URL`: signed POSTs, at least once, retried
with backoff for as long as it takes.

Each pass leases a batch of due, undelivered rows (`claimed_until`, safe with several API
replicas), POSTs them concurrently and records each row's result: delivered (`delivered_at`, on
any 2xx) or failed (anything else: another status — 3xx and 410 included —, a timeout, a refused
connection), which adds one to `attempts`, keeps a bounded `last_error` (the status or exception
class, and at most 200 characters of the response body) and sets `next_attempt_at` to 5 s, 10 s,
20 s … (capped at 1 h, less up to 10 % jitter so replicas and rows spread out) after the failure.
A crash between a POST and its record re-sends the row when its lease ends: receivers deduplicate
by `id`.

Nothing gives up: a receiver that is down or refuses shows in `/metrics` as
`nurture_notifications_pending` rising and `nurture_notification_oldest_pending_seconds` growing
(alert on the latter), with one warning log line per failed attempt (ids and the error, never the
payload or the URL, which may carry a token) and the reason in the row's `last_error`.

The API runs one dispatcher per replica when `NURTURE_NOTIFY_URL` is set (`api/services.py`);
with it empty no dispatcher exists and rows queued meanwhile wait, counted by the same gauges,
until a URL is configured.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
import structlog
from sqlmodel import col

from activities.notifications.outbox import UNDELIVERED, notification_body
from activities.notifications.signing import NOTIFICATION_ID_HEADER, SIGNATURE_HEADER, sign
from models.db import session_scope
from models.tables import Notification, utcnow

log = structlog.stdlib.get_logger(__name__)

#: The pause after a row's first failed attempt; it doubles with each further failure.
FIRST_BACKOFF_SECONDS = 5.0
#: The longest pause between two attempts at one row.
MAX_BACKOFF_SECONDS = 3600.0
#: Up to this fraction of a pause is taken off at random.
JITTER = 0.1
#: Characters of a refusing receiver's response body kept in `last_error`.
MAX_ERROR_BODY_CHARS = 200
#: Longest `last_error` the table holds.
MAX_ERROR_CHARS = 500
#: Added to the longest a pass can take, so a lease outlives the pass that holds it.
LEASE_MARGIN = timedelta(seconds=30)
USER_AGENT = "nurture"


def backoff_seconds(failures: int, jitter: float = 0.0) -> float:
    """The pause after a row's `failures`-th failed attempt (1 for the first): 5 s · 2^(failures-1),
    capped at 1 h, less `jitter` (in [0, 1)) times 10 %."""
    exponent = min(max(failures, 1) - 1, 20)  # 5 s · 2^20 is far past the cap already
    base = min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2**exponent)
    return base * (1.0 - JITTER * jitter)


@dataclass(frozen=True)
class PendingNotification:
    id: UUID
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


@dataclass(frozen=True)
class Attempt:
    """One POST's result: `error` None when the receiver accepted it, else a short code (the
    status or exception class, safe to log) and `detail` (for `last_error` only)."""

    error: str | None = None
    detail: str = ""

    @property
    def last_error(self) -> str:
        text = f"{self.error}: {self.detail}" if self.detail else str(self.error)
        return text[:MAX_ERROR_CHARS]


@dataclass
class DeliveryReport:
    """One pass: notifications the receiver accepted, and those left for a retry."""

    delivered: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.delivered + self.failed


class NotificationDispatcher:
    """POSTs due notifications to one URL, signed with one secret (both required)."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        url: str,
        secret: str,
        timeout_seconds: float,
        poll_seconds: float = 1.0,
        batch: int = 50,
        concurrency: int = 8,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        # Messages name the setting, never the value: a webhook URL can embed a token.
        try:
            scheme = httpx.URL(url).scheme
        except httpx.InvalidURL:
            scheme = ""
        if scheme not in ("http", "https"):
            raise ValueError("NURTURE_NOTIFY_URL must be an http:// or https:// URL")
        if not secret:
            raise ValueError("NURTURE_NOTIFY_SECRET must be set when NURTURE_NOTIFY_URL is")
        if timeout_seconds <= 0 or batch < 1 or concurrency < 1:
            raise ValueError("timeout_seconds, batch and concurrency must be positive")
        self._engine = engine
        self._url = url
        self._secret = secret
        self._timeout = timeout_seconds
        self._poll_seconds = poll_seconds
        self._batch = batch
        self._concurrency = concurrency
        self._clock = clock
        #: How long a pass holds its rows: every POST of the batch timing out, wave after wave.
        self.lease = (
            timedelta(seconds=timeout_seconds * math.ceil(batch / concurrency)) + LEASE_MARGIN
        )

    async def run(self) -> None:
        """Deliver until cancelled: a pass, then `poll_seconds` of sleep unless the batch was
        full."""
        while True:
            try:
                report = await self.deliver_due()
            except Exception:  # the relay must outlive any one failure; it is logged, not lost
                log.exception("notification pass failed; retrying")
                report = DeliveryReport()
            if report.handled >= self._batch:
                continue
            await asyncio.sleep(self._poll_seconds)

    async def deliver_due(self) -> DeliveryReport:
        """One pass: lease the due rows (at most one batch), POST each, record each result."""
        batch = await asyncio.to_thread(self._claim)
        if not batch:
            return DeliveryReport()
        semaphore = asyncio.Semaphore(self._concurrency)
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout), follow_redirects=False
        ) as client:

            async def attempt(pending: PendingNotification) -> tuple[Attempt, datetime]:
                async with semaphore:
                    result = await self._post(client, pending)
                    return result, self._clock()

            results = await asyncio.gather(*(attempt(p) for p in batch))
        outcomes = list(zip(batch, results, strict=True))
        await asyncio.to_thread(self._record, outcomes)
        report = DeliveryReport()
        for pending, (result, _) in outcomes:
            if result.error is None:
                report.delivered += 1
                log.info(
                    "notification delivered",
                    notification_id=str(pending.id),
                    kind=pending.kind,
                    attempts=pending.attempts + 1,
                )
            else:
                report.failed += 1
                log.warning(
                    "notification not delivered; will retry",
                    notification_id=str(pending.id),
                    kind=pending.kind,
                    attempts=pending.attempts + 1,
                    error=result.error,
                )
        return report

    # -- HTTP ------------------------------------------------------------------------------------

    async def _post(self, client: httpx.AsyncClient, pending: PendingNotification) -> Attempt:
        """POST one notification; every failure is returned, none raised (but cancellation)."""
        try:
            body = notification_body(pending.id, pending.kind, pending.created_at, pending.payload)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: sign(body, self._secret),
                NOTIFICATION_ID_HEADER: str(pending.id),
            }
            # httpx's timeout bounds each read; this bounds the whole exchange (a slow drip too).
            async with asyncio.timeout(self._timeout):
                async with client.stream("POST", self._url, content=body, headers=headers) as r:
                    if r.is_success:
                        return Attempt()
                    return Attempt(f"HTTP {r.status_code}", await _body_excerpt(r))
        except TimeoutError:
            return Attempt("Timeout", f"no answer within {self._timeout:g} s")
        except httpx.TimeoutException as exc:
            return Attempt(type(exc).__name__, f"no answer within {self._timeout:g} s")
        except Exception as exc:  # refused, DNS, TLS, protocol — or a row gone bad: this row only
            return Attempt(type(exc).__name__, str(exc).replace(self._url, "<notify url>"))

    # -- the outbox rows -------------------------------------------------------------------------

    def _claim(self) -> list[PendingNotification]:
        now = self._clock()
        due = sa.and_(
            UNDELIVERED,
            col(Notification.next_attempt_at) <= now,
            sa.or_(
                col(Notification.claimed_until).is_(None), col(Notification.claimed_until) < now
            ),
        )
        # PostgreSQL: SKIP LOCKED sends a replica claiming at the same moment to the next rows
        # instead of queueing behind these only to find them leased; the CTE (never inlined with
        # FOR UPDATE) picks the batch once, where a subquery rescanned per row would skip the rows
        # this very UPDATE has just claimed and claim past the batch. SQLite serialises writers
        # and has no FOR UPDATE (SQLAlchemy leaves it out).
        ids = (
            sa.select(col(Notification.id))
            .where(due)
            .order_by(col(Notification.next_attempt_at), col(Notification.created_at))
            .limit(self._batch)
            .with_for_update(skip_locked=True)
            .cte("due_notifications")
        )
        stmt = (
            sa.update(Notification)
            .where(col(Notification.id).in_(sa.select(ids.c.id)), due)
            .values(claimed_until=now + self.lease)
            .returning(
                col(Notification.id),
                col(Notification.kind),
                col(Notification.payload),
                col(Notification.created_at),
                col(Notification.attempts),
            )
        )
        with session_scope(self._engine) as session:
            rows = session.execute(stmt).all()
        return sorted(
            (PendingNotification(r.id, r.kind, r.payload, r.created_at, r.attempts) for r in rows),
            key=lambda p: p.created_at,
        )

    def _record(self, outcomes: list[tuple[PendingNotification, tuple[Attempt, datetime]]]) -> None:
        with session_scope(self._engine) as session:
            for pending, (result, at) in outcomes:
                # `delivered_at IS NULL`: a row another replica delivered after our lease ran out
                # keeps that delivery.
                row = sa.update(Notification).where(col(Notification.id) == pending.id, UNDELIVERED)
                if result.error is None:
                    values: dict[str, Any] = {"delivered_at": at}
                else:
                    pause = backoff_seconds(pending.attempts + 1, random.random())
                    values = {
                        "last_error": result.last_error,
                        "next_attempt_at": at + timedelta(seconds=pause),
                    }
                session.execute(
                    row.values(
                        attempts=col(Notification.attempts) + 1, claimed_until=None, **values
                    )
                )


async def _body_excerpt(response: httpx.Response) -> str:
    """The start of a refusing receiver's answer, on one line (read no further than needed)."""
    received = b""
    async for chunk in response.aiter_bytes():
        received += chunk
        if len(received) >= MAX_ERROR_BODY_CHARS * 4:  # enough for 200 characters of UTF-8
            break
    text = " ".join(received.decode("utf-8", "replace").split())
    return text[:MAX_ERROR_BODY_CHARS]


__all__ = [
    "FIRST_BACKOFF_SECONDS",
    "MAX_BACKOFF_SECONDS",
    "Attempt",
    "DeliveryReport",
    "NotificationDispatcher",
    "PendingNotification",
    "backoff_seconds",
]
