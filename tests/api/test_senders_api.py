"""/api/senders: bearer token required; create, list, change, pause and resume senders; today's
quota, warm-up day and health figures visible."""

from __future__ import annotations

import pytest

AUTH = {"Authorization": "Bearer test-token"}
BODY = {
    "id": "ningbo",
    "from_email": "Li.Wei@Ningbo-Parts.example",
    "from_name": "Li Wei",
    "postal_address": "88 Harbour Road, Ningbo",
    "time_zone": "Asia/Shanghai",
    "warmup_start": 20,
    "warmup_growth": 1.3,
    "warmup_ceiling": 200,
}


@pytest.fixture
def api(client, api_settings):
    client.app.state.settings.api_token = "test-token"
    return client


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic test-token"}]
)
def test_api_without_the_right_bearer_token_is_401(api, headers):
    response = api.get("/api/senders", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_create_then_read_a_sender_with_quota_and_health(api):
    created = api.post("/api/senders", json=BODY, headers=AUTH)
    assert created.status_code == 201
    sender = created.json()
    assert sender["from_email"] == "li.wei@ningbo-parts.example"
    assert sender["warmup"]["day"] == 1
    assert sender["quota_today"] == {
        **sender["quota_today"],
        "cap": 20,
        "used": 0,
    }
    assert sender["health"]["sent"] == 0
    assert sender["paused"] is False
    assert [s["id"] for s in api.get("/api/senders", headers=AUTH).json()] == ["ningbo"]


def test_creating_twice_or_with_bad_fields_is_a_clear_4xx(api):
    api.post("/api/senders", json=BODY, headers=AUTH)
    again = api.post("/api/senders", json=BODY, headers=AUTH)
    assert again.status_code == 422
    assert "exists" in str(again.json())
    bad_zone = api.post(
        "/api/senders", json={**BODY, "id": "x", "time_zone": "Mars/Olympus"}, headers=AUTH
    )
    assert bad_zone.status_code == 422
    assert "time_zone" in str(bad_zone.json())
    bad_cap = api.post("/api/senders", json={**BODY, "id": "y", "daily_cap": 0}, headers=AUTH)
    assert bad_cap.status_code == 422
    assert "daily_cap" in str(bad_cap.json())
    assert [s["id"] for s in api.get("/api/senders", headers=AUTH).json()] == ["ningbo"]


def test_pause_and_resume_by_ops(api):
    api.post("/api/senders", json=BODY, headers=AUTH)
    paused = api.post(
        "/api/senders/ningbo/pause", json={"reason": "DNS migration"}, headers=AUTH
    ).json()
    assert paused["paused"]
    assert paused["paused_reason"] == "paused by ops: DNS migration"
    resumed = api.post("/api/senders/ningbo/resume", headers=AUTH).json()
    assert not resumed["paused"]
    assert resumed["paused_reason"] is None


def test_change_caps(api):
    api.post("/api/senders", json=BODY, headers=AUTH)
    changed = api.patch(
        "/api/senders/ningbo", json={"daily_cap": 10, "domain_hourly_cap": 2}, headers=AUTH
    )
    assert changed.json()["daily_cap"] == 10
    assert changed.json()["quota_today"]["cap"] == 10


def test_unknown_sender_is_404(api):
    assert api.get("/api/senders/nope", headers=AUTH).status_code == 404
    assert api.post("/api/senders/nope/resume", headers=AUTH).status_code == 404


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # UTC+14, UTC−11
def test_the_ramp_starts_on_the_senders_own_today(api, zone):
    # Between them, at any hour of the UTC day, one zone's date differs from UTC's.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    created = api.post("/api/senders", json={**BODY, "time_zone": zone}, headers=AUTH).json()
    assert created["warmup"]["started_on"] == datetime.now(ZoneInfo(zone)).date().isoformat()
    assert created["warmup"]["day"] == 1
    assert created["quota_today"]["cap"] == 20
