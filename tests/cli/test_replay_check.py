"""The replay check's parts without a cluster: the visibility query it sends, and the report of a
recorded history replayed against a changed trade_intro (the dev-server test is
tests/integration/test_replay_check.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowHistory

import worker as worker_module
from cli.replay_check import replay_all, visibility_query
from models.errors import InvalidInput
from models.settings import Settings
from tests.integration.replay_variants import PatchedTradeIntro, UnpatchedTradeIntro
from tests.workflows.scenarios import history_path


def test_the_query_selects_these_sequences_on_this_task_queue_running_or_recently_closed() -> None:
    since = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    query = visibility_query(Settings(task_queue="nurture"), ["trade_intro", "welcome"], since)
    assert query == (
        "NurtureSequence IN ('trade_intro', 'welcome') AND TaskQueue = 'nurture' AND "
        "(ExecutionStatus = 'Running' OR CloseTime > '2026-12-04T09:30:00Z')"
    )
    running = visibility_query(Settings(task_queue="q"), ["trade_intro"], None)
    assert running.endswith("AND ExecutionStatus = 'Running'")


def test_a_quote_never_reaches_the_query() -> None:
    with pytest.raises(InvalidInput):
        visibility_query(Settings(task_queue="x' OR '1'='1"), ["trade_intro"], None)


async def histories(*names: str) -> AsyncIterator[WorkflowHistory]:
    for name in names:
        yield WorkflowHistory.from_json(f"wf-{name}", history_path(name).read_text())


async def test_an_unpatched_change_reports_the_first_mismatch_with_the_history_event() -> None:
    report = await replay_all(
        worker_module.replayer([UnpatchedTradeIntro]), histories("complete", "replied")
    )
    assert report.replayed == 2
    assert [p.workflow_id for p in report.problems] == ["wf-complete", "wf-replied"]
    problem = report.problems[0]
    assert problem.nondeterministic
    assert problem.mismatch.startswith("[TMPRL1100] Nondeterminism error")
    assert "[history event" in problem.mismatch


async def test_the_patched_change_replays_every_recorded_history() -> None:
    report = await replay_all(
        worker_module.replayer([PatchedTradeIntro]),
        histories("complete", "replied", "opened", "click_forward", "sparse_status_paused"),
    )
    assert report.replayed == 5
    assert report.problems == []
