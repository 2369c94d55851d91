"""Integration fixtures: the API ⇄ simulator loop stack on the session's Temporal dev server
(`dev_server_address`, in tests/conftest.py)."""

from __future__ import annotations

import uuid

import pytest

from activities.events.signature import generate_key_pair
from models.settings import Settings
from simulator import running_simulator
from tests.integration.live_api import live_api

SIM_KEY = "SG.e2e-key"


@pytest.fixture
def loop_stack(database_url, dev_server_address):
    """API (with forwarder) ⇄ simulator (scripted) on free ports, plus settings for a worker."""
    private_pem, public_key = generate_key_pair()
    base = Settings(
        database_url=database_url,
        temporal_address=dev_server_address,
        task_queue=f"e2e-{uuid.uuid4()}",
        sendgrid_api_key=SIM_KEY,
        sendgrid_webhook_public_key=public_key,
        forwarder_poll_seconds=0.2,
        inbound_domain="in.example.test",
        api_token="e2e-token",
    )
    with (
        live_api(base) as api_url,
        running_simulator(
            SIM_KEY,
            webhook_url=f"{api_url}/webhooks/sendgrid/events",
            inbound_url=f"{api_url}/webhooks/sendgrid/inbound",
            private_key_pem=private_pem,
            flush_seconds=0.05,
        ) as sim,
    ):
        settings = base.model_copy(update={"sendgrid_host": sim.url, "public_url": api_url})
        yield settings, sim, api_url
