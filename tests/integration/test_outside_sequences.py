"""A sequence from an adopter's own package (NURTURE_SEQUENCES=northwind.sequences, outside
nurture's tree) runs end to end on the dev server: the API enrolls a contact in it, the worker
runs it and sends its first step, rendered from the package's own templates, to the simulator."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import worker as worker_module
from models.db import get_engine
from models.settings import Settings
from models.temporal_client import connect
from tests.factories import make_contact, make_sender
from tests.integration.live_api import live_api, until
from tests.sim_fixtures import SIM_API_KEY
from workflows.registry import configure

OUTSIDE = Path(__file__).resolve().parents[1] / "data" / "outside_sequences"
TOKEN = "outside-token"


@pytest.fixture
def outside_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The adopter's package importable, as `pip install` or PYTHONPATH would make it; the
    process forgets its sequences afterwards."""
    monkeypatch.syspath_prepend(str(OUTSIDE))
    yield
    configure(())


@pytest.fixture
def settings(
    migrated_templates, tmp_path: Path, sim, dev_server_address: str, outside_on_path
) -> Settings:
    return Settings(
        database_url=migrated_templates.sqlite_copy(tmp_path / "nurture.db"),
        temporal_address=dev_server_address,
        task_queue=f"outside-{uuid.uuid4()}",
        sendgrid_host=sim.url,
        sendgrid_api_key=SIM_API_KEY,
        api_token=TOKEN,
        sequences=["northwind.sequences"],
    )


async def test_a_sequence_from_an_outside_package_sends_its_first_step(settings, sim) -> None:
    engine = get_engine(settings.database_url)
    make_sender(engine)
    contact = make_contact(engine, first_name="Greta", company="Holm Import AB")
    client = await connect(settings)
    with (
        live_api(settings) as api_url,
        ThreadPoolExecutor(4) as pool,
    ):
        async with (
            worker_module.build_worker(client, settings, engine, executor=pool),
            httpx.AsyncClient(base_url=api_url) as api,
        ):
            response = await api.post(
                "/api/enrollments",
                json={"sequence": "northwind_welcome", "contact": {"email": contact.email}},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert response.status_code == 201, response.text
            workflow_id = response.json()["workflow_id"]
            assert workflow_id == f"nurture/northwind_welcome/{contact.id}"

            async def received() -> list[dict]:
                async with httpx.AsyncClient() as http:
                    messages = (await http.get(f"{sim.url}/_sim/messages")).json()
                return [m for m in messages if m["recipient"] == contact.email]

            mails = await until(received, lambda found: len(found) == 1)
            # It waits a week before its second step: the enrollment is live, one step sent.
            handle = client.get_workflow_handle(workflow_id)
            await asyncio.sleep(0.3)
            assert len(await received()) == 1
            await handle.terminate("test over")

    mail = mails[0]
    assert mail["subject"] == "Welcome to Northwind, Holm Import AB"
    assert mail["text"].startswith("Hi Greta,")
    assert "Thank you for signing up with Northwind Trading" in mail["text"]
    assert mail["custom_args"]["nurture_workflow_id"] == workflow_id
    description = await handle.describe()
    assert description.workflow_type == "northwind_welcome"


async def test_the_api_refuses_to_start_on_a_module_that_does_not_load(
    settings: Settings,
) -> None:
    from api.app import create_app
    from models.errors import SequenceLoadError

    broken = settings.model_copy(update={"sequences": ["northwind.nothing_here"]})
    with pytest.raises(SequenceLoadError, match=r"cannot import module 'northwind\.nothing_here'"):
        create_app(broken)
