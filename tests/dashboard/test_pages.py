"""The dashboard pages on the FastAPI test client: who gets in (bearer, login cookie, nobody
else), every page rendered from seeded data, the funnel equal to `GET /api/cohorts/{id}`, links
to contacts and to the Temporal UI, and hostile text escaped."""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.dashboard.session import COOKIE_NAME, SESSION_SECONDS, session_cookie, session_valid
from api.dashboard.views import funnel_view, temporal_workflow_url
from models.db import session_scope
from models.settings import Settings
from models.tables import Enrollment, Sender, utcnow
from tests.dashboard.conftest import API_TOKEN, BEARER, TEMPORAL_UI, SeededCohort, seed_cohort
from tests.dashboard.markup import Page
from tests.factories import make_contact

PAGES = ["/", "/senders", "/events", "/cohorts/some-cohort", f"/contacts/{uuid.uuid4()}"]


def page(client: TestClient, path: str) -> Page:
    response = client.get(path, headers=BEARER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return Page(response.text)


def login(client: TestClient, token: str = API_TOKEN, next: str = "/") -> httpx.Response:
    return client.post("/login", data={"token": token, "next": next})


# -- who gets in ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_page_without_credentials_redirects_to_login(dash_client: TestClient, path: str) -> None:
    response = dash_client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={quote(path)}"


def test_wrong_bearer_token_is_401_and_the_right_one_opens_the_page(
    dash_client: TestClient,
) -> None:
    wrong = dash_client.get("/", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert dash_client.get("/", headers=BEARER).status_code == 200


def test_login_with_the_token_sets_an_httponly_lax_cookie_that_opens_pages(
    dash_client: TestClient,
) -> None:
    form = dash_client.get("/login?next=/senders")
    assert form.status_code == 200
    assert 'name="next" value="/senders"' in form.text
    response = login(dash_client, next="/senders")
    assert response.status_code == 303
    assert response.headers["location"] == "/senders"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert f"Max-Age={SESSION_SECONDS}" in cookie
    assert API_TOKEN not in cookie
    assert dash_client.get("/senders").status_code == 200
    assert dash_client.get("/events").status_code == 200


def test_login_with_a_wrong_token_is_refused_without_a_cookie(dash_client: TestClient) -> None:
    response = login(dash_client, token="guess")
    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert Page(response.text).text("login-error") == "That token is not accepted."
    assert dash_client.get("/").status_code == 303


def test_logout_ends_the_session(dash_client: TestClient) -> None:
    login(dash_client)
    assert dash_client.get("/").status_code == 200
    response = dash_client.post("/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert dash_client.get("/").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "\\\\evil", ""])
def test_login_goes_back_only_to_a_path_of_this_site(dash_client: TestClient, target: str) -> None:
    assert login(dash_client, next=target).headers["location"] == "/"


def test_forged_expired_or_stale_cookies_are_refused(dash_settings: Settings) -> None:
    now = time.time()
    good = session_cookie(dash_settings, API_TOKEN, now)
    assert session_valid(dash_settings, good, now)
    expiry, _, mac = good.partition(".")
    assert not session_valid(dash_settings, f"{int(expiry) + 3600}.{mac}", now)  # moved expiry
    assert not session_valid(dash_settings, good, now + SESSION_SECONDS + 1)  # expired
    assert not session_valid(dash_settings.model_copy(update={"secret_key": "other"}), good, now)
    assert not session_valid(dash_settings.model_copy(update={"api_token": "rotated"}), good, now)
    assert not session_valid(dash_settings, "garbage", now)
    assert not session_valid(dash_settings, None, now)


def test_a_cookie_signed_with_another_secret_redirects_to_login(
    dash_client: TestClient, dash_settings: Settings
) -> None:
    forged = session_cookie(dash_settings.model_copy(update={"secret_key": "attacker"}), API_TOKEN)
    dash_client.cookies.set(COOKIE_NAME, forged)
    assert dash_client.get("/").status_code == 303


def test_without_an_api_token_nobody_gets_in(dash_settings: Settings) -> None:
    from api.app import create_app

    closed = dash_settings.model_copy(update={"api_token": ""})
    with TestClient(create_app(closed, run_forwarder=False), follow_redirects=False) as client:
        assert client.get("/", headers={"Authorization": "Bearer "}).status_code == 401
        assert login(client, token="").status_code == 401
        assert client.get("/").status_code == 303
        assert Page(client.get("/login").text).all("login-closed")


def test_pages_are_not_cached_framed_or_allowed_to_load_anything(dash_client: TestClient) -> None:
    response = dash_client.get("/", headers=BEARER)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "<script" not in response.text


# -- pages ---------------------------------------------------------------------------------------


def test_every_page_renders_with_seeded_data(dash_client: TestClient, seeded: SeededCohort) -> None:
    for path in [
        "/",
        f"/cohorts/{seeded.cohort_id}",
        "/senders",
        "/events",
        f"/contacts/{seeded.contacts[0].id}",
        f"/contacts/{seeded.skipped.id}",
    ]:
        page(dash_client, path)


def test_empty_pages_say_there_is_nothing_yet(dash_client: TestClient) -> None:
    assert page(dash_client, "/").all("no-cohorts")
    assert page(dash_client, "/senders").all("no-senders")
    assert page(dash_client, "/events").all("no-events")


def test_cohort_list_shows_each_cohort_with_its_counts_and_a_link(
    dash_client: TestClient, seeded: SeededCohort
) -> None:
    cohorts = page(dash_client, "/")
    assert cohorts.all("cohort-link") == [seeded.name]
    assert f"/cohorts/{seeded.cohort_id}" in cohorts.links
    assert cohorts.number(f"cohort-{seeded.cohort_id}-members") == 5
    assert cohorts.number(f"cohort-{seeded.cohort_id}-enrolled") == 4


def test_cohort_page_numbers_equal_the_api(dash_client: TestClient, seeded: SeededCohort) -> None:
    api = dash_client.get(f"/api/cohorts/{seeded.cohort_id}", headers=BEARER).json()
    shown = page(dash_client, f"/cohorts/{seeded.cohort_id}")
    for key in ("members", "enrolled", "skipped", "pending"):
        assert shown.number(f"cohort-{key}") == api[key], key
    assert shown.text("cohort-name") == api["name"]
    assert sorted(s["step"] for s in api["steps"]) == ["case_study", "intro"]
    for step in api["steps"]:
        key = step["step"] + (f"-{step['variant']}" if step.get("variant") else "")
        for metric, count in step["counts"].items():
            assert shown.number(f"funnel-{key}-{metric}") == count, (key, metric)
    for outcome, count in api["outcomes"].items():
        assert shown.number(f"outcome-{outcome}") == count
    # The seeded events did reach the funnel: the comparison is not between zeros.
    intro = api["steps"][0]["counts"]
    assert intro["sent"] == 4
    assert intro["delivered"] == 4
    assert intro["opened_human"] == 1
    assert intro["opened_machine"] == 1
    assert intro["clicked"] == 1
    assert intro["bounced_hard"] == 1
    assert intro["unsubscribed"] == 1
    assert api["outcomes"] == {"running": 3, "bounced": 1}


def test_cohort_page_shows_conversions_per_step_and_goal_as_the_api(
    dash_client: TestClient, dash_engine: sa.Engine, seeded: SeededCohort
) -> None:
    with session_scope(dash_engine) as s:
        enrollment = s.get(Enrollment, seeded.intro[1].workflow_id)
        assert enrollment is not None
        enrollment.outcome, enrollment.outcome_event = "converted", "meeting_booked"
        enrollment.ended_at = utcnow()
        s.add(enrollment)

    api = dash_client.get(f"/api/cohorts/{seeded.cohort_id}", headers=BEARER).json()
    shown = page(dash_client, f"/cohorts/{seeded.cohort_id}")

    [intro] = [step for step in api["steps"] if step["step"] == "intro"]
    assert intro["counts"]["converted"] == 1
    assert api["goals"] == {"meeting_booked": 1}
    assert shown.number("funnel-intro-converted") == 1
    assert shown.number("goal-meeting_booked") == 1
    assert shown.number("outcome-converted") == 1


def test_cohort_page_draws_a_bar_per_stage_and_step(
    dash_client: TestClient, seeded: SeededCohort
) -> None:
    shown = page(dash_client, f"/cohorts/{seeded.cohort_id}")
    assert shown.all("funnel-chart")
    assert shown.html.count('<g class="bar"') == 12  # 6 stages (sent … converted) × 2 steps
    assert "intro: Sent 4" in shown.html


def test_enrollments_link_to_their_contact_and_their_workflow_in_the_temporal_ui(
    dash_client: TestClient, seeded: SeededCohort
) -> None:
    shown = page(dash_client, f"/cohorts/{seeded.cohort_id}")
    assert shown.number("enrollments-total") == 4
    contact_links = [a["href"] for a in shown.attrs_of["contact-link"]]
    assert sorted(contact_links) == sorted(f"/contacts/{c.id}" for c in seeded.contacts)
    assert shown.all("contact-link") == ["Anna Schmidt"] * 4  # names, not addresses
    temporal = [a["href"] for a in shown.attrs_of["temporal-link"]]
    expected = {
        f"{TEMPORAL_UI}/namespaces/default/workflows/nurture%2Ftrade_intro%2F{c.id}"
        for c in seeded.contacts
    }
    assert set(temporal) == expected
    for link in shown.links:  # personal data stays out of URLs
        assert "@" not in link


def test_temporal_ui_link_encodes_namespace_and_workflow_id() -> None:
    assert (
        temporal_workflow_url("http://ui:8233/", "prod ns", "nurture/x/1")
        == "http://ui:8233/namespaces/prod%20ns/workflows/nurture%2Fx%2F1"
    )


def test_unknown_cohort_or_contact_is_404(dash_client: TestClient) -> None:
    assert dash_client.get("/cohorts/nope", headers=BEARER).status_code == 404
    missing = dash_client.get(f"/contacts/{uuid.uuid4()}", headers=BEARER)
    assert missing.status_code == 404
    assert Page(missing.text).all("not-found")


def test_senders_page_shows_quota_ramp_rates_and_why_a_sender_paused(
    dash_client: TestClient, seeded: SeededCohort
) -> None:
    api = dash_client.get("/api/senders/default", headers=BEARER).json()
    shown = page(dash_client, "/senders")
    assert shown.number("sender-default-quota-used") == api["quota_today"]["used"]
    assert shown.number("sender-default-quota-cap") == api["quota_today"]["cap"]
    assert shown.number("sender-default-ramp-day") == api["warmup"]["day"] == 1
    assert shown.number("sender-default-sent") == api["health"]["sent"] == 5
    # One hard bounce in five sends is over the 2 % bound: the ingest paused the sender.
    assert shown.text("sender-default-bounce-rate").startswith("20.00 %")
    assert shown.text("sender-default-complaint-rate").startswith("0.00 %")
    assert shown.text("sender-default-state") == "paused"
    assert shown.text("sender-default-paused-reason") == api["paused_reason"]
    assert "hard-bounce rate" in api["paused_reason"]


def test_events_page_lists_recent_events_newest_first_with_contact_links(
    dash_client: TestClient, seeded: SeededCohort
) -> None:
    shown = page(dash_client, "/events")
    kinds = [a["data-kind"] for a in shown.attrs_of["event-row"]]
    assert sorted(kinds) == sorted(
        ["delivered"] * 4 + ["open", "click", "open", "bounce", "unsubscribe"]
    )
    assert {a["href"] for a in shown.attrs_of["event-contact-link"]} == {
        f"/contacts/{c.id}" for c in seeded.contacts
    }
    opens = page(dash_client, "/events?kind=open")
    assert [a["data-kind"] for a in opens.attrs_of["event-row"]] == ["open", "open"]
    assert len(page(dash_client, "/events?limit=3").attrs_of["event-row"]) == 3
    assert dash_client.get("/events?kind=nonsense", headers=BEARER).status_code == 422


def test_contact_page_shows_consent_enrollments_messages_and_events_in_order(
    dash_client: TestClient, seeded: SeededCohort
) -> None:
    first = seeded.contacts[0]
    shown = page(dash_client, f"/contacts/{first.id}")
    assert shown.text("contact-id") == str(first.id)
    assert shown.text("contact-email") == first.email
    assert shown.text("contact-consent") == "granted"
    entries = [(a["data-kind"], a["data-label"]) for a in shown.attrs_of["timeline-entry"]]
    kinds = [kind for kind, _ in entries]
    assert entries[0] == ("consent", "granted")
    assert kinds.index("enrolled") < kinds.index("message") < kinds.index("event")
    assert ("enrolled", "trade_intro") in entries
    assert [label for kind, label in entries if kind == "message"] == ["sent", "sent"]
    assert {label for kind, label in entries if kind == "event"} == {"delivered", "open", "click"}
    assert "url: https://example.com/specifications" in shown.html
    assert shown.attrs_of["temporal-link"][0]["href"].startswith(f"{TEMPORAL_UI}/namespaces/")


def test_contact_page_shows_the_external_id_escaped_or_a_dash(
    dash_client: TestClient, dash_engine: sa.Engine
) -> None:
    crm = make_contact(dash_engine, external_id="crm-<b>4711</b>")
    plain = make_contact(dash_engine)

    shown = page(dash_client, f"/contacts/{crm.id}")

    assert shown.text("contact-external-id") == "crm-<b>4711</b>"
    assert "<b>4711" not in shown.html
    assert page(dash_client, f"/contacts/{plain.id}").text("contact-external-id") == "—"


def test_contact_page_shows_withdrawal_and_suppression_after_an_unsubscribe(
    dash_client: TestClient, seeded: SeededCohort
) -> None:
    shown = page(dash_client, f"/contacts/{seeded.contacts[3].id}")
    assert shown.text("contact-consent") == "withdrawn"
    assert "unsubscribe" in shown.text("contact-suppression")
    kinds = [a["data-kind"] for a in shown.attrs_of["timeline-entry"]]
    assert "suppressed" in kinds
    assert kinds.count("consent") == 2


def test_hostile_names_are_escaped_on_every_page(
    dash_client: TestClient, dash_engine: sa.Engine, webhook_keys: tuple[str, str]
) -> None:
    script = "<script>alert('x')</script>"
    hostile = seed_cohort(
        dash_engine,
        dash_client,
        webhook_keys[0],
        name=f'Q4 "{script}"',
        company=f"ACME {script} & Sons",
    )
    with session_scope(dash_engine) as s:
        sender = s.get(Sender, "default")
        assert sender is not None
        sender.from_name = f"<img src=x onerror=alert(1)>{script}"
        s.add(sender)
    for path in [
        "/",
        f"/cohorts/{hostile.cohort_id}",
        "/senders",
        "/events",
        f"/contacts/{hostile.contacts[0].id}",
    ]:
        html = dash_client.get(path, headers=BEARER).text
        assert "<script" not in html, path
        assert "<img" not in html, path
    contact = page(dash_client, f"/contacts/{hostile.contacts[0].id}")
    assert contact.text("contact-company") == f"ACME {script} & Sons"
    assert "&lt;script&gt;" in contact.html
    assert page(dash_client, f"/cohorts/{hostile.cohort_id}").text("cohort-name") == (
        f'Q4 "{script}"'
    )


# -- the funnel view -----------------------------------------------------------------------------


class _VariantStep(BaseModel):
    step: str
    variant: str | None = None
    counts: dict[str, int]
    rates: dict[str, float] = {}


def test_funnel_view_shows_a_row_per_variant_when_steps_carry_one() -> None:
    view = funnel_view(
        [
            _VariantStep(step="intro", variant="A", counts={"sent": 10, "clicked": 2}),
            _VariantStep(step="intro", variant="B", counts={"sent": 8, "clicked": 3, "x_new": 1}),
            _VariantStep(step="offer", counts={"sent": 0}),
        ]
    )
    assert [r.key for r in view.rows] == ["intro-A", "intro-B", "offer"]
    assert [m for m, _ in view.columns] == ["sent", "clicked", "x_new"]
    assert [g.title for g in view.chart.groups] == ["intro · A", "intro · B", "offer"]
    widest = max(b.width for g in view.chart.groups for b in g.bars)
    assert widest == next(b.width for b in view.chart.groups[0].bars if b.metric == "sent")
