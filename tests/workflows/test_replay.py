"""Replay: every stored history (trade_intro, quote_followup) still replays on today's code (a
change to a released sequence must be patched or renamed), fresh histories replay too, and
histories hold ids only: no email address, no business event property."""

from __future__ import annotations

import base64
import importlib.machinery
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

import worker as worker_module
from tests.workflows.scenarios import (
    HISTORIES_DIR,
    PRIVATE_MARK,
    SCENARIOS,
    history_path,
    record,
)
from workflows.registry import SEQUENCES

STORED = sorted(HISTORIES_DIR.glob("*.json"))
#: With the cohort launch's histories (histories/launch/, replayed by test_cohort_launch.py).
EVERY_STORED = sorted(HISTORIES_DIR.rglob("*.json"))
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def replayer() -> Replayer:
    # The worker's own replayer (its data converter), as `nurture sequences check-replay` uses.
    return worker_module.replayer(SEQUENCES)


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay/{path.stem}", path.read_text())


def test_every_scenario_has_a_stored_history() -> None:
    assert {history_path(name) for name in SCENARIOS} <= set(STORED)


@pytest.mark.parametrize("path", STORED, ids=[p.stem for p in STORED])
async def test_stored_history_replays(path: Path) -> None:
    # Raises on any non-determinism (a command the history does not have, or in another order).
    result = await replayer().replay_workflow(load(path))
    assert result.replay_failure is None


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_fresh_history_replays(env: WorkflowEnvironment, name: str) -> None:
    history = await record(env, name)
    result = await replayer().replay_workflow(history)
    assert result.replay_failure is None


async def test_the_sequence_base_is_not_re_executed_for_each_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sandbox re-imports a workflow's own module (and its package) for every run; the
    # authors' import (`from workflows import Sequence, ...`) passes the engine through, so it
    # is imported once per worker, not once per run.
    loaded: Counter[str] = Counter()
    get_code = importlib.machinery.SourceFileLoader.get_code

    def counting(self: importlib.machinery.SourceFileLoader, fullname: str) -> Any:
        loaded[fullname] += 1
        return get_code(self, fullname)

    monkeypatch.setattr(importlib.machinery.SourceFileLoader, "get_code", counting)
    histories = [load(history_path("complete")) for _ in range(6)]

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    results = await replayer().replay_workflows(each())
    assert not results.replay_failures
    # The counting sees each run's import of the workflow module; the base is imported at most
    # once (when the worker validates its workflows), not for each run.
    assert loaded["workflows.trade_intro"] >= len(histories)
    assert loaded["workflows.engine"] <= 1
    # Nothing else runs again for each run: the package's own body only re-exports.
    per_run = {name for name, count in loaded.items() if count >= len(histories)}
    assert per_run == {"workflows", "workflows.trade_intro"}


def decoded_payloads(node: Any) -> list[str]:
    """Every payload's data in a history's JSON, decoded (payloads are base64 in JSON)."""
    found: list[str] = []
    if isinstance(node, dict):
        if "metadata" in node and "data" in node:
            found.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
        for value in node.values():
            found.extend(decoded_payloads(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(decoded_payloads(value))
    return found


@pytest.mark.parametrize("path", EVERY_STORED, ids=[p.stem for p in EVERY_STORED])
def test_stored_history_holds_no_email_address(path: Path) -> None:
    raw = path.read_text()
    payloads = decoded_payloads(json.loads(raw))
    assert payloads, "expected payloads in the history"
    for text in [raw, *payloads]:
        assert EMAIL.search(text) is None
    if path.parent != HISTORIES_DIR:
        return  # a cohort launch: cohort ids and counts
    # Inputs and results carry ids: the contact id, never an address or a name (the calendar is
    # a time zone and a country; the A/B assignment a step and a variant label).
    started = json.loads(payloads[0])
    assert "contact_id" in started
    assert set(started) <= {
        "contact_id",
        "sender_id",
        "cohort_id",
        "params",
        "calendar",
        "ab",
        "trigger",
    }
    assert set(started.get("calendar") or {}) <= {"time_zone", "country"}
    # The triggering business event: its id, name and time, never its properties.
    assert set(started.get("trigger") or {}) <= {"event_id", "name", "occurred_at"}


@pytest.mark.parametrize("path", EVERY_STORED, ids=[p.stem for p in EVERY_STORED])
def test_stored_history_holds_no_business_event_property(path: Path) -> None:
    # The recorded scenarios post events whose property values carry PRIVATE_MARK (all but
    # valid_until, which quote_followup reads on purpose): none may reach a history — not in the
    # start input, not in a signal, not in an activity's input or result.
    raw = path.read_text()
    for text in [raw, *decoded_payloads(json.loads(raw))]:
        assert PRIVATE_MARK not in text


def test_the_quote_followup_histories_saw_business_events_by_id_only() -> None:
    # The property check above would be vacuous if no business event had reached a history.
    reminded = decoded_payloads(json.loads(history_path("quote_reminded").read_text()))
    ordered = decoded_payloads(json.loads(history_path("quote_clicked_ordered").read_text()))
    assert json.loads(reminded[0])["trigger"]["name"] == "quote_requested"
    assert any('"valid_until"' in text for text in reminded)  # the property read asked for
    assert any('"order_placed"' in text and '"event_id"' in text for text in ordered)
    assert any('"outcome":"converted"' in text.replace(" ", "") for text in ordered)
