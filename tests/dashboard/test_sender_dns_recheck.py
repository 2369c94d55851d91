"""The daily sender DNS re-check against a static zone (never real DNS): each sender's result is
stored (the latest replaces the previous), a failing sender shows its failed checks and their
fixes on /senders, /api/senders carries the result, and /metrics has it as gauges."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from activities.deliverability.dns import StaticResolver
from activities.maintenance.dns_recheck import SenderDnsRechecker
from models.db import session_scope
from models.maintenance import DnsRecheckRequest
from models.tables import SenderDnsCheck, utcnow
from tests.activities.deliverability.test_dns import healthy_zone
from tests.dashboard.conftest import BEARER
from tests.dashboard.markup import Page
from tests.factories import make_sender
from tests.observability.conftest import scrape

GOOD = "good"
BROKEN = "broken"


def add_senders(engine: sa.Engine) -> None:
    make_sender(engine, GOOD, from_email="sales@example.com", reply_domain="reply.example.com")
    # Published nothing: no SPF, no DKIM, no DMARC, no MX.
    make_sender(engine, BROKEN, from_email="export@unpublished.example", reply_domain=None)


def recheck(engine: sa.Engine, resolver: StaticResolver, **kw: object):
    return SenderDnsRechecker(engine, resolver, inbound_domain="reply.example.com").recheck(
        DnsRecheckRequest(), **kw
    )


def test_each_senders_result_is_stored_and_the_latest_replaces_the_previous(dash_engine) -> None:
    add_senders(dash_engine)
    zone = healthy_zone()
    resolver = StaticResolver(zone)
    earlier = utcnow() - timedelta(days=1)

    first = recheck(dash_engine, resolver, now=earlier)

    assert [(o.sender_id, o.ok) for o in first.checked] == [(BROKEN, False), (GOOD, True)]
    assert first.failing == [BROKEN]
    assert first.checked[0].failed == ["SPF", "DKIM s1", "DKIM s2", "DMARC", "MX"]
    assert ("example.com", "TXT") in resolver.queries
    with session_scope(dash_engine) as s:
        rows = {row.sender_id: row for row in s.exec(select(SenderDnsCheck)).all()}
    assert rows[GOOD].ok
    assert rows[GOOD].checked_at == earlier
    assert rows[GOOD].counts["fail"] == 0
    assert rows[BROKEN].counts["fail"] >= 3
    assert {p["status"] for p in rows[BROKEN].problems} <= {"fail", "warn", "error"}
    assert all(p["fix"] for p in rows[BROKEN].problems if p["status"] == "fail")

    # The good domain drops its DMARC record: the next run says so, replacing the old result.
    del zone[("_dmarc.example.com", "TXT")]
    second = recheck(dash_engine, StaticResolver(zone))

    assert [(o.sender_id, o.ok) for o in second.checked] == [(BROKEN, False), (GOOD, False)]
    with session_scope(dash_engine) as s:
        rows = {row.sender_id: row for row in s.exec(select(SenderDnsCheck)).all()}
    assert len(rows) == 2
    assert rows[GOOD].checked_at > earlier
    assert [p["kind"] for p in rows[GOOD].problems if p["status"] == "fail"] == ["dmarc"]


def test_dns_that_does_not_answer_is_an_error_not_a_failure(dash_engine) -> None:
    make_sender(dash_engine, GOOD, from_email="sales@example.com", reply_domain="reply.example.com")

    result = recheck(dash_engine, StaticResolver(healthy_zone(), unavailable=["example.com"]))

    assert result.checked[0].ok  # nothing known to be wrong: no failure, errors shown
    with session_scope(dash_engine) as s:
        row = s.get(SenderDnsCheck, GOOD)
    assert row is not None
    assert row.counts["error"] >= 1


def test_senders_page_api_and_metrics_show_the_failing_checks(
    dash_client: TestClient, dash_engine
) -> None:
    add_senders(dash_engine)
    make_sender(dash_engine, "unchecked", from_email="new@example.com")
    SenderDnsRechecker(dash_engine, StaticResolver(healthy_zone())).recheck(
        DnsRecheckRequest(sender_ids=[GOOD, BROKEN])
    )

    response = dash_client.get("/senders", headers=BEARER)
    assert response.status_code == 200
    shown = Page(response.text)
    assert shown.text(f"sender-{GOOD}-dns-state") == "ok"
    assert shown.text(f"sender-{BROKEN}-dns-state") == "failing"
    assert shown.text("sender-unchecked-dns-state") == "not checked yet"
    problems = " ".join(shown.all(f"sender-{BROKEN}-dns-problem"))
    assert "SPF" in problems or "spf" in problems
    assert "DMARC" in problems or "dmarc" in problems

    api = {s["id"]: s for s in dash_client.get("/api/senders", headers=BEARER).json()}
    assert api[GOOD]["dns"]["ok"] is True
    assert api[BROKEN]["dns"]["ok"] is False
    assert api["unchecked"]["dns"] is None

    metrics = scrape(dash_client)
    assert metrics.value("nurture_sender_dns_ok", sender=GOOD) == 1
    assert metrics.value("nurture_sender_dns_ok", sender=BROKEN) == 0
    assert metrics.value("nurture_sender_dns_checks", sender=BROKEN, status="fail") >= 3
    assert metrics.value("nurture_sender_dns_checks", sender=GOOD, status="fail") == 0
    assert 0 <= metrics.value("nurture_sender_dns_check_age_seconds", sender=GOOD) < 60
    assert {"sender": "unchecked"} not in metrics.labels_of("nurture_sender_dns_ok")
