"""Sender quotas: the warm-up ramp day by day, atomic reservation under concurrency (PostgreSQL
included), the per-recipient-domain throttle, the weekly cap per contact, and the send step."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from activities.enrollment.quota import QuotaService, next_sender_day_start, ramp_cap, today
from models.db import session_scope
from models.errors import EspUnavailable, QuotaExhausted, SenderPaused
from models.tables import Contact, Message, Sender, SenderDayQuota
from tests.factories import make_contact, make_sender, sending_service, step_input
from tests.sim_fixtures import SIM_API_KEY

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def sender_with(**kw) -> Sender:
    values = {
        "id": "s",
        "from_email": "a@b.example",
        "from_name": "A",
        "postal_address": "x",
        "warmup_started_on": date(2026, 11, 1),
    } | kw
    return Sender(**values)


def test_ramp_gives_the_expected_caps_day_by_day():
    sender = sender_with(warmup_start=20, warmup_growth=1.3, warmup_ceiling=200, daily_cap=500)
    caps = [ramp_cap(sender, date(2026, 11, 1) + timedelta(days=n)) for n in range(12)]
    assert caps == [20, 26, 33, 43, 57, 74, 96, 125, 163, 200, 200, 200]


def test_daily_cap_bounds_the_ramp_and_no_ramp_before_it_starts():
    sender = sender_with(warmup_start=20, warmup_growth=2.0, warmup_ceiling=10_000, daily_cap=50)
    assert ramp_cap(sender, date(2026, 11, 10)) == 50
    assert ramp_cap(sender, date(2026, 10, 1)) == 20
    assert ramp_cap(sender, date(2036, 11, 1)) == 50  # no overflow after years


def test_quota_day_turns_over_at_the_senders_local_midnight():
    sender = sender_with(time_zone="Asia/Shanghai")
    assert next_sender_day_start(sender, NOW) == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def contacts_at(engine, domain: str, n: int) -> list[Contact]:
    return [make_contact(engine, email=f"buyer{i}-{id(engine)}@{domain}") for i in range(n)]


def test_concurrent_reservations_never_exceed_the_cap(engine):
    make_sender(
        engine, warmup_start=25, warmup_ceiling=25, daily_cap=1000, domain_hourly_cap=10_000
    )
    contacts = contacts_at(engine, "many.example", 60)
    quota = QuotaService(contact_weekly_cap=10)
    granted: list[int] = []
    refused: list[str] = []
    start = threading.Barrier(12)

    def worker(chunk: list[Contact]) -> None:
        start.wait()
        for contact in chunk:
            try:
                with session_scope(engine) as s:
                    sender = s.get(Sender, "default")
                    quota.reserve(s, sender, s.get(Contact, contact.id), NOW)
                granted.append(1)
            except QuotaExhausted as exc:
                refused.append(exc.scope)

    threads = [threading.Thread(target=worker, args=(contacts[i::12],)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_scope(engine) as s:
        [row] = s.exec(select(SenderDayQuota)).all()
    assert len(granted) == 25
    assert row.used == 25
    assert len(refused) == 35
    assert set(refused) == {"sender_day"}


def test_recipient_domain_throttle_per_hour(engine):
    make_sender(engine, domain_hourly_cap=3, warmup_start=100, warmup_ceiling=100)
    quota = QuotaService(contact_weekly_cap=10)
    same = contacts_at(engine, "bigbuyer.example", 4)
    other = make_contact(engine, email="x@otherbuyer.example")
    with session_scope(engine) as s:
        sender = s.get(Sender, "default")
        for c in same[:3]:
            quota.reserve(s, sender, c, NOW)
        with pytest.raises(QuotaExhausted) as exc:
            quota.reserve(s, sender, same[3], NOW + timedelta(minutes=20))
        quota.reserve(s, sender, other, NOW)  # another domain is not throttled
        quota.reserve(s, sender, same[3], NOW + timedelta(hours=1))  # the next hour is
    assert exc.value.scope == "recipient_domain"
    assert exc.value.retry_at == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)


def test_contact_weekly_cap_across_sequences(engine, sim):
    make_sender(engine, warmup_start=100, warmup_ceiling=100)
    contact = make_contact(engine)
    service = sending_service(engine, sim.url, SIM_API_KEY, contact_weekly_cap=2)
    service.send_step(step_input(contact, "intro"))
    service.send_step(
        step_input(contact, "intro", sequence="other_sequence", workflow_id="nurture/other/x")
    )
    with pytest.raises(QuotaExhausted) as exc:
        service.send_step(step_input(contact, "bump"))
    assert exc.value.scope == "contact_week"
    assert (
        timedelta(days=6, hours=23)
        < exc.value.retry_at - datetime.now(UTC)
        <= timedelta(days=7, seconds=5)
    )
    assert len(sim.store.messages()) == 2


def test_send_without_quota_claims_nothing_and_sends_nothing(engine, sim):
    make_sender(engine, warmup_start=1, warmup_ceiling=1, daily_cap=1)
    service = sending_service(engine, sim.url, SIM_API_KEY)
    first = step_input(make_contact(engine))
    service.send_step(first)
    blocked = step_input(make_contact(engine))
    with pytest.raises(QuotaExhausted) as exc:
        service.send_step(blocked)
    assert exc.value.scope == "sender_day"
    with session_scope(engine) as s:
        assert s.get(Message, blocked.message_id) is None
    assert len(sim.store.messages()) == 1


def test_a_send_the_esp_refused_gives_its_quota_back(engine, sim):
    make_sender(engine, warmup_start=1, warmup_ceiling=1, daily_cap=1)
    service = sending_service(engine, sim.url, SIM_API_KEY)
    import httpx

    httpx.post(f"{sim.url}/_sim/faults", json={"status": 503, "count": 1}).raise_for_status()
    step = step_input(make_contact(engine))
    with pytest.raises(EspUnavailable):
        service.send_step(step)
    with session_scope(engine) as s:
        sender = s.get(Sender, "default")
        assert today(s, sender, datetime.now(UTC)).used == 0
    assert service.send_step(step).status == "sent"  # the retry finds the quota free


def test_paused_sender_sends_nothing(engine, sim):
    make_sender(engine)
    with session_scope(engine) as s:
        sender = s.get(Sender, "default")
        sender.paused_at = datetime.now(UTC)
        sender.paused_reason = "complaint rate"
        s.add(sender)
    service = sending_service(engine, sim.url, SIM_API_KEY)
    with pytest.raises(SenderPaused):
        service.send_step(step_input(make_contact(engine)))
    assert sim.store.messages() == []
