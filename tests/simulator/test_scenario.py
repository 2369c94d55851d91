"""Scenarios: presets, per-step rates, reproducible plans, and the funnel they play back."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError
from sendgrid import SendGridAPIClient

from simulator import (
    PRESETS,
    ReceivedMessage,
    RecipientType,
    Scenario,
    StepRates,
    load_scenario,
    running_simulator,
)
from simulator.scenario import Delays, PlannedEvent, PlannedReply, Planner
from tests.sim_fixtures import (
    EVENTS_PATH,
    INBOUND_PATH,
    SIM_API_KEY,
    WebhookReceiver,
    nurture_payload,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Every delay a few milliseconds, so whole funnels play out within a test.
FAST = Delays(**{name: (0.0, 0.02) for name in Delays.model_fields})


def _message(
    recipient: str = "lead@buyer.example.com", step: str = "intro", index: int = 0
) -> ReceivedMessage:
    return ReceivedMessage(
        esp_message_id=f"esp{index}",
        sg_message_id=f"esp{index}.filterdrecv-sim-0-0.0",
        recipient=recipient,
        recipient_name=None,
        recipient_type=RecipientType.TO,
        personalization_index=0,
        from_email="sales@acme.example.com",
        from_name=None,
        reply_to="reply+tok@inbound.localhost",
        reply_to_name=None,
        subject="Valves",
        text="See https://acme.example.com/valves",
        html='<a href="https://acme.example.com/valves">v</a> '
        '<a href="https://nurture.example.com/u/tok">unsubscribe</a>',
        headers={"List-Unsubscribe": "<https://nurture.example.com/u/tok>"},
        custom_args={"nurture_message_id": f"m{index}"},
        categories=["trade_intro", f"trade_intro/{step}"],
        template_id=None,
        send_at=None,
        sent_at=datetime.now(UTC),
    )


def _audience(count: int) -> list[ReceivedMessage]:
    return [_message(f"lead{i}@buyer{i % 7}.example.com", index=i) for i in range(count)]


def _summary(plan: list[PlannedEvent | PlannedReply]) -> list[tuple[Any, ...]]:
    return [
        (item.event, item.fields.get("sg_machine_open"), item.fields.get("type"), item.detached)
        if isinstance(item, PlannedEvent)
        else ("reply", item.auto)
        for item in plan
    ]


# -- presets and validation ----------------------------------------------------------------


def test_presets_are_named_and_the_default_is_a_b2b_funnel() -> None:
    assert set(PRESETS) == {"scripted", "quiet", "default", "lively"}
    rates = load_scenario("default").default

    assert rates.delivered == pytest.approx(0.975)
    assert (rates.open, rates.machine_open, rates.click) == (0.25, 0.20, 0.05)
    assert (rates.reply, rates.auto_reply, rates.hard_bounce) == (0.03, 0.02, 0.01)
    assert (rates.complaint, rates.unsubscribe) == (0.002, 0.005)
    lively = load_scenario("lively").default
    assert lively.open > rates.open
    assert lively.reply > rates.reply


def test_scenario_loads_from_a_json_file_and_rejects_impossible_rates(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(
        '{"name": "mine", "seed": 3, "default": {"open": 0.5, "click": 0.1},'
        ' "steps": {"offer": {"reply": 0.2}}, "delays": {"open": [1, 2]}}'
    )

    loaded = load_scenario(str(path))

    assert (loaded.name, loaded.seed, loaded.default.open) == ("mine", 3, 0.5)
    assert loaded.steps["offer"].reply == 0.2
    assert loaded.delays.open == (1, 2)
    with pytest.raises(ValidationError, match="click may not exceed open"):
        StepRates(open=0.1, click=0.2)
    with pytest.raises(ValidationError, match="sum to"):
        StepRates(hard_bounce=0.6, deferred=0.6)
    with pytest.raises(ValidationError):
        StepRates(opne=0.1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="min <= max"):
        Delays(open=(5, 1))
    with pytest.raises(ValueError, match="unknown scenario"):
        load_scenario("no-such-preset")


def test_rates_are_chosen_by_sequence_step_then_bare_step_then_default() -> None:
    scenario = Scenario(
        default=StepRates(open=0.1),
        steps={"trade_intro/offer": StepRates(open=0.3), "case_study": StepRates(open=0.2)},
    )

    assert scenario.rates_for(_message(step="offer")).open == 0.3
    assert scenario.rates_for(_message(step="case_study")).open == 0.2
    assert scenario.rates_for(_message(step="intro")).open == 0.1


# -- plans ---------------------------------------------------------------------------------


def test_quiet_plans_processed_then_delivered_and_scripted_plans_nothing() -> None:
    quiet = Planner(load_scenario("quiet"), seed=1).plan(_message())

    assert [item.event for item in quiet if isinstance(item, PlannedEvent)] == [
        "processed",
        "delivered",
    ]
    assert Planner(load_scenario("scripted"), seed=1).plan(_message()) == []


def test_same_seed_gives_same_plans_whatever_the_arrival_order() -> None:
    audience = _audience(300)
    first = Planner(load_scenario("default"), seed=42)
    again = Planner(load_scenario("default"), seed=42)
    other = Planner(load_scenario("default"), seed=43)

    plans = [first.plan(m) for m in audience]
    replayed = [again.plan(m) for m in reversed(audience)][::-1]

    assert plans == replayed
    assert [_summary(p) for p in plans] != [_summary(other.plan(m)) for m in audience]


def test_default_preset_rates_show_in_the_plans() -> None:
    planner = Planner(load_scenario("default"), seed=7)
    counts: Counter[str] = Counter()
    audience = _audience(6000)
    for message in audience:
        for item in planner.plan(message):
            if isinstance(item, PlannedReply):
                counts["auto_reply" if item.auto else "reply"] += 1
            elif item.event == "open":
                counts["machine_open" if item.fields["sg_machine_open"] else "open"] += 1
            elif item.event == "bounce":
                counts[f"bounce/{item.fields['status']}/{item.detached}"] += 1
            else:
                counts[item.event] += 1

    delivered = counts["delivered"]
    assert delivered / len(audience) == pytest.approx(0.975, abs=0.01)
    assert counts["open"] / delivered == pytest.approx(0.25, abs=0.025)
    assert counts["machine_open"] / delivered == pytest.approx(0.20, abs=0.025)
    assert counts["click"] / delivered == pytest.approx(0.05, abs=0.012)
    assert counts["reply"] / delivered == pytest.approx(0.03, abs=0.01)
    assert counts["auto_reply"] / delivered == pytest.approx(0.02, abs=0.008)
    assert counts["bounce/5.1.1/False"] / len(audience) == pytest.approx(0.01, abs=0.005)
    assert counts["bounce/5.1.1/True"] > 0  # delayed bounces, without custom args
    assert counts["bounce/5.7.1/False"] > 0
    assert counts["bounce/4.2.2/False"] > 0
    assert counts["deferred"] > 0
    assert counts["spamreport"] >= 0


def test_clicks_follow_a_human_open_and_never_hit_the_unsubscribe_link() -> None:
    planner = Planner(Scenario(default=StepRates(open=0.5, click=0.5), delays=FAST), seed=5)

    for message in _audience(200):
        plan = planner.plan(message)
        clicks = [i for i in plan if isinstance(i, PlannedEvent) and i.event == "click"]
        opens = [
            i
            for i in plan
            if isinstance(i, PlannedEvent) and i.event == "open" and not i.fields["sg_machine_open"]
        ]
        for click in clicks:
            assert click.fields["url"] == "https://acme.example.com/valves"
            assert opens
            assert opens[0].after_seconds <= click.after_seconds
    assert plan == sorted(plan, key=lambda i: i.after_seconds)


def test_soft_bounce_is_deferred_before_it_bounces() -> None:
    planner = Planner(Scenario(default=StepRates(soft_bounce=1.0), delays=FAST), seed=1)

    events = [i for i in planner.plan(_message()) if isinstance(i, PlannedEvent)]

    kinds = [str(e.event) for e in events]
    assert kinds[0] == "processed"
    assert kinds[-1] == "bounce"
    assert "delivered" not in kinds
    assert kinds.count("deferred") >= 1
    assert events[-1].fields["status"].startswith("4.")
    assert [e.fields["attempt"] for e in events if e.event == "deferred"] == [
        str(n) for n in range(1, kinds.count("deferred") + 1)
    ]


# -- played back ---------------------------------------------------------------------------


def _send_audience(server_url: str, count: int) -> None:
    client = SendGridAPIClient(api_key=SIM_API_KEY, host=server_url)
    for i in range(count):
        client.send(nurture_payload(f"m-{i}", recipient=f"lead{i}@buyer.example.com"))


def test_a_scenario_plays_the_whole_funnel_back_signed(
    webhook_receiver: WebhookReceiver,
) -> None:
    scenario = Scenario(
        default=StepRates(open=1, machine_open=1, click=1, reply=1, auto_reply=1), delays=FAST
    )
    with running_simulator(
        SIM_API_KEY,
        webhook_url=webhook_receiver.events_url,
        inbound_url=webhook_receiver.inbound_url,
        scenario=scenario,
        flush_seconds=0.05,
    ) as server:
        _send_audience(server.url, 1)
        webhook_receiver.wait_for(
            lambda r: len(r.events()) >= 5 and len(r.posts(INBOUND_PATH)) >= 2
        )
        key = server.webhook_public_key

    events = webhook_receiver.events()
    assert sorted((e["event"], e.get("sg_machine_open")) for e in events) == [
        ("click", None),
        ("delivered", None),
        ("open", False),
        ("open", True),
        ("processed", None),
    ]
    assert {e["nurture_message_id"] for e in events} == {"m-0"}
    for post in webhook_receiver.posts(EVENTS_PATH):
        post.verify(key)
    replies = [p.form() for p in webhook_receiver.posts(INBOUND_PATH)]
    assert sorted("Auto-Submitted: auto-replied" in f["headers"] for f in replies) == [False, True]
    human = next(f for f in replies if "Auto-Submitted" not in f["headers"])
    assert "> Hello Lead," in human["text"]  # quotes the original, as mail clients do


def test_delayed_bounce_scenario_posts_bounce_without_custom_args_after_delivery(
    webhook_receiver: WebhookReceiver,
) -> None:
    scenario = Scenario(default=StepRates(delayed_bounce=1), delays=FAST)
    with running_simulator(
        SIM_API_KEY, webhook_url=webhook_receiver.events_url, scenario=scenario, flush_seconds=0.05
    ) as server:
        _send_audience(server.url, 1)
        events = webhook_receiver.wait_for_events(3)

    by_kind = {e["event"]: e for e in events}
    assert set(by_kind) == {"processed", "delivered", "bounce"}
    assert by_kind["delivered"]["nurture_message_id"] == "m-0"
    assert "nurture_message_id" not in by_kind["bounce"]
    assert "category" not in by_kind["bounce"]
    assert by_kind["bounce"]["sg_message_id"] == by_kind["delivered"]["sg_message_id"]


def test_same_seed_plays_back_the_same_events(webhook_receiver: WebhookReceiver) -> None:
    scenario = Scenario(
        seed=11,
        default=StepRates(hard_bounce=0.2, open=0.5, machine_open=0.5, click=0.2, complaint=0.2),
        delays=FAST,
    )

    def run() -> list[tuple[Any, ...]]:
        webhook_receiver.reset()
        with running_simulator(
            SIM_API_KEY,
            webhook_url=webhook_receiver.events_url,
            scenario=scenario,
            flush_seconds=0.05,
        ) as server:
            _send_audience(server.url, 12)
            deadline = time.monotonic() + 5
            while not (server.webhooks.idle() and len(server.store) == 12):
                assert time.monotonic() < deadline
                time.sleep(0.02)
        return sorted(
            (e["email"], e["event"], e.get("sg_machine_open"), e.get("status"), e.get("url"))
            for e in webhook_receiver.events()
        )

    first, second = run(), run()

    assert first == second
    assert {e[1] for e in first} >= {"processed", "delivered", "open", "bounce"}


def test_python_m_simulator_posts_signed_events_with_the_given_key(
    webhook_receiver: WebhookReceiver, tmp_path: Path
) -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / "webhook-key.pem"
    key_file.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    scenario_file = tmp_path / "scenario.json"
    scenario_file.write_text(Scenario(name="fast-quiet", delays=FAST).model_dump_json())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--port",
            str(port),
            "--api-key",
            SIM_API_KEY,
            "--webhook-url",
            webhook_receiver.events_url,
            "--scenario",
            str(scenario_file),
            "--flush-seconds",
            "0.05",
            "--seed",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "NURTURE_SIMULATOR_WEBHOOK_PRIVATE_KEY_FILE": str(key_file)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                published = httpx.get(f"{url}/_sim/webhook-public-key").json()["public_key"]
                break
            except httpx.TransportError:
                assert process.poll() is None
                assert time.monotonic() < deadline
                time.sleep(0.02)

        _send_audience(url, 1)
        events = webhook_receiver.wait_for_events(2)
        scenario = httpx.get(f"{url}/_sim/scenario").json()
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert {e["event"] for e in events} == {"processed", "delivered"}
    assert (scenario["seed"], scenario["scenario"]["name"]) == (1, "fast-quiet")
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert base64.b64decode(published) == public_der
    for post in webhook_receiver.posts(EVENTS_PATH):
        post.verify(published)
