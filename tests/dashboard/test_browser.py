"""The dashboard in a real browser on a running stack: Temporal dev server (with its UI), a
worker, the API with its forwarder, and the ESP simulator playing SendGrid. A cohort is started
through the API, the simulator posts signed events back, and headless Chromium (Debian's
`/usr/bin/chromium`, driven by Playwright; never `playwright install`) logs in, reads the funnel
and compares it with `GET /api/cohorts/{id}`, clicks through to a contact and to the Temporal UI.
Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import worker as worker_module
from activities.events.signature import generate_key_pair
from cli.processes import free_port, temporal_dev_server
from models.db import get_engine, upgrade
from models.settings import PROJECT_ROOT, Settings
from models.tables import Contact
from models.temporal_client import connect
from simulator import running_simulator
from tests.factories import make_contact, make_sender
from tests.integration.live_api import live_api, until

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
SIM_KEY = "SG.browser-key"
TOKEN = "browser-test-token"
#: trade_intro waits days between steps: the enrollments stay put while the browser looks.
SLOW = {"open_window": "P2D", "case_study_after": "P4D", "offer_after": "P4D"}

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests need Debian's chromium at /usr/bin/chromium "
        "(`apt-get install chromium`; `make test` installs it where apt is available)",
    ),
    pytest.mark.timeout(240),
]
playwright_api = pytest.importorskip(
    "playwright.async_api",
    reason="browser tests need Playwright's Python package (`pip install -e '.[dev]'`)",
)


@dataclass
class Stack:
    api_url: str
    ui_url: str
    cohort_id: str
    contacts: list[Contact]
    settings: Settings

    async def api(self, path: str) -> Any:
        async with httpx.AsyncClient(
            base_url=self.api_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        ) as http:
            response = await http.get(path)
            response.raise_for_status()
            return response.json()


@pytest.fixture(scope="module")
def temporal_with_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """An in-memory Temporal dev server and its web UI: (frontend address, UI base URL)."""
    port, ui_port = free_port(), free_port()
    server = temporal_dev_server(
        tmp_path_factory.mktemp("browser-temporal"), db_file=None, port=port, ui_port=ui_port
    ).start()
    try:
        server.wait_for_port(port, timeout=60)
        server.wait_for_port(ui_port, timeout=60)
        yield f"127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}"
    finally:
        server.stop()


async def script(sim_url: str, **body: Any) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{sim_url}/_sim/events", json=body)
        assert response.status_code == 202, response.text


async def run_cohort(api_url: str, sim: Any, contacts: list[Contact]) -> str:
    """Start a cohort through the API and play SendGrid's answers; returns the cohort id once
    the funnel has settled. The click comes first and its offer goes out before the bounce,
    since the bounce pauses the sender (one hard bounce in five sends)."""
    async with httpx.AsyncClient(
        base_url=api_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as http:
        started = await http.post(
            "/api/cohorts",
            json={
                "name": "Hannover Messe leads",
                "sequence": "trade_intro",
                "segment": "country=DE",
                "params": SLOW,
                "send_windows": False,
            },
        )
        assert started.status_code == 201, started.text
        cohort_id: str = started.json()["cohort_id"]

        async def sent() -> int:
            return len(sim.store.messages())

        await until(sent, lambda n: n == 4)
        by_recipient = {m.recipient: m for m in sim.store.messages()}
        ids = [by_recipient[c.email].custom_args["nurture_message_id"] for c in contacts]
        for message_id in ids:
            await script(sim.url, message_id=message_id, event="delivered")
        await script(sim.url, message_id=ids[0], event="open")
        await script(sim.url, message_id=ids[0], event="click", url="https://example.com/specs")
        await until(sent, lambda n: n == 5)  # the click brought the offer forward
        await script(sim.url, message_id=ids[1], event="open", sg_machine_open=True)
        await script(sim.url, message_id=ids[2], event="bounce", status="5.1.1", type="bounce")
        await script(sim.url, message_id=ids[3], reply={"text": "Please call me."})

        async def funnel() -> dict[str, Any]:
            response = await http.get(f"/api/cohorts/{cohort_id}")
            return response.json()  # type: ignore[no-any-return]

        def settled(f: dict[str, Any]) -> bool:
            steps = {s["step"]: s["counts"] for s in f["steps"]}
            intro = steps.get("intro", {})
            return (
                steps.get("offer", {}).get("sent") == 1
                and intro.get("delivered") == 4
                and intro.get("clicked") == 1
                and intro.get("opened_machine") == 1
                and intro.get("bounced_hard") == 1
                and intro.get("replied_human") == 1
                and f["outcomes"] == {"completed": 1, "bounced": 1, "replied": 1, "running": 1}
            )

        await until(funnel, settled)
    return cohort_id


@pytest.fixture(scope="module")
async def stack(
    temporal_with_ui: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """The running stack (API with forwarder, simulator, worker) with a settled cohort of four."""
    address, ui_url = temporal_with_ui
    database_url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'nurture.db'}"
    upgrade(database_url)
    private_pem, public_key = generate_key_pair()
    base = Settings(
        database_url=database_url,
        temporal_address=address,
        temporal_ui_url=ui_url,
        task_queue=f"browser-{uuid.uuid4()}",
        sendgrid_api_key=SIM_KEY,
        sendgrid_webhook_public_key=public_key,
        forwarder_poll_seconds=0.2,
        inbound_domain="in.example.test",
        api_token=TOKEN,
    )
    engine = get_engine(database_url)
    make_sender(engine)
    contacts = [
        make_contact(
            engine,
            email=f"buyer{i}@importer{i}.example.de",
            first_name=name,
            company=f"{name} Maschinenbau GmbH",
        )
        for i, name in enumerate(["Anna", "Bernd", "Clara", "Dieter"])
    ]
    with (
        live_api(base) as api_url,
        running_simulator(
            SIM_KEY,
            webhook_url=f"{api_url}/webhooks/sendgrid/events",
            inbound_url=f"{api_url}/webhooks/sendgrid/inbound",
            private_key_pem=private_pem,
            flush_seconds=0.05,
        ) as sim,
        ThreadPoolExecutor(4) as pool,
    ):
        settings = base.model_copy(update={"sendgrid_host": sim.url, "public_url": api_url})
        client = await connect(settings)
        async with worker_module.build_worker(client, settings, engine, executor=pool):
            cohort_id = await run_cohort(api_url, sim, contacts)
            yield Stack(api_url, ui_url, cohort_id, contacts, settings)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        await context.close()


async def shoot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def log_in(page: Any, stack: Stack, path: str) -> None:
    """Open a page, get sent to the login form, log in with the token, land on the page."""
    await page.goto(f"{stack.api_url}{path}")
    assert "/login" in page.url
    await page.fill("#token", TOKEN)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_url(f"{stack.api_url}{path}")


async def test_login_form_refuses_a_wrong_token(stack: Stack, page: Any) -> None:
    await page.goto(f"{stack.api_url}/")
    await page.fill("#token", "not-the-token")
    await page.click("[data-testid=login-submit]")
    assert "not accepted" in await page.inner_text("[data-testid=login-error]")
    await page.goto(f"{stack.api_url}/senders")
    assert "/login" in page.url


async def test_funnel_shown_in_the_browser_equals_the_api(stack: Stack, page: Any) -> None:
    await log_in(page, stack, "/")
    await page.click(f"[data-cohort-id='{stack.cohort_id}'] [data-testid=cohort-link]")
    await page.wait_for_url(f"{stack.api_url}/cohorts/{stack.cohort_id}")
    api = await stack.api(f"/api/cohorts/{stack.cohort_id}")

    shown: dict[tuple[str, str, str], int] = {}
    for cell in await page.locator("[data-testid=funnel] [data-metric]").all():
        step = await cell.get_attribute("data-step")
        variant = await cell.get_attribute("data-variant")
        metric = await cell.get_attribute("data-metric")
        shown[(step, variant or "", metric)] = int(await cell.inner_text())
    expected = {
        (s["step"], s.get("variant") or "", metric): n
        for s in api["steps"]
        for metric, n in s["counts"].items()
    }
    assert shown == expected
    assert expected[("intro", "", "sent")] == 4
    assert expected[("intro", "", "clicked")] == 1
    for key in ("members", "enrolled", "skipped"):
        assert int(await page.inner_text(f"[data-testid=cohort-{key}]")) == api[key]
    for outcome, n in api["outcomes"].items():
        assert int(await page.inner_text(f"[data-testid=outcome-{outcome}]")) == n
    assert await page.locator("[data-testid=funnel-chart] g.bar").count() >= 5
    await shoot(page, "cohort")

    await page.goto(f"{stack.api_url}/")
    await shoot(page, "cohorts")
    await page.goto(f"{stack.api_url}/senders")
    sender = await stack.api("/api/senders/default")
    used = await page.inner_text("[data-testid=sender-default-quota-used]")
    assert int(used) == sender["quota_today"]["used"] == 5  # four intros and one offer
    await shoot(page, "senders")
    await page.goto(f"{stack.api_url}/events")
    assert await page.locator("[data-testid=event-row]").count() >= 9
    await shoot(page, "events")


async def test_click_through_to_the_contact_who_replied(stack: Stack, page: Any) -> None:
    await log_in(page, stack, f"/cohorts/{stack.cohort_id}")
    replied = page.locator("[data-testid=enrollment-row]", has_text="replied")
    assert await replied.count() == 1
    await replied.locator("[data-testid=contact-link]").click()
    dieter = stack.contacts[3]
    await page.wait_for_url(f"{stack.api_url}/contacts/{dieter.id}")
    assert await page.inner_text("[data-testid=contact-name]") == "Dieter Schmidt"
    assert await page.inner_text("[data-testid=contact-email]") == dieter.email
    entries = page.locator("[data-testid=timeline-entry]")
    kinds = [await e.get_attribute("data-kind") for e in await entries.all()]
    labels = [await e.get_attribute("data-label") for e in await entries.all()]
    assert kinds[0] == "consent"
    assert "message" in kinds
    assert "delivered" in labels
    assert "reply" in labels
    assert "replied" in labels  # the enrollment ended replied
    await shoot(page, "contact")


async def test_enrollment_opens_its_workflow_in_the_temporal_ui(stack: Stack, page: Any) -> None:
    await log_in(page, stack, f"/cohorts/{stack.cohort_id}")
    link = page.locator("[data-testid=temporal-link]").first
    workflow_id = await link.inner_text()
    href = await link.get_attribute("href")
    assert href is not None
    assert href.startswith(f"{stack.ui_url}/namespaces/default/workflows/")
    await page.goto(href)
    await page.get_by_text(workflow_id).first.wait_for(timeout=30_000)
    await shoot(page, "temporal-ui")
