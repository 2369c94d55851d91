"""The retention prune on stored rows (SQLite, and PostgreSQL when configured): old forwarded events,
old business events and old delivered notifications go, in small batches; recent rows, the
outbox's pending rows, replies, suppression and the consent ledger stay; a cohort's funnel and
its A/B figures read the same before and after; nothing inside the sender-health window goes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from sqlmodel import col, func, select

from activities.deliverability.sender_health import HealthPolicy, figures
from activities.maintenance.retention import RetentionPruner, retention_cutoff
from models.db import session_scope
from models.maintenance import PruneRequest
from models.replies import ReplyIntent
from models.settings import Settings
from models.tables import (
    AbTest,
    BusinessEvent,
    ConsentRecord,
    Event,
    Message,
    Notification,
    Reply,
    Suppression,
    SuppressionReason,
    TriggerEnrollment,
    TriggerStatus,
    address_hash,
    utcnow,
)
from tests.activities.cohorts.test_funnel import BLOCK, HARD, CohortBuilder
from tests.factories import make_contact, make_sender

NOW = utcnow()
OLD = NOW - timedelta(days=500)
RECENT = NOW - timedelta(days=10)


@pytest.fixture
def cohort(engine: sa.Engine) -> CohortBuilder:
    make_sender(engine)
    return CohortBuilder(engine)


def settings_for(database_url: str, **kw: Any) -> Settings:
    return Settings(database_url=database_url, **kw)


def age_events(engine: sa.Engine, message_id: str, at: datetime, *, forwarded: bool = True) -> None:
    """Make a message's stored events look received (and signalled) at `at`."""
    with session_scope(engine) as s:
        s.execute(
            sa.update(Event)
            .where(col(Event.message_id) == message_id)
            .values(received_at=at, occurred_at=at, forwarded_at=at if forwarded else None)
        )


def forward_all(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        s.execute(
            sa.update(Event).where(col(Event.forwarded_at).is_(None)).values(forwarded_at=NOW)
        )


def kinds_of(engine: sa.Engine, message_id: str) -> list[str]:
    with session_scope(engine) as s:
        return sorted(
            str(k) for k in s.exec(select(Event.kind).where(Event.message_id == message_id)).all()
        )


def count(engine: sa.Engine, table: type[Any]) -> int:
    with session_scope(engine) as s:
        return int(s.exec(select(func.count()).select_from(table)).one())


def business_event(
    engine: sa.Engine, contact_id: UUID, at: datetime, trigger: TriggerStatus | None = None
) -> UUID:
    event_id = uuid4()
    with session_scope(engine) as s:
        s.add(
            BusinessEvent(
                id=event_id,
                key=f"crm-{event_id}",
                name="quote_requested",
                contact_id=contact_id,
                occurred_at=at,
                received_at=at,
                properties={"amount": 1200},
            )
        )
        if trigger is not None:
            s.flush()
            s.add(
                TriggerEnrollment(
                    event_id=event_id, sequence="quote_followup", status=trigger, updated_at=at
                )
            )
    return event_id


def notification(engine: sa.Engine, at: datetime, *, delivered: bool) -> UUID:
    row = Notification(
        kind="reply.interested",
        payload={"reply_id": 1},
        created_at=at,
        next_attempt_at=at,
        delivered_at=at + timedelta(seconds=1) if delivered else None,
    )
    with session_scope(engine) as s:
        s.add(row)
    return row.id


def test_prune_deletes_old_rows_and_keeps_what_is_still_needed(cohort, engine, database_url):
    with session_scope(engine) as s:
        s.add(
            AbTest(
                cohort_id=cohort.cohort_id,
                step="intro",
                variants=["control", "question"],
                sample_per_variant=1,
                min_sample=1,
                window_seconds=3600,
            )
        )
    a = cohort.message(cohort.member(), "intro", "control")
    b = cohort.message(cohort.member(), "intro", "question")
    c = cohort.message(cohort.member(), "intro", "control")
    for kind in ("delivered", "open", "click"):
        cohort.esp(a, kind)
    cohort.esp(a, "open", sg_machine_open=True)
    cohort.reply(a, intent=ReplyIntent.INTERESTED)
    cohort.esp(b, "delivered")
    cohort.esp(b, "bounce", **HARD)
    cohort.esp(c, "delivered")
    cohort.esp(c, "unsubscribe")
    forward_all(engine)
    cohort.esp(c, "open")  # still waiting for its signal (the outbox)
    age_events(engine, a.id, OLD)
    age_events(engine, b.id, OLD)
    with session_scope(engine) as s:
        s.execute(
            sa.update(Event)
            .where(col(Event.message_id) == c.id, col(Event.forwarded_at).is_(None))
            .values(received_at=OLD, occurred_at=OLD)
        )
        reply_event = s.exec(
            select(Event).where(Event.message_id == a.id, Event.kind == "reply")
        ).one()
        # The inbox keeps this reply; its event stays with it.
        s.add(
            Reply(
                event_id=reply_event.id,
                contact_id=reply_event.contact_id,
                workflow_id=a.workflow_id,
                message_id=a.id,
                received_at=OLD,
                intent=ReplyIntent.INTERESTED,
                classified_intent=ReplyIntent.INTERESTED,
                text="Please send prices",
            )
        )
    # Rows whose age alone must never delete them.
    someone = make_contact(engine)
    with session_scope(engine) as s:
        s.add(
            Suppression(
                address_hash=address_hash("gone@example.de"),
                reason=SuppressionReason.COMPLAINT,
                created_at=OLD,
            )
        )
        s.execute(sa.update(ConsentRecord).values(recorded_at=OLD))
    old_done = business_event(engine, someone.id, OLD, TriggerStatus.ENROLLED)
    old_plain = business_event(engine, someone.id, OLD)
    old_pending = business_event(engine, someone.id, OLD, TriggerStatus.PENDING)
    recent_business = business_event(engine, someone.id, RECENT)
    live_contact = a.contact_id  # enrolled, no outcome yet: its sequence may read the event
    old_of_live = business_event(engine, live_contact, OLD)
    old_delivered = notification(engine, OLD, delivered=True)
    old_undelivered = notification(engine, OLD, delivered=False)
    recent_delivered = notification(engine, RECENT, delivered=True)
    funnel_before = cohort.funnel()
    consent_before, suppression_before = count(engine, ConsentRecord), count(engine, Suppression)
    events_before = count(engine, Event)

    result = RetentionPruner(engine, settings_for(database_url)).prune(
        PruneRequest(batch_size=2), now=NOW
    )

    assert kinds_of(engine, a.id) == ["reply"]
    assert kinds_of(engine, b.id) == []
    assert kinds_of(engine, c.id) == ["delivered", "open", "unsubscribe"]
    assert result.events == events_before - count(engine, Event) == 6
    assert result.cutoff == NOW - timedelta(days=400)
    assert cohort.funnel() == funnel_before
    assert funnel_before.ab_test is not None
    assert funnel_before.ab_test.figures["control"].clicked
    with session_scope(engine) as s:
        assert s.get(Message, a.id).pruned_metrics == [
            "clicked",
            "delivered",
            "opened_human",
            "opened_machine",
        ]
        assert s.get(Message, b.id).pruned_metrics == ["bounced_hard", "delivered"]
        assert s.get(Message, c.id).pruned_metrics is None
        kept_business = set(s.exec(select(BusinessEvent.id)).all())
        kept_triggers = set(s.exec(select(TriggerEnrollment.event_id)).all())
        kept_notifications = set(s.exec(select(Notification.id)).all())
    assert kept_business == {old_pending, recent_business, old_of_live}
    assert old_done not in kept_triggers
    assert old_pending in kept_triggers
    assert result.business_events == 2
    assert old_plain not in kept_business
    assert kept_notifications == {old_undelivered, recent_delivered}
    assert old_delivered not in kept_notifications
    assert result.notifications == 1
    assert count(engine, ConsentRecord) == consent_before
    assert count(engine, Suppression) == suppression_before >= 3

    again = RetentionPruner(engine, settings_for(database_url)).prune(PruneRequest(), now=NOW)
    assert again.total == 0
    assert cohort.funnel() == funnel_before


def test_a_short_retention_never_cuts_into_the_sender_health_window(cohort, engine, database_url):
    settings = settings_for(database_url, event_retention_days=1, health_window_days=30)
    messages = [cohort.message(cohort.member(), "intro") for _ in range(3)]
    for message in messages:
        cohort.esp(message, "bounce", **HARD)
        cohort.esp(message, "bounce", **BLOCK)
    forward_all(engine)
    age_events(engine, messages[0].id, NOW - timedelta(days=40))
    age_events(engine, messages[1].id, NOW - timedelta(days=20))
    policy = HealthPolicy.from_settings(settings)
    with session_scope(engine) as s:
        health_before = figures(s, "default", NOW, policy)

    result = RetentionPruner(engine, settings).prune(PruneRequest(), now=NOW)

    assert retention_cutoff(settings, NOW) == NOW - timedelta(days=30)
    assert result.events == 2
    assert kinds_of(engine, messages[0].id) == []
    assert kinds_of(engine, messages[1].id) == ["bounce", "bounce"]
    assert kinds_of(engine, messages[2].id) == ["bounce", "bounce"]
    with session_scope(engine) as s:
        assert figures(s, "default", NOW, policy) == health_before
    assert health_before.hard_bounces == 2
    assert health_before.recent_blocks == 1


def test_nothing_is_pruned_before_its_time(cohort, engine, database_url):
    message = cohort.message(cohort.member(), "intro")
    cohort.esp(message, "delivered")
    forward_all(engine)
    age_events(engine, message.id, NOW - timedelta(days=399))
    notification(engine, NOW - timedelta(days=399), delivered=True)
    business_event(engine, make_contact(engine).id, NOW - timedelta(days=399))

    result = RetentionPruner(engine, settings_for(database_url)).prune(PruneRequest(), now=NOW)

    assert result.total == 0
    assert kinds_of(engine, message.id) == ["delivered"]
