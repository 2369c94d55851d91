"""/api/enrollments/{workflow_id}/pause|resume|cancel: ops control of one enrollment, queued in
the outbox for the forwarder; unknown enrollments are 404, no token is 401."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.db import session_scope
from models.tables import Event, EventSignal
from tests.factories import make_contact, make_enrollment

AUTH = {"Authorization": "Bearer ops-token"}


@pytest.fixture
def api(client):
    client.app.state.settings.api_token = "ops-token"
    return client


@pytest.mark.parametrize(
    ("action", "signal"),
    [("pause", EventSignal.PAUSE), ("resume", EventSignal.RESUME), ("cancel", EventSignal.CANCEL)],
)
def test_control_of_one_enrollment_is_queued_for_its_workflow(api, api_engine, action, signal):
    workflow_id = make_enrollment(api_engine, make_contact(api_engine))
    response = api.post(
        f"/api/enrollments/{workflow_id}/{action}", json={"reason": "holiday"}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.json() == {
        "workflow_id": workflow_id,
        "queued": action,
    }
    with session_scope(api_engine) as s:
        [row] = s.exec(select(Event).where(Event.workflow_id == workflow_id)).all()
    assert row.signal == signal
    assert row.forwarded_at is None
    if action == "cancel":
        assert row.payload == {"reason": "holiday"}


def test_unknown_enrollment_is_404_and_bad_action_is_422(api):
    assert (
        api.post("/api/enrollments/nurture/trade_intro/nope/pause", headers=AUTH).status_code == 404
    )
    assert (
        api.post("/api/enrollments/nurture/trade_intro/x/explode", headers=AUTH).status_code == 422
    )


def test_control_needs_the_token(api, api_engine):
    workflow_id = make_enrollment(api_engine, make_contact(api_engine))
    assert api.post(f"/api/enrollments/{workflow_id}/cancel").status_code == 401
