"""`/metrics` (Prometheus text, public like `/healthz`): durable figures read from the database at
scrape time, and this process's own webhook and forwarding timings.

Database figures (gauges; any replica answers the same):
  nurture_messages{sender,status}            messages by send outcome
  nurture_events{kind}                       engagement events stored
  nurture_forwarder_backlog                  events not yet signalled to their workflow
  nurture_forwarder_lag_seconds              age of the oldest of them
  nurture_notifications_pending              notifications the receiver has not accepted yet
  nurture_notification_oldest_pending_seconds  age of the oldest of them (alert on it)
  nurture_sender_quota_used{sender}          sends reserved today (sender's local day)
  nurture_sender_quota_cap{sender}           sends allowed today (cap and warm-up ramp)
  nurture_sender_paused{sender,reason}       1 if paused (reason: complaint_rate, ops, …)
  nurture_sender_dns_ok{sender}              0 if the daily DNS re-check found a failed check
  nurture_sender_dns_checks{sender,status}   the re-check's checks by status (pass, warn, fail, error)
  nurture_sender_dns_check_age_seconds{sender}  since that re-check (alert if over a day or two)
  nurture_database_up                        0 if the figures could not be read
This process (reset when it restarts):
  nurture_webhook_seconds{webhook}           webhook request to events committed
  nurture_events_forwarded_total{outcome}    forwarded, late (workflow closed), failed
  nurture_event_signal_latency_seconds       event received to signal accepted by Temporal
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from activities.events.forwarder import EventForwarder, PassResult
from activities.notifications.outbox import notification_backlog
from api.dashboard.ops_figures import SenderDnsFigures, read_ops_figures
from models.db import session_scope
from models.tables import utcnow

log = structlog.stdlib.get_logger(__name__)
router = APIRouter(tags=["metrics"])

#: Webhook handling is a verify, a parse and one commit: milliseconds, seconds when the DB waits.
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Event to signal spans a wake-up (sub-second) up to a Temporal outage (minutes or hours).
SIGNAL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class DatabaseCollector(Collector):
    """Reads the figures at each scrape; a database error yields `nurture_database_up 0`."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterable[Metric]:
        return []  # no database read at registration

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("nurture_database_up", "1 if the database figures were read.")
        now = utcnow()
        try:
            figures = read_ops_figures(self._engine, now)
            with session_scope(self._engine) as session:
                notifications = notification_backlog(session)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: database figures unavailable", error=type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        messages = GaugeMetricFamily(
            "nurture_messages",
            "Messages by sender and send outcome (pending, sent, unknown, failed, not_sent).",
            labels=["sender", "status"],
        )
        for (sender_id, status), count in sorted(figures.messages.items()):
            messages.add_metric([sender_id, status], count)
        yield messages

        events = GaugeMetricFamily(
            "nurture_events", "Engagement events stored, by kind.", labels=["kind"]
        )
        for kind, count in sorted(figures.events.items()):
            events.add_metric([kind], count)
        yield events

        yield GaugeMetricFamily(
            "nurture_forwarder_backlog",
            "Events stored and not yet signalled to their workflow.",
            value=figures.outbox.backlog,
        )
        yield GaugeMetricFamily(
            "nurture_forwarder_lag_seconds",
            "Age of the oldest event not yet signalled (0 when none waits).",
            value=figures.outbox.lag_seconds(now),
        )
        yield GaugeMetricFamily(
            "nurture_notifications_pending",
            "Notifications queued and not yet accepted by NURTURE_NOTIFY_URL (retried forever).",
            value=notifications.pending,
        )
        yield GaugeMetricFamily(
            "nurture_notification_oldest_pending_seconds",
            "Age of the oldest notification not yet delivered (0 when none waits).",
            value=notifications.oldest_pending_seconds(now),
        )

        used = GaugeMetricFamily(
            "nurture_sender_quota_used",
            "Sends reserved today, in the sender's local day.",
            labels=["sender"],
        )
        cap = GaugeMetricFamily(
            "nurture_sender_quota_cap",
            "Sends allowed today: the daily cap and the warm-up ramp.",
            labels=["sender"],
        )
        paused = GaugeMetricFamily(
            "nurture_sender_paused",
            "1 if the sender is paused; reason: complaint_rate, hard_bounce_rate, block_burst, "
            "ops, other.",
            labels=["sender", "reason"],
        )
        for sender in figures.senders:
            used.add_metric([sender.sender_id], sender.quota_used)
            cap.add_metric([sender.sender_id], sender.quota_cap)
            paused.add_metric([sender.sender_id, sender.pause_cause.value], int(sender.paused))
        yield used
        yield cap
        yield paused
        yield from _dns_metrics(figures.dns, now)


def _dns_metrics(checks: list[SenderDnsFigures], now: datetime) -> Iterable[Metric]:
    """The senders' latest DNS re-check (senders never checked yet have no series)."""
    ok = GaugeMetricFamily(
        "nurture_sender_dns_ok",
        "1 if the sender's last daily DNS re-check found no failed check (SPF, DKIM, DMARC, MX, "
        "blocklists), 0 if one failed.",
        labels=["sender"],
    )
    by_status = GaugeMetricFamily(
        "nurture_sender_dns_checks",
        "Checks of the sender's last DNS re-check, by status (pass, warn, fail, error).",
        labels=["sender", "status"],
    )
    age = GaugeMetricFamily(
        "nurture_sender_dns_check_age_seconds",
        "Seconds since the sender's last DNS re-check.",
        labels=["sender"],
    )
    for check in checks:
        ok.add_metric([check.sender_id], int(check.ok))
        for status, count in check.counts.items():
            by_status.add_metric([check.sender_id, status], count)
        age.add_metric([check.sender_id], max(0.0, (now - check.checked_at).total_seconds()))
    yield ok
    yield by_status
    yield age


@dataclass
class ApiMetrics:
    """One app's registry (never the global one: tests build many apps in one process)."""

    registry: CollectorRegistry
    webhook_seconds: Histogram
    events_forwarded: Counter
    signal_latency: Histogram

    @classmethod
    def create(cls, engine: sa.Engine) -> ApiMetrics:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(DatabaseCollector(engine))
        metrics = cls(
            registry=registry,
            webhook_seconds=Histogram(
                "nurture_webhook_seconds",
                "From a webhook request's arrival to its events committed.",
                ["webhook"],
                buckets=WEBHOOK_BUCKETS,
                registry=registry,
            ),
            events_forwarded=Counter(
                "nurture_events_forwarded",
                "Events handled by this process's forwarder, by outcome.",
                ["outcome"],
                registry=registry,
            ),
            signal_latency=Histogram(
                "nurture_event_signal_latency_seconds",
                "From an event's arrival to its signal accepted by Temporal.",
                buckets=SIGNAL_BUCKETS,
                registry=registry,
            ),
        )
        for outcome in ("forwarded", "late", "failed"):
            metrics.events_forwarded.labels(outcome)
        for webhook in ("events", "inbound"):
            metrics.webhook_seconds.labels(webhook)
        return metrics

    def record_pass(self, result: PassResult) -> None:
        """The forwarder's observer: count each outcome, time each delivered signal."""
        self.events_forwarded.labels("forwarded").inc(result.forwarded)
        self.events_forwarded.labels("late").inc(result.late)
        self.events_forwarded.labels("failed").inc(result.failed)
        for seconds in result.signal_latencies:
            self.signal_latency.observe(seconds)


def install_metrics(app: FastAPI, engine: sa.Engine, forwarder: EventForwarder) -> ApiMetrics:
    """Give `app` its registry and `/metrics` route, and observe its forwarder."""
    metrics = ApiMetrics.create(engine)
    forwarder.observe(metrics.record_pass)
    app.state.metrics = metrics
    app.include_router(router)
    return metrics


def app_metrics(request: Request) -> ApiMetrics | None:
    """The app's metrics (None for an app built without `install_metrics`)."""
    metrics: ApiMetrics | None = getattr(request.app.state, "metrics", None)
    return metrics


MetricsDep = Annotated[ApiMetrics | None, Depends(app_metrics)]


def observe_webhook(metrics: ApiMetrics | None, webhook: str, started: float) -> None:
    """Record a webhook's handling time (`started`: `time.perf_counter()` at its arrival)."""
    if metrics is not None:
        metrics.webhook_seconds.labels(webhook).observe(time.perf_counter() - started)


@router.get("/metrics", include_in_schema=False)
def metrics_endpoint(metrics: MetricsDep) -> Response:
    """Prometheus text exposition (sync: the database figures are read on a worker thread)."""
    assert metrics is not None  # this route is installed with them
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


__all__ = [
    "ApiMetrics",
    "DatabaseCollector",
    "MetricsDep",
    "app_metrics",
    "install_metrics",
    "observe_webhook",
    "router",
]
