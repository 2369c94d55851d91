"""`/api/contacts` and `/c/{token}`: token guard, JSON and CSV import reports (external_id
included), 422 on a body that is not rows, and double opt-in from the API call through the simulator to the confirmation."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from activities.contacts.consent import check_consent
from activities.contacts.double_opt_in import OptInLinks, OptInService
from activities.enrollment.sendgrid_transport import SendGridTransport
from api.app import create_app
from api.contacts import confirm_router, router
from models.db import get_engine, session_scope
from models.settings import Settings
from models.tables import ConsentAction, ConsentRecord, Contact
from models.tokens import TokenPurpose, sign
from tests.factories import PUBLIC_URL, SECRET, TEMPLATES, make_contact, make_sender
from tests.sim_fixtures import SIM_API_KEY

AUTH = {"Authorization": "Bearer dev-api-token"}


@pytest.fixture
def contacts_client(api_settings: Settings, sim) -> Iterator[TestClient]:
    """The app with the contacts routers and an opt-in service mailing into the simulator
    (added here until api/app.py and api/services.py wire them)."""
    app = create_app(api_settings, run_forwarder=False)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/c/{token}" not in paths:
        app.include_router(router)
        app.include_router(confirm_router)
    engine = get_engine(api_settings.effective_database_url)
    app.state.services.opt_in = OptInService(
        engine,
        SendGridTransport(api_key=SIM_API_KEY, host=sim.url, timeout_seconds=5),
        OptInLinks(PUBLIC_URL, SECRET),
        TEMPLATES,
    )
    with TestClient(app) as client:
        yield client


def test_contacts_api_without_token_is_401(contacts_client: TestClient) -> None:
    assert contacts_client.post("/api/contacts", json=[]).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert contacts_client.post("/api/contacts", json=[], headers=wrong).status_code == 401


def test_json_rows_import_with_a_report_per_row(
    contacts_client: TestClient, api_engine: sa.Engine
) -> None:
    rows = [
        {"email": "a@buyer.example.com", "country": "US", "consent_source": "web form"},
        {"email": "b@mailinator.com"},
        {"email": "c@buyer.example.com", "consent_time": "soon", "consent_source": "x"},
    ]
    response = contacts_client.post("/api/contacts", json=rows, headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["needs_opt_in"]) == (
        1,
        0,
        0,
        0,
    )
    assert [(p["row_number"], p["field"]) for p in body["rejected"]] == [
        (2, "email"),
        (3, "consent_time"),
    ]
    with session_scope(api_engine) as s:
        assert [c.email for c in s.exec(select(Contact)).all()] == ["a@buyer.example.com"]


def test_external_id_by_api_is_set_and_one_another_contact_holds_is_refused(
    contacts_client: TestClient, api_engine: sa.Engine
) -> None:
    holder = make_contact(api_engine, external_id="crm-001")
    rows = [
        {"email": "new@buyer.example.com", "external_id": "crm-001"},
        {"email": "other@buyer.example.com", "external_id": "crm-002"},
    ]

    body = contacts_client.post("/api/contacts", json=rows, headers=AUTH).json()

    assert body["created"] == 1
    [problem] = body["rejected"]
    assert (problem["row_number"], problem["field"]) == (1, "external_id")
    assert str(holder.id) in problem["reason"]
    with session_scope(api_engine) as s:
        held = {c.email: c.external_id for c in s.exec(select(Contact)).all()}
    assert held == {holder.email: "crm-001", "other@buyer.example.com": "crm-002"}


@pytest.mark.parametrize("body", [{"email": "a@b.example.com"}, ["a@b.example.com"], "x"])
def test_body_that_is_not_a_list_of_objects_is_422(contacts_client: TestClient, body) -> None:
    response = contacts_client.post("/api/contacts", json=body, headers=AUTH)
    assert response.status_code == 422


def test_csv_body_imports_and_an_unreadable_one_names_the_problem(
    contacts_client: TestClient,
) -> None:
    csv = "email,first_name\nwang@maoyi.example.cn,伟\n"
    response = contacts_client.post(
        "/api/contacts/import",
        content=csv.encode("gbk"),
        headers={**AUTH, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200
    assert response.json()["created"] == 1
    assert response.json()["needs_opt_in"] == 1

    response = contacts_client.post(
        "/api/contacts/import",
        content=b"name\nAnna\n",
        headers={**AUTH, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "email"]


def test_opt_in_from_api_call_to_confirmed_consent(
    contacts_client: TestClient, api_engine: sa.Engine, sim
) -> None:
    make_sender(api_engine)
    contact = make_contact(api_engine, consent=None)

    response = contacts_client.post(f"/api/contacts/{contact.id}/opt-in", headers=AUTH)

    assert response.status_code == 200
    assert response.json()["status"] == "sent"
    [mail] = sim.store.messages(recipient=contact.email)
    path = re.search(r"/c/[a-z2-7]+", mail.text or "").group(0)  # type: ignore[union-attr]
    page = contacts_client.get(path)
    assert page.status_code == 200
    assert "<form method=post" in page.text
    with session_scope(api_engine) as s:
        assert s.exec(select(ConsentRecord)).all() == []  # GET confirms nothing

    confirmed = contacts_client.post(path, follow_redirects=False)

    assert confirmed.status_code == 200
    assert "set-cookie" not in confirmed.headers
    with session_scope(api_engine) as s:
        [record] = s.exec(select(ConsentRecord)).all()
        assert record.action == ConsentAction.CONFIRMED
        check_consent(s, contact)


def test_forged_confirm_token_is_404(contacts_client: TestClient, api_engine: sa.Engine) -> None:
    contact = make_contact(api_engine, consent=None)
    forged = sign("not-our-secret", TokenPurpose.CONFIRM, str(contact.id))

    assert contacts_client.get(f"/c/{forged}").status_code == 404
    assert contacts_client.post(f"/c/{forged}").status_code == 404
    assert contacts_client.post("/c/garbage").status_code == 404
    with session_scope(api_engine) as s:
        assert s.exec(select(ConsentRecord)).all() == []


def test_opt_in_for_unknown_contact_or_sender(
    contacts_client: TestClient, api_engine: sa.Engine
) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert contacts_client.post(f"/api/contacts/{missing}/opt-in", headers=AUTH).status_code == 404
    contact = make_contact(api_engine, consent=None)
    response = contacts_client.post(
        f"/api/contacts/{contact.id}/opt-in", params={"sender_id": "nobody"}, headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "sender_id"]
