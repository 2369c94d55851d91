"""The ESP's side of the event fault tests: signed Event Webhook batches posted as SendGrid posts
them (to one API, or round-robin to several replicas, posting a batch again to another replica
when one gives no answer, as SendGrid retries a failed post), and what the outbox and the
workflows' histories say became of the events."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa
from sqlmodel import col, func, select
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from activities.events.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from models.db import session_scope
from models.enrollment import EnrollmentState
from models.tables import Event
from models.wire import STATE_QUERY

EVENTS_PATH = "/webhooks/sendgrid/events"


def signed_headers(private_pem: str, body: bytes) -> dict[str, str]:
    """The Event Webhook's signature headers for `body`, timestamped now."""
    ts = str(int(time.time()))
    return {SIGNATURE_HEADER: sign(private_pem, body, ts), TIMESTAMP_HEADER: ts}


def unforwarded(engine: sa.Engine) -> int:
    """Event rows the forwarders have not settled yet (none: every event reached its workflow,
    or was kept as late)."""
    with session_scope(engine) as s:
        return int(
            s.exec(
                select(func.count()).select_from(Event).where(col(Event.forwarded_at).is_(None))
            ).one()
        )


async def state_of(client: Client, workflow_id: str, seconds: float = 30) -> EnrollmentState:
    """The workflow's state query, retried while Temporal is unreachable."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await client.get_workflow_handle(workflow_id).query(
                STATE_QUERY, result_type=EnrollmentState
            )
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def signals_in(history: WorkflowHistory) -> list[tuple[str, list[str]]]:
    """Every signal in a workflow's history, in order: its name and the ESP event ids it
    carried (none for signals without events)."""
    signals = []
    for e in history.events:
        if not e.HasField("workflow_execution_signaled_event_attributes"):
            continue
        attributes = e.workflow_execution_signaled_event_attributes
        payloads = attributes.input.payloads
        carried = json.loads(payloads[0].data) if payloads else []
        ids = [c["esp_event_id"] for c in carried] if isinstance(carried, list) else []
        signals.append((attributes.signal_name, ids))
    return signals


class NoReplicaAnswered(AssertionError):
    """Every API replica failed a batch: the ESP would keep retrying, the test cannot."""


@dataclass
class RoundRobinPoster:
    """Posts signed batches to the API replicas in turn. A replica that gives no answer (its
    connection refused or reset, a 5xx) is marked down and the batch goes to the next one: a
    batch it may have committed before dying comes again, which the ESP event id dedupes."""

    urls: list[str]
    private_pem: str
    timeout: float = 15.0
    down: set[str] = field(default_factory=set)
    #: Answers per replica URL.
    answered: dict[str, int] = field(default_factory=dict)
    #: Batches posted again to another replica after one failed them.
    reposted: int = 0
    #: The answers' counts, summed (`received`, `stored`, `duplicates`, ...).
    totals: dict[str, int] = field(default_factory=dict)
    _turn: int = 0

    async def post(self, http: httpx.AsyncClient, batch: list[dict]) -> dict[str, int]:
        """Post `batch` until a replica answers 200; its answer."""
        body = json.dumps(batch).encode()
        failures = []
        start = self._turn
        self._turn += 1
        for i in range(len(self.urls)):
            url = self.urls[(start + i) % len(self.urls)]
            if url in self.down:
                continue
            try:
                response = await http.post(
                    url + EVENTS_PATH,
                    content=body,
                    headers=signed_headers(self.private_pem, body),
                    timeout=self.timeout,
                )
            except httpx.TransportError as exc:
                failures.append(f"{url}: {type(exc).__name__}")
                self.down.add(url)
                self.reposted += 1
                continue
            if response.status_code >= 500:
                failures.append(f"{url}: {response.status_code}")
                self.reposted += 1
                continue
            assert response.status_code == 200, (response.status_code, response.text)
            answer: dict[str, int] = response.json()
            self.answered[url] = self.answered.get(url, 0) + 1
            for key, value in answer.items():
                self.totals[key] = self.totals.get(key, 0) + value
            return answer
        raise NoReplicaAnswered(f"no replica took the batch: {failures}")


__all__ = [
    "EVENTS_PATH",
    "NoReplicaAnswered",
    "RoundRobinPoster",
    "signals_in",
    "signed_headers",
    "state_of",
    "unforwarded",
]
