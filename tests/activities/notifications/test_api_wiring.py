"""The notification outbox in the API: a dispatcher exists only with NURTURE_NOTIFY_URL set (and
refuses to exist without a secret), the app's lifespan runs it, and `/metrics` reports the
undelivered backlog and the age of its oldest row, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from activities.notifications.dispatcher import NotificationDispatcher
from activities.notifications.outbox import queue_notification
from activities.notifications.signing import verify_signature
from api.app import create_app
from api.services import build_services
from models.db import session_scope
from models.settings import Settings
from models.tables import Notification, utcnow
from tests.activities.notifications.conftest import Receiver
from tests.api.conftest import api_engine, api_settings, client, webhook_keys
from tests.observability.conftest import scrape

__all__ = ["api_engine", "api_settings", "client", "webhook_keys"]

NOTIFY_SECRET = "wiring-secret"


def test_no_dispatcher_without_a_notify_url(api_settings: Settings, api_engine) -> None:
    assert build_services(api_settings, api_engine).notifications is None


def test_a_notify_url_builds_a_dispatcher_and_requires_a_secret(
    api_settings: Settings, api_engine
) -> None:
    configured = api_settings.model_copy(
        update={"notify_url": "https://hooks.example.test/nurture", "notify_secret": "s"}
    )
    assert isinstance(build_services(configured, api_engine).notifications, NotificationDispatcher)

    unsigned = api_settings.model_copy(update={"notify_url": "https://hooks.example.test/n"})
    with pytest.raises(ValueError, match="NURTURE_NOTIFY_SECRET"):
        build_services(unsigned, api_engine)


def test_the_apps_lifespan_runs_the_dispatcher(
    api_settings: Settings, api_engine, receiver: Receiver
) -> None:
    settings = api_settings.model_copy(
        update={"notify_url": receiver.url, "notify_secret": NOTIFY_SECRET}
    )
    with TestClient(create_app(settings)):
        with session_scope(api_engine) as session:
            queued = queue_notification(session, kind="reply", payload={"intent": "interested"})
        assert receiver.arrived.wait(10)  # the lifespan's dispatcher posted it

    [request] = receiver.requests
    assert request.document["id"] == str(queued)
    assert verify_signature(request.body, NOTIFY_SECRET, request.headers["x-nurture-signature"])


def test_metrics_report_the_undelivered_backlog_and_its_oldest_age(client, api_engine) -> None:
    empty = scrape(client)
    assert empty.value("nurture_notifications_pending") == 0
    assert empty.value("nurture_notification_oldest_pending_seconds") == 0

    add_notifications(api_engine)

    figures = scrape(client)
    assert figures.value("nurture_notifications_pending") == 2
    assert 120 <= figures.value("nurture_notification_oldest_pending_seconds") < 180


def add_notifications(engine: sa.Engine) -> None:
    """One delivered ten minutes ago, two waiting: one two minutes old (failed once), one new."""
    now = utcnow()
    with session_scope(engine) as session:
        session.add(
            Notification(
                kind="reply", created_at=now - timedelta(minutes=10), delivered_at=now, attempts=1
            )
        )
        session.add(
            Notification(
                kind="reply",
                created_at=now - timedelta(minutes=2),
                next_attempt_at=now + timedelta(seconds=5),
                attempts=1,
                last_error="HTTP 503",
            )
        )
        session.add(Notification(kind="reply", created_at=now))
