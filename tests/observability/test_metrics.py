"""`/metrics`: public Prometheus text whose figures match a known database state — messages by
outcome, events by kind, quota per sender in its own day, paused senders with their reason,
the forwarder's backlog and lag — and this process's webhook and forwarding timings."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from temporalio.service import RPCError, RPCStatusCode

from activities.deliverability.sender_health import HealthFigures, HealthPolicy, verdict
from activities.deliverability.senders import SenderService
from activities.enrollment.quota import sender_day
from api.dashboard.ops_figures import PauseCause, pause_cause
from api.metrics import DatabaseCollector
from models.db import get_engine, session_scope
from models.tables import (
    Event,
    EventSignal,
    Message,
    MessageStatus,
    SenderDayQuota,
    utcnow,
)
from tests.factories import make_contact, make_sender, make_sent_message
from tests.factories import sendgrid_event as esp_event
from tests.observability.conftest import scrape

DATABASE_FAMILIES = {
    "nurture_database_up",
    "nurture_messages",
    "nurture_events",
    "nurture_forwarder_backlog",
    "nurture_forwarder_lag_seconds",
    "nurture_sender_quota_used",
    "nurture_sender_quota_cap",
    "nurture_sender_paused",
}
PROCESS_FAMILIES = {
    "nurture_webhook_seconds",
    "nurture_events_forwarded",
    "nurture_event_signal_latency_seconds",
}


def add_message(engine: sa.Engine, sender_id: str, status: MessageStatus) -> None:
    contact = make_contact(engine)
    with session_scope(engine) as s:
        s.add(
            Message(
                id=str(uuid4()),
                workflow_id=f"nurture/trade_intro/{contact.id}",
                contact_id=contact.id,
                sequence="trade_intro",
                step="intro",
                sender_id=sender_id,
                status=status,
            )
        )


def add_event(engine: sa.Engine, *, age: timedelta, forwarded: bool, workflow: bool) -> None:
    now = utcnow()
    with session_scope(engine) as s:
        s.add(
            Event(
                esp_event_id=f"evt-{uuid4()}",
                esp_type="open",
                kind="open",
                workflow_id=f"nurture/trade_intro/{uuid4()}" if workflow else None,
                occurred_at=now - age,
                received_at=now - age,
                forwarded_at=now if forwarded else None,
                payload={"kind": "open", "occurred_at": (now - age).isoformat()},
            )
        )


def test_metrics_is_public_prometheus_text_with_every_family(client) -> None:
    response = client.get("/metrics")  # no bearer token, like /healthz

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE nurture_messages gauge" in response.text
    assert scrape(client).families >= DATABASE_FAMILIES | PROCESS_FAMILIES
    assert scrape(client).value("nurture_database_up") == 1


def test_sends_by_outcome_and_events_by_kind_match_the_database(client, poster, api_engine) -> None:
    make_sender(api_engine)
    make_sender(api_engine, "second", from_email="sales@second.example.com")
    sent = [make_sent_message(api_engine, make_contact(api_engine)) for _ in range(3)]
    add_message(api_engine, "default", MessageStatus.FAILED)
    add_message(api_engine, "second", MessageStatus.UNKNOWN)
    add_message(api_engine, "second", MessageStatus.PENDING)

    poster.post([esp_event("delivered", m) for m in sent])
    poster.post([esp_event("open", sent[0]), esp_event("click", sent[0])])
    duplicate = esp_event("open", sent[1])
    poster.post([duplicate])
    poster.post([duplicate])  # stored once

    figures = scrape(client)
    assert {
        status.value: figures.value("nurture_messages", sender="default", status=status.value)
        for status in MessageStatus
    } == {"pending": 0, "sent": 3, "unknown": 0, "failed": 1, "not_sent": 0}
    assert figures.value("nurture_messages", sender="second", status="unknown") == 1
    assert figures.value("nurture_messages", sender="second", status="pending") == 1
    assert figures.value("nurture_events", kind="delivered") == 3
    assert figures.value("nurture_events", kind="open") == 2
    assert figures.value("nurture_events", kind="click") == 1
    assert figures.value("nurture_events", kind="bounce") == 0
    # Each correlated open and click waits in the outbox until the forwarder signals it; the
    # deliveries are never signalled.
    assert figures.value("nurture_forwarder_backlog") == 3
    assert figures.value("nurture_webhook_seconds_count", webhook="events") == 4
    assert figures.value("nurture_webhook_seconds_count", webhook="inbound") == 0


def test_quota_gauges_read_each_senders_own_local_day(client, api_engine) -> None:
    # UTC+14 and UTC-11: their local dates always differ, so each must read its own row.
    east = make_sender(
        api_engine, "east", time_zone="Pacific/Kiritimati", warmup_started_on=date(2020, 1, 1)
    )
    west = make_sender(
        api_engine,
        "west",
        time_zone="Pacific/Pago_Pago",
        daily_cap=50,
        warmup_start=20,
        warmup_started_on=utcnow().astimezone(ZoneInfo("Pacific/Pago_Pago")).date(),
    )
    now = utcnow()
    east_day, west_day = sender_day(east, now), sender_day(west, now)
    assert east_day != west_day
    with session_scope(api_engine) as s:
        for sender_id in ("east", "west"):
            s.add(SenderDayQuota(sender_id=sender_id, day=east_day, used=7))
            s.add(SenderDayQuota(sender_id=sender_id, day=west_day, used=3))

    figures = scrape(client)
    assert figures.value("nurture_sender_quota_used", sender="east") == 7
    assert figures.value("nurture_sender_quota_used", sender="west") == 3
    assert figures.value("nurture_sender_quota_cap", sender="east") == 200  # ramp done
    assert figures.value("nurture_sender_quota_cap", sender="west") == 20  # ramp day one


def test_paused_senders_carry_the_cause_as_a_label(client, poster, api_engine) -> None:
    make_sender(api_engine)
    make_sender(api_engine, "ops-paused", from_email="a@ops.example.com")
    make_sender(api_engine, "healthy", from_email="b@healthy.example.com")
    sent = [make_sent_message(api_engine, make_contact(api_engine)) for _ in range(2)]
    poster.post([esp_event("bounce", sent[0], status="5.1.1", type="bounce")])  # 50 % hard
    SenderService(api_engine, HealthPolicy()).pause("ops-paused", "list hygiene review")

    figures = scrape(client)
    assert figures.labels_of("nurture_sender_paused") == [
        {"sender": "default", "reason": "hard_bounce_rate"},
        {"sender": "healthy", "reason": ""},
        {"sender": "ops-paused", "reason": "ops"},
    ]
    assert figures.value("nurture_sender_paused", sender="default", reason="hard_bounce_rate") == 1
    assert figures.value("nurture_sender_paused", sender="ops-paused", reason="ops") == 1
    assert figures.value("nurture_sender_paused", sender="healthy", reason="") == 0


@pytest.mark.parametrize(
    ("figures", "cause"),
    [
        (HealthFigures(30, 100, 1, 0, 0, 0.01, 0.0), PauseCause.COMPLAINT_RATE),
        (HealthFigures(30, 100, 0, 5, 0, 0.0, 0.05), PauseCause.HARD_BOUNCE_RATE),
        (HealthFigures(30, 100, 0, 0, 9, 0.0, 0.0), PauseCause.BLOCK_BURST),
    ],
)
def test_every_health_verdict_maps_to_its_cause(figures: HealthFigures, cause) -> None:
    reason = verdict(figures, HealthPolicy())
    assert reason is not None
    assert pause_cause(reason, paused=True) == cause


def test_unknown_or_absent_pause_reasons() -> None:
    assert pause_cause("paused by ops: audit", paused=True) == PauseCause.OPS
    assert pause_cause("migrated from the old system", paused=True) == PauseCause.OTHER
    assert pause_cause(None, paused=True) == PauseCause.OTHER
    assert pause_cause("complaint rate 1%", paused=False) == PauseCause.NONE


def test_backlog_and_lag_count_only_events_waiting_for_a_workflow(client, api_engine) -> None:
    assert scrape(client).value("nurture_forwarder_lag_seconds") == 0
    add_event(api_engine, age=timedelta(seconds=120), forwarded=False, workflow=True)
    add_event(api_engine, age=timedelta(seconds=30), forwarded=False, workflow=True)
    add_event(api_engine, age=timedelta(hours=5), forwarded=True, workflow=True)
    add_event(api_engine, age=timedelta(hours=6), forwarded=False, workflow=False)  # uncorrelated

    figures = scrape(client)
    assert figures.value("nurture_forwarder_backlog") == 2
    assert 120 <= figures.value("nurture_forwarder_lag_seconds") < 180


async def test_forwarder_counts_failures_while_temporal_is_unreachable(client, api_engine) -> None:
    add_event(api_engine, age=timedelta(seconds=5), forwarded=False, workflow=True)
    add_event(api_engine, age=timedelta(seconds=5), forwarded=False, workflow=True)

    result = await client.app.state.services.forwarder.forward_pending()  # 127.0.0.1:1

    assert result.failed == 2
    figures = scrape(client)
    assert figures.value("nurture_events_forwarded_total", outcome="failed") == 2
    assert figures.value("nurture_events_forwarded_total", outcome="forwarded") == 0
    assert figures.value("nurture_forwarder_backlog") == 2  # kept for the next pass


class FakeHandle:
    def __init__(self, workflow_id: str, closed: set[str]) -> None:
        self.workflow_id = workflow_id
        self.closed = closed

    async def signal(self, *args: object) -> None:
        if self.workflow_id in self.closed:
            raise RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")


class FakeClient:
    """Accepts signals, except for the workflows in `closed` (NOT_FOUND, as Temporal answers)."""

    def __init__(self, closed: set[str]) -> None:
        self.closed = closed

    def get_workflow_handle(self, workflow_id: str) -> FakeHandle:
        return FakeHandle(workflow_id, self.closed)


async def test_forwarder_counts_outcomes_and_times_event_to_signal(client, api_engine) -> None:
    make_sender(api_engine)
    live = make_sent_message(api_engine, make_contact(api_engine))
    closed_contact = make_contact(api_engine)
    closed = make_sent_message(api_engine, closed_contact)
    now = utcnow()
    with session_scope(api_engine) as s:
        for message, age in ((live, 40), (live, 20), (closed, 10)):
            s.add(
                Event(
                    esp_event_id=f"evt-{uuid4()}",
                    esp_type="open",
                    kind="open",
                    message_id=message.id,
                    workflow_id=message.workflow_id,
                    occurred_at=now - timedelta(seconds=age),
                    received_at=now - timedelta(seconds=age),
                    signal=EventSignal.ENGAGEMENT,
                    payload={"kind": "open", "occurred_at": now.isoformat()},
                )
            )
    forwarder = client.app.state.services.forwarder
    fake = FakeClient({closed.workflow_id})

    async def connect() -> FakeClient:
        return fake

    forwarder._connect = connect
    result = await forwarder.forward_pending()

    assert (result.forwarded, result.late, result.failed) == (2, 1, 0)
    figures = scrape(client)
    assert figures.value("nurture_events_forwarded_total", outcome="forwarded") == 2
    assert figures.value("nurture_events_forwarded_total", outcome="late") == 1
    assert figures.value("nurture_event_signal_latency_seconds_count") == 2
    assert 60 <= figures.value("nurture_event_signal_latency_seconds_sum") < 120
    assert figures.value("nurture_event_signal_latency_seconds_bucket", le="30.0") == 1
    assert figures.value("nurture_forwarder_backlog") == 0
    assert figures.value("nurture_forwarder_lag_seconds") == 0


def test_an_unreadable_database_reports_down_instead_of_failing_the_scrape(tmp_path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'no-schema.db'}")  # no tables at all

    families = {m.name: m for m in DatabaseCollector(engine).collect()}

    assert list(families) == ["nurture_database_up"]
    assert families["nurture_database_up"].samples[0].value == 0
