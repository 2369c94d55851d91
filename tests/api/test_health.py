"""`/healthz` reports the API and its database."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from models.settings import Settings


def test_healthz_is_ok_when_the_database_answers(database_url):
    client = TestClient(create_app(Settings(database_url=database_url)))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable():
    url = "postgresql://nobody@127.0.0.1:1/nothing"
    client = TestClient(create_app(Settings(database_url=url)))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
