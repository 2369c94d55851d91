"""API test fixtures: an app on a migrated database with a webhook key pair, and signed posting."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from activities.events.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, generate_key_pair, sign
from api.app import create_app
from models.db import get_engine
from models.settings import Settings
from tests.factories import INBOUND_DOMAIN, PUBLIC_URL, SECRET


@pytest.fixture(scope="session")
def webhook_keys() -> tuple[str, str]:
    """(private PEM, public base64 DER): a real ECDSA P-256 pair made for this test run."""
    return generate_key_pair()


@pytest.fixture
def api_settings(database_url: str, webhook_keys: tuple[str, str]) -> Settings:
    return Settings(
        database_url=database_url,
        sendgrid_webhook_public_key=webhook_keys[1],
        secret_key=SECRET,
        public_url=PUBLIC_URL,
        inbound_domain=INBOUND_DOMAIN,
        temporal_address="127.0.0.1:1",  # no Temporal: these tests drive the forwarder themselves
    )


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, run_forwarder=False)) as test_client:
        yield test_client


@pytest.fixture
def api_engine(api_settings: Settings) -> sa.Engine:
    return get_engine(api_settings.effective_database_url)


class SignedPoster:
    """Posts event batches signed like SendGrid (or tampered, for the tests that need it)."""

    def __init__(self, client: TestClient, private_pem: str) -> None:
        self.client = client
        self.private_pem = private_pem

    def post(
        self,
        events: list[dict[str, Any]] | bytes,
        *,
        key: str | None = None,
        timestamp: int | None = None,
        tamper: bool = False,
    ) -> Any:
        body = events if isinstance(events, bytes) else json.dumps(events).encode()
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = sign(key or self.private_pem, body, ts)
        if tamper:
            body = body.replace(b"open", b"click", 1) if b"open" in body else body + b" "
        return self.client.post(
            "/webhooks/sendgrid/events",
            content=body,
            headers={
                SIGNATURE_HEADER: signature,
                TIMESTAMP_HEADER: ts,
                "Content-Type": "application/json",
            },
        )


@pytest.fixture
def poster(client: TestClient, webhook_keys: tuple[str, str]) -> SignedPoster:
    return SignedPoster(client, webhook_keys[0])
