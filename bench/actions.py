"""Billable Temporal Cloud actions counted from a workflow's event history, and their mean over a
sample of closed workflows (`python -m bench.actions` prints the counts of the recorded histories
in tests/workflows/histories/).

The rules, from Temporal Cloud's published list (docs.temporal.io/cloud/actions), as a history
shows them:

- **workflow started** — `WorkflowExecutionStarted`: 1 (a child or a continued run counts in its
  own history).
- **activity attempts** — each attempt is an action. The server writes an activity's
  `ActivityTaskStarted` once, when the activity closes, carrying the number of its last attempt;
  retried attempts leave no event of their own. So an activity counts that `attempt` (1 when it
  ran once, 3 when it ran three times); one scheduled and never started (cancelled first, or
  still waiting in a running workflow) counts 0. Heartbeats, billed too, are not in a history.
- **local activities** — every workflow task that recorded local-activity markers: 1.
- **timers** — `TimerStarted`: 1 each (those of `wait_condition(timeout=...)` included).
- **signals** — `WorkflowExecutionSignaled`: 1 each, counted where received (a signal to a closed
  workflow is refused and leaves nothing; `SignalExternalWorkflowExecutionInitiated` is the same
  signal seen from its sender, not counted again).
- **upserts** — `UpsertWorkflowSearchAttributes`: 1 each, however many attributes it sets, except
  one setting only `TemporalChangeVersion` (the patch's own upsert); attributes given at start
  are part of the start.
- **updates** — `WorkflowExecutionUpdateAccepted`: 1 each (rejected ones are billed too, and are
  not in the history).
- not billed: workflow tasks, markers of patches and side effects, timers fired or cancelled.
- **queries** are billed and never in a history: counted apart (the dashboard's calls).
"""

from __future__ import annotations

import asyncio
import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

#: The billed categories, in the order they are reported.
CATEGORIES = (
    "workflow_started",
    "activity_attempts",
    "local_activity_tasks",
    "timers",
    "signals",
    "upserts",
    "updates",
)
CHANGE_VERSION = "TemporalChangeVersion"
LOCAL_ACTIVITY_MARKER = "core_local_activity"
RECORDED_HISTORIES = Path(__file__).resolve().parent.parent / "tests/workflows/histories"

_ONE_EACH = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "workflow_started",
    EventType.EVENT_TYPE_TIMER_STARTED: "timers",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signals",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "updates",
}


def billable_actions(history: WorkflowHistory | Iterable[HistoryEvent]) -> dict[str, Any]:
    """The billable actions of one history: `billed` per category (`CATEGORIES`), their
    `total`, and what was `excluded` (patch markers, `TemporalChangeVersion`-only upserts)."""
    events = history.events if isinstance(history, WorkflowHistory) else history
    billed = dict.fromkeys(CATEGORIES, 0)
    excluded = {"change_version_upserts": 0, "markers": 0}
    local_activity_tasks: set[int] = set()
    for event in events:
        kind = event.event_type
        if kind in _ONE_EACH:
            billed[_ONE_EACH[kind]] += 1
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            billed["activity_attempts"] += max(
                1, event.activity_task_started_event_attributes.attempt
            )
        elif kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            attrs = event.upsert_workflow_search_attributes_event_attributes
            if set(attrs.search_attributes.indexed_fields) <= {CHANGE_VERSION}:
                excluded["change_version_upserts"] += 1
            else:
                billed["upserts"] += 1
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                local_activity_tasks.add(marker.workflow_task_completed_event_id)
            else:
                excluded["markers"] += 1
    billed["local_activity_tasks"] = len(local_activity_tasks)
    return {"billed": billed, "total": sum(billed.values()), "excluded": excluded}


def mean_actions(counts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The mean (and spread) of `billable_actions` results over a sample of workflows."""
    if not counts:
        return {"sampled": 0, "mean": None}
    totals = [c["total"] for c in counts]
    return {
        "sampled": len(counts),
        "mean": round(statistics.fmean(totals), 2),
        "min": min(totals),
        "max": max(totals),
        "billed": {
            k: round(statistics.fmean(c["billed"][k] for c in counts), 2) for k in CATEGORIES
        },
        "excluded": {
            k: round(statistics.fmean(c["excluded"][k] for c in counts), 2)
            for k in counts[0]["excluded"]
        },
    }


async def sampled_actions(client: Client, query: str, sample: int) -> dict[str, Any]:
    """`mean_actions` over the histories of up to `sample` workflows matching `query` (a
    visibility query; ask for closed ones: a running workflow's history is not whole)."""
    runs = [(wf.id, wf.run_id) async for wf in client.list_workflows(query, limit=sample)]
    histories = await asyncio.gather(
        *(client.get_workflow_handle(wid, run_id=run).fetch_history() for wid, run in runs)
    )
    return {"query": query, **mean_actions([billable_actions(h) for h in histories])}


def recorded_actions(directory: Path = RECORDED_HISTORIES) -> dict[str, dict[str, Any]]:
    """`billable_actions` of every recorded history (JSON exports) under `directory`."""
    out = {}
    for path in sorted(directory.rglob("*.json")):
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        out[str(path.relative_to(directory))] = billable_actions(history)
    return out


__all__ = [
    "CATEGORIES",
    "RECORDED_HISTORIES",
    "billable_actions",
    "mean_actions",
    "recorded_actions",
    "sampled_actions",
]


if __name__ == "__main__":
    print(json.dumps(recorded_actions(), indent=2))
