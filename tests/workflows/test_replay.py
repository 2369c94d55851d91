"""Replay: every stored trade_intro history still replays on today's code (a change to a released
sequence must be patched or renamed), fresh histories replay too, and histories hold ids only."""

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
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from tests.workflows.scenarios import HISTORIES_DIR, SCENARIOS, history_path, record
from workflows.registry import SEQUENCES

STORED = sorted(HISTORIES_DIR.glob("*.json"))
#: With the cohort launch's histories (histories/launch/, replayed by test_cohort_launch.py).
EVERY_STORED = sorted(HISTORIES_DIR.rglob("*.json"))
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def replayer() -> Replayer:
    return Replayer(workflows=list(SEQUENCES), data_converter=pydantic_data_converter)


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
    histories = [load(STORED[0]) for _ in range(6)]

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


def _decoded_payloads(node: Any) -> list[str]:
    """Every payload's data in a history's JSON, decoded (payloads are base64 in JSON)."""
    found: list[str] = []
    if isinstance(node, dict):
        if "metadata" in node and "data" in node:
            found.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
        for value in node.values():
            found.extend(_decoded_payloads(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_decoded_payloads(value))
    return found


@pytest.mark.parametrize("path", EVERY_STORED, ids=[p.stem for p in EVERY_STORED])
def test_stored_history_holds_no_email_address(path: Path) -> None:
    raw = path.read_text()
    payloads = _decoded_payloads(json.loads(raw))
    assert payloads, "expected payloads in the history"
    for text in [raw, *payloads]:
        assert EMAIL.search(text) is None
    if path.parent != HISTORIES_DIR:
        return  # a cohort launch: cohort ids and counts
    # Inputs and results carry ids: the contact id, never an address or a name (the calendar is
    # a time zone and a country; the A/B assignment a step and a variant label).
    started = json.loads(payloads[0])
    assert "contact_id" in started
    assert set(started) <= {"contact_id", "sender_id", "cohort_id", "params", "calendar", "ab"}
    assert set(started.get("calendar") or {}) <= {"time_zone", "country"}
