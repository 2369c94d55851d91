"""The actions part: Temporal Cloud's billable actions per enrollment (`bench.actions`), counted
from closed histories — the raw baseline and the engine on the bench's path, and both on
`trade_intro`'s longest path (intro unopened → bump → case study → offer) — and the Temporal
calls one dashboard page view makes (`bench.dashboard_calls`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from activities.cohorts.service import CohortService
from bench.actions import sampled_actions
from bench.dashboard_calls import temporal_calls_per_view
from bench.raw_workflows import RAW_LONGEST
from bench.seeding import seed_contacts
from bench.stack import LONGEST_TASK_QUEUE, RAW_TASK_QUEUE, BenchStack
from bench.throughput import engine_sequences, raw_sequences, start_all, wait_closed
from models.cohort import cohort_launch_workflow_id
from models.search_attributes import COHORT

#: The longest path in seconds instead of days (`TradeIntroParams`): each wait runs out.
LONGEST_PARAMS = {"open_window": "PT3S", "case_study_after": "PT6S", "offer_after": "PT3S"}
LONGEST_SECONDS = (3.0, 6.0, 3.0)
#: Where the dashboard's cohort is launched: no worker polls it, so it only has to exist.
DASHBOARD_LAUNCH_QUEUE = "bench-dashboard"


def closed_ok(cohort: str) -> str:
    return f"NurtureCohort = '{cohort}' AND ExecutionStatus = 'Completed'"


async def raw_longest(client: Client, count: int, *, within: float = 600) -> dict[str, Any]:
    """`count` `bench_raw_longest` workflows at once, to completion."""
    tag = f"bench-rawlong-{uuid.uuid4().hex[:8]}"
    attributes = TypedSearchAttributes([SearchAttributePair(COHORT, tag)])

    async def start_one(i: int) -> None:
        await client.start_workflow(
            RAW_LONGEST,
            args=list(LONGEST_SECONDS),
            id=f"{tag}/{i}",
            task_queue=RAW_TASK_QUEUE,
            search_attributes=attributes,
        )

    await start_all(count, start_one)
    _, statuses = await wait_closed(client, f"NurtureCohort = '{tag}'", count, within=within)
    return {"cohort": tag, "workflows": count, "statuses": statuses}


async def longest_paths(
    client: Client, db: sa.Engine, stack: BenchStack, count: int
) -> dict[str, Any]:
    """`count` enrollments along the longest path, on a worker sending to a simulator where no
    mail is opened, beside `count` raw workflows doing the same sends and waits."""
    sim_url = stack.start_quiet_simulator()
    stack.start_worker("longest-worker", LONGEST_TASK_QUEUE, sendgrid_host=sim_url)
    try:
        contacts = seed_contacts(db, count, tag="longest")
        engine, raw = await asyncio.gather(
            engine_sequences(
                client,
                db,
                LONGEST_TASK_QUEUE,
                contacts,
                tag="longest",
                sender_id="default",
                params=LONGEST_PARAMS,
                within=600,
            ),
            raw_longest(client, count),
        )
    finally:
        stack.stop_child("longest-worker")
        stack.stop_child("simulator-quiet")
    return {
        "engine": {k: engine[k] for k in ("sequences", "steps_sent", "outcomes", "statuses")},
        "raw": raw,
        "params": LONGEST_PARAMS,
    }


async def dashboard_view_calls(
    client: Client, db: sa.Engine, stack: BenchStack, members: int = 20
) -> dict[str, Any]:
    """Temporal calls per view of `/` and of a cohort's page (a cohort of `members` contacts,
    recorded by `CohortService.start`; its launch never runs)."""
    seed_contacts(db, members, tag="dashboard")
    service = CohortService(db, client, DASHBOARD_LAUNCH_QUEUE, stack.settings.templates_dir)
    started = await service.start(
        name="bench dashboard",
        sequence="trade_intro",
        segment={"bench": "dashboard"},
        send_windows=False,
    )
    settings = stack.settings.model_copy(update={"temporal_address": stack.temporal_address})
    try:
        views = await temporal_calls_per_view(
            settings, {"/": "/", "/cohorts/{id}": f"/cohorts/{started.cohort_id}"}
        )
    finally:
        handle = client.get_workflow_handle(cohort_launch_workflow_id(started.cohort_id))
        await handle.terminate("bench: the cohort only had to exist")
    return views


async def actions_part(
    client: Client,
    db: sa.Engine,
    stack: BenchStack,
    *,
    raw_cohort: str | None,
    engine_cohort: str | None,
    sample: int,
    longest: int,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Billable actions per enrollment on both paths, raw and engine, and the dashboard's calls.
    `raw_cohort` / `engine_cohort`: the raw and engine parts' workflows, sampled; when a part
    did not run, `sample` sequences of it are run here first (unmeasured)."""
    if raw_cohort is None:
        say(f"actions: {sample} raw sequences to count")
        raw_cohort = (await raw_sequences(client, sample))["cohort"]
    if engine_cohort is None:
        say(f"actions: {sample} trade_intro enrollments to count")
        engine_cohort = "actions-engine"
        contacts = seed_contacts(db, sample, tag=engine_cohort)
        await engine_sequences(
            client,
            db,
            stack.settings.task_queue,
            contacts,
            tag=engine_cohort,
            sender_id="default",
        )
    out: dict[str, Any] = {
        "raw": await sampled_actions(client, closed_ok(raw_cohort), sample),
        "engine": await sampled_actions(client, closed_ok(engine_cohort), sample),
    }
    say(f"actions: {longest} enrollments and raw workflows along trade_intro's longest path")
    longest_run = await longest_paths(client, db, stack, longest)
    out["longest_raw"] = await sampled_actions(
        client, closed_ok(longest_run["raw"]["cohort"]), longest
    )
    out["longest_engine"] = await sampled_actions(client, closed_ok("longest"), longest)
    out["longest"] = longest_run
    say("actions: Temporal calls per dashboard page view")
    out["dashboard_temporal_calls_per_view"] = await dashboard_view_calls(client, db, stack)
    return out


__all__ = [
    "LONGEST_PARAMS",
    "actions_part",
    "dashboard_view_calls",
    "longest_paths",
    "raw_longest",
]
