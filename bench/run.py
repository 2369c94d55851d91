"""`make bench`: starts its own stack (bench.stack) and prints one JSON document — raw baseline,
engine, billable actions, cohort launch, worker memory, webhook ingest, business events, the
forwarder's drain, kill recovery and the reply-intent classifier (bench/README.md describes each
key).

    .venv/bin/python -m bench.run [--quick]
        [--only raw,engine,actions,launch,ingest,business,drain,kill,replies]
        [--sequences 500] [--launch-contacts 10000] [--data-dir DIR]
    .venv/bin/python -m bench.run --soak 3600 --rate 5      # the soak run (bench/soak.py)

Progress goes to stderr, the JSON document alone to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from temporalio.client import Client

from bench import reply_intents
from bench.billing import actions_part
from bench.business_events import paced_business_events
from bench.drain import drain_part
from bench.figures import load_average, machine, process_memory_mb, rate
from bench.ingest import burst, paced
from bench.kill import kill_recovery
from bench.launch import all_waiting, cohort_launch, launched_targets, raw_starts
from bench.seeding import bench_sender, seed_contacts
from bench.stack import (
    LAUNCHED_TASK_QUEUE,
    LAUNCHER_TASK_QUEUE,
    RAW_LAUNCHED_TASK_QUEUE,
    BenchStack,
)
from bench.throughput import engine_sequences, raw_sequences
from models.db import get_engine
from models.log_setup import configure_logging
from models.temporal_client import connect

PARTS = ("raw", "engine", "actions", "launch", "ingest", "business", "drain", "kill", "replies")

#: A bound relative to another key: (that key, "+" or "*", operand).
Relative = tuple[str, str, float]
#: Key → (comparison, bound), as the issue states them.
TARGETS: dict[str, tuple[str, float | Relative]] = {
    "ratio": (">=", 0.8),
    "ingest_events_per_s": (">=", 2000),
    # Issue 15 tightened it from < 1 s (issue 13's) to < 300 ms.
    "webhook_signal_latency_ms.p95": ("<", 300),
    "business_event_latency_ms.p95": ("<", 1000),
    "launch_ratio": (">=", 0.8),
    "reply_intent.opt_out.precision": (">=", 0.95),
    "reply_intent.opt_out.recall": (">=", 0.9),
    "reply_intent.macro_f1": (">=", 0.85),
    "actions_per_enrollment.engine": ("<=", ("actions_per_enrollment.raw", "+", 2)),
    "actions_per_enrollment.longest_engine": ("<=", ("actions_per_enrollment.longest_raw", "+", 2)),
    "worker_cpu_ms_per_seq.engine": ("<=", ("worker_cpu_ms_per_seq.raw", "*", 1.3)),
    "forward_drain_ratio": (">=", 0.8),
    "kill_recovery_s": ("<", 15),
}

T = TypeVar("T")

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
}


def say(text: str) -> None:
    """Progress on stderr: stdout carries only the JSON document."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def measured(
    stack: BenchStack, part: str, work: Awaitable[T], py_spy: Path | None = None
) -> tuple[T, dict[str, float]]:
    """`work`'s result and the CPU seconds each process spent meanwhile (sampled by py-spy
    into `py_spy` if given)."""
    before = stack.cpu_seconds()
    with stack.profiled(part, py_spy):
        result = await work
    after = stack.cpu_seconds()
    return result, {k: round(after[k] - before.get(k, 0.0), 1) for k in after}


async def run_parts(args: argparse.Namespace, stack: BenchStack) -> dict[str, Any]:
    client = await connect(stack.settings, address=stack.temporal_address)
    db = get_engine(stack.database_url)
    queue = stack.settings.task_queue
    bench_sender(db, "default")
    out: dict[str, Any] = {}
    memory: dict[str, Any] = {}
    worker = stack.pid("worker")

    if "raw" in args.parts:
        say("raw: warm-up")
        await raw_sequences(client, 5)
        say(f"raw: {args.sequences} sequences")
        out["raw"], out["raw"]["cpu_seconds"] = await measured(
            stack, "raw", raw_sequences(client, args.sequences), args.py_spy
        )
        say(f"raw: {out['raw']['seq_per_s']} sequences/s; with trade_intro's upserts")
        upserting, upserting["cpu_seconds"] = await measured(
            stack, "raw-upserts", raw_sequences(client, args.sequences, upserts=True)
        )
        out["raw"]["with_upserts"] = upserting
        say(f"raw with upserts: {upserting['seq_per_s']} sequences/s")

    if "engine" in args.parts:
        say("engine: warm-up")
        warm = seed_contacts(db, 5, tag="engine-warm")
        await engine_sequences(client, db, queue, warm, tag="engine-warm", sender_id="default")
        contacts = seed_contacts(db, args.sequences, tag="engine")
        say(f"engine: {args.sequences} trade_intro enrollments")
        out["engine"], out["engine"]["cpu_seconds"] = await measured(
            stack,
            "engine",
            engine_sequences(client, db, queue, contacts, tag="engine", sender_id="default"),
            args.py_spy,
        )
        say(f"engine: {out['engine']['seq_per_s']} sequences/s")

    if "actions" in args.parts:
        say("actions: billable actions per enrollment, from the histories")
        out["actions"] = await actions_part(
            client,
            db,
            stack,
            raw_cohort=out.get("raw", {}).get("cohort"),
            engine_cohort="engine" if "engine" in out else None,
            sample=args.actions_sample,
            longest=args.longest,
            say=say,
        )

    cohort_id = None
    launched_worker = worker
    if {"launch", "ingest", "business"} & set(args.parts):
        launch: dict[str, Any] = {}
        if "launch" in args.parts:
            say(f"launch: raw, {args.launch_contacts} start_workflow")
            raw, raw["cpu_seconds"] = await measured(
                stack,
                "launch-raw",
                raw_starts(client, args.launch_contacts, RAW_LAUNCHED_TASK_QUEUE),
                args.py_spy,
            )
            say(f"launch: raw {raw['starts_per_s']} starts/s; a raw worker runs them")
            stack.start_raw_worker("raw-launched-worker", RAW_LAUNCHED_TASK_QUEUE)
            settle, raw["settle_cpu_seconds"] = await measured(
                stack,
                "launch-raw-settle",
                all_waiting(client, raw.pop("cohort"), args.launch_contacts, within=1800),
            )
            stack.stop_child("raw-launched-worker")
            raw["settle_seconds"] = round(settle, 1)
            raw["settled_per_s"] = rate(args.launch_contacts, raw["seconds"] + settle)
            launch["raw"] = raw
        bench_sender(db, "paused", paused=True)
        seed_contacts(db, args.launch_contacts, tag="launch")
        say(f"launch: a {args.launch_contacts}-contact cohort")
        launch["cohort"], launch["cohort"]["cpu_seconds"] = await measured(
            stack,
            "launch",
            cohort_launch(
                client,
                db,
                LAUNCHER_TASK_QUEUE,
                stack.settings.templates_dir,
                tag="launch",
                sender_id="paused",
            ),
            args.py_spy,
        )
        cohort = launch["cohort"]
        cohort_id = cohort["cohort_id"]
        enrolled = cohort["enrolled"]
        say(f"launch: {cohort['enrollments_per_s']} enrollments/s; a nurture worker runs them")
        stack.start_worker("launched-worker", LAUNCHED_TASK_QUEUE)
        launched_worker = stack.pid("launched-worker")
        await asyncio.sleep(3)  # imported and polling, nothing run yet
        memory["worker_before_launch"] = process_memory_mb(launched_worker)
        settle, cohort["settle_cpu_seconds"] = await measured(
            stack,
            "launch-settle",
            all_waiting(client, cohort_id, enrolled, within=1800),
            args.py_spy,
        )
        cohort["settle_seconds"] = round(settle, 1)
        cohort["settled_per_s"] = rate(enrolled, cohort["seconds"] + settle)
        memory["enrollments_waiting"] = enrolled
        memory["worker_enrollments_waiting"] = process_memory_mb(launched_worker)
        if "launch" in args.parts:
            launch["settled_ratio"] = round(
                cohort["settled_per_s"] / launch["raw"]["settled_per_s"], 2
            )
            out["launch"] = launch

    if "ingest" in args.parts:
        assert cohort_id is not None
        targets = launched_targets(db, cohort_id)
        private_pem = stack.webhook_key()[0].read_text()
        say(f"ingest: {args.ingest_batches} batches of 1,000 events back to back")
        ingest: dict[str, Any] = {"targets": len(targets)}
        ingest["burst"], ingest["burst"]["cpu_seconds"] = await measured(
            stack,
            "ingest-burst",
            burst(stack.api_url, private_pem, db, targets, batches=args.ingest_batches),
            args.py_spy,
        )
        say(f"ingest: {ingest['burst']['events_per_s']} events/s stored")
        say(f"ingest: {args.paced_rate} events/s for {args.paced_seconds} s, latency")
        ingest["paced"], ingest["paced"]["cpu_seconds"] = await measured(
            stack,
            "ingest-paced",
            paced(
                stack.api_url,
                private_pem,
                db,
                targets,
                events_per_s=args.paced_rate,
                seconds=args.paced_seconds,
                batch_size=args.paced_batch,
            ),
            args.py_spy,
        )
        say(f"ingest: latency {ingest['paced']['latency_ms']}")
        out["ingest"] = ingest
        memory["worker_after_ingest"] = process_memory_mb(launched_worker)

    if "business" in args.parts:
        assert cohort_id is not None
        targets = launched_targets(db, cohort_id)
        say(f"business events: {args.paced_rate} events/s for {args.paced_seconds} s, latency")
        business, business["cpu_seconds"] = await measured(
            stack,
            "business-events",
            paced_business_events(
                stack.api_url,
                stack.settings.api_token,
                db,
                targets,
                events_per_s=args.paced_rate,
                seconds=args.paced_seconds,
            ),
            args.py_spy,
        )
        say(f"business events: latency {business['latency_ms']}")
        out["business_events"] = business

    out.update(await drain_and_kill(args, stack, client, db))

    if "replies" in args.parts:
        say(
            "reply intents: the classifier over the labelled corpus, the dev set and the held-out set"
        )
        out["reply_intents"] = _reply_intents()

    if memory:
        memory["max_cached_workflows"] = 1000  # temporalio's Worker default; build_worker keeps it
        out["memory"] = memory
    return out


def _reply_intents() -> dict[str, Any]:
    """The classifier over the tuned corpus, with `dev` and `held_out` beside it."""
    out = reply_intents.run()
    for key, directory in (
        ("dev", reply_intents.DEV_DIR),
        ("held_out", reply_intents.HELD_OUT_DIR),
    ):
        if directory.is_dir():
            out[key] = reply_intents.run(directory)["reply_intent"]
    return out


async def drain_and_kill(
    args: argparse.Namespace, stack: BenchStack, client: Client, db: sa.Engine
) -> dict[str, Any]:
    """The forwarder's drain against a raw client, and recovery from a killed worker."""
    out: dict[str, Any] = {}
    if "drain" in args.parts:
        out["drain"] = await drain_part(
            client,
            db,
            stack,
            lambda part, work: measured(stack, part, work, args.py_spy),
            events=args.drain_events,
            targets=args.drain_targets,
            say=say,
        )
    if "kill" in args.parts:
        out["kill"] = await kill_recovery(
            client, db, stack, enrollments=args.kill_enrollments, say=say
        )
    return out


def dotted(doc: dict[str, Any], key: str) -> Any:
    value: Any = doc
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def summary(out: dict[str, Any]) -> dict[str, Any]:
    """The top-level keys scripts read, and each target met or not."""
    raw = out.get("raw", {}).get("seq_per_s")
    eng = out.get("engine", {}).get("seq_per_s")
    launch = out.get("launch", {})
    raw_start = launch.get("raw", {}).get("starts_per_s")
    launched = launch.get("cohort", {}).get("enrollments_per_s")
    ingest = out.get("ingest", {})
    latency = ingest.get("paced", {}).get("latency_ms")
    business = out.get("business_events", {}).get("latency_ms")
    memory = out.get("memory", {})
    replies = out.get("reply_intents", {})
    actions = out.get("actions", {})
    drain = out.get("drain", {})
    doc: dict[str, Any] = {
        "raw_seq_per_s": raw,
        "engine_seq_per_s": eng,
        "ratio": round(eng / raw, 2) if raw and eng else None,
        "ingest_events_per_s": ingest.get("burst", {}).get("events_per_s"),
        "webhook_signal_latency_ms": (
            {k: latency[k] for k in ("p50", "p95", "p99")} if latency else None
        ),
        "business_event_latency_ms": (
            {k: business[k] for k in ("p50", "p95", "p99")} if business else None
        ),
        "launch_per_s": launched,
        "launch_ratio": round(launched / raw_start, 2) if launched and raw_start else None,
        "worker_rss_mb": memory.get("worker_enrollments_waiting", {}).get("rss"),
        "reply_intent": _reply_intent_summary(replies) if replies else None,
        "actions_per_enrollment": (
            {k: actions[k]["mean"] for k in ("raw", "engine", "longest_raw", "longest_engine")}
            if actions
            else None
        ),
        "dashboard_temporal_calls_per_view": (
            {page: v["calls"] for page, v in actions["dashboard_temporal_calls_per_view"].items()}
            if actions
            else None
        ),
        "worker_cpu_ms_per_seq": {
            "raw": _cpu_ms_per_seq(out.get("raw"), "raw-worker"),
            "engine": _cpu_ms_per_seq(out.get("engine"), "worker"),
        },
        "forward_drain_per_s": drain.get("forwarder", {}).get("forwarded_per_s"),
        "forward_drain_ratio": drain.get("ratio"),
        "kill_recovery_s": out.get("kill", {}).get("recovery_s"),
    }
    doc["targets"] = {}
    for key, (op, bound) in TARGETS.items():
        value = dotted(doc, key)
        if isinstance(bound, tuple):
            other, how, operand = bound
            base = dotted(doc, other)
            limit = None if base is None else (base + operand if how == "+" else base * operand)
            target = f"{op} {other} {how} {operand:g}"
            if limit is not None:
                target += f" = {limit:g}"
        else:
            limit, target = bound, f"{op} {bound:g}"
        met = None if value is None or limit is None else _COMPARE[op](value, limit)
        doc["targets"][key] = {"target": target, "value": value, "met": met}
    return doc


def _cpu_ms_per_seq(part: dict[str, Any] | None, process: str) -> float | None:
    """A part's worker CPU per sequence, in ms (the part's `cpu_seconds` of that process)."""
    if not part or process not in part.get("cpu_seconds", {}):
        return None
    return round(part["cpu_seconds"][process] * 1000 / part["sequences"], 1)


def _reply_intent_summary(replies: dict[str, Any]) -> dict[str, Any]:
    """Per-intent precision and recall, macro F1 and opt-out figures on the corpus, and the same
    on the dev set (tuned on) and the held-out set (written apart from the vocabulary: the honest
    figure)."""

    def brief(figures: dict[str, Any]) -> dict[str, Any]:
        return {
            "per_intent": {
                intent: {"precision": v["precision"], "recall": v["recall"]}
                for intent, v in figures["per_intent"].items()
            },
            "macro_f1": figures["macro_f1"],
            "opt_out": figures["opt_out"],
            "replies": figures["replies"],
        }

    doc = brief(replies["reply_intent"])
    for key in ("dev", "held_out"):
        if key in replies:
            doc[key] = brief(replies[key])
    return doc


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--sequences", type=int, help="raw and engine (default 500; quick 50)")
    parser.add_argument("--launch-contacts", type=int, help="default 10000; quick 1000")
    parser.add_argument("--ingest-batches", type=int, help="1,000-event batches (10; quick 3)")
    parser.add_argument("--paced-rate", type=float, default=200.0, help="events/s for latency")
    parser.add_argument("--paced-batch", type=int, default=100, help="events per paced batch")
    parser.add_argument("--paced-seconds", type=float, help="default 30; quick 10")
    parser.add_argument(
        "--actions-sample", type=int, default=20, help="histories counted per side (20)"
    )
    parser.add_argument("--longest", type=int, help="longest-path enrollments (10; quick 5)")
    parser.add_argument("--drain-events", type=int, help="the burst (10000; quick 2000)")
    parser.add_argument("--drain-targets", type=int, help="live workflows (1000; quick 500)")
    parser.add_argument(
        "--kill-enrollments", type=int, help="sends in flight, at most 32 (20; quick 10)"
    )
    parser.add_argument("--data-dir", type=Path, help="keep the stack's files (logs) here")
    parser.add_argument(
        "--py-spy", type=Path, metavar="DIR", help="profile each part's processes into DIR"
    )
    parser.add_argument("--soak", type=float, metavar="SECONDS", help="run the soak instead")
    parser.add_argument("--rate", type=float, default=5.0, help="soak: enrollments per second")
    parser.add_argument("--sample-every", type=float, default=60.0, help="soak: seconds")
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
    quick = args.quick
    args.sequences = args.sequences or (50 if quick else 500)
    args.launch_contacts = args.launch_contacts or (1000 if quick else 10_000)
    args.ingest_batches = args.ingest_batches or (3 if quick else 10)
    args.paced_seconds = args.paced_seconds or (10.0 if quick else 30.0)
    args.longest = args.longest or (5 if quick else 10)
    args.drain_events = args.drain_events or (2000 if quick else 10_000)
    args.drain_targets = args.drain_targets or (500 if quick else 1000)
    args.kill_enrollments = args.kill_enrollments or (10 if quick else 20)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # The driver enrolls and serves the dashboard in-process: their logs go to stderr, at
    # WARNING; stdout carries only the JSON document.
    configure_logging(level="WARNING")
    load_before = load_average()
    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="nurture-bench-"))).resolve()
    stack = BenchStack.create(data_dir)
    began = time.monotonic()
    try:
        say(f"starting the stack under {data_dir}")
        stack.start()
        if args.soak:
            from bench.soak import soak

            out = asyncio.run(soak(args, stack, say))
        else:
            out = asyncio.run(run_parts(args, stack))
    finally:
        stack.stop()
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    doc = {} if args.soak else summary(out)
    doc["machine"] = {**machine(), "load_before": load_before, "load_after": load_average()}
    doc["bench_seconds"] = round(time.monotonic() - began, 1)
    doc.update(out)
    print(json.dumps(doc, indent=2, default=str))


if __name__ == "__main__":
    main()
