"""Benchmark: webhook → workflow signal latency and ingest rate, on a real dev server.

Starts its own Temporal dev server (in memory), a worker, the API with its forwarder, and
enrolls N contacts; then posts signed Event Webhook batches (opens, so nobody exits) and reads,
per event, `forwarded_at - received_at` (the signal call returned) from the outbox rows.
Prints one JSON document.

    .venv/bin/python -m bench.webhook_latency [--contacts 50] [--batches 20] [--batch-size 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlmodel import select

import worker as worker_module
from activities.contacts import ConsentEvidence, upsert_contact
from activities.enrolling import EnrollmentService
from activities.senders import ensure_sender
from activities.webhook_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, generate_key_pair, sign
from bench import UNLIMITED
from cli.processes import free_port, temporal_dev_server
from models.db import get_engine, session_scope, upgrade
from models.settings import Settings
from models.tables import Event, Message
from models.temporal_client import connect
from simulator import running_simulator
from tests.integration.live_api import live_api

API_KEY = "SG.bench"
SLOW = {"open_window": "P2D", "case_study_after": "P4D", "offer_after": "P4D"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main_async(args: argparse.Namespace) -> dict:
    private_pem, public_key = generate_key_pair()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = temporal_dev_server(Path(tmp), db_file=None, port=port, ui_port=None).start()
        server.wait_for_port(port)
        try:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            engine = get_engine(url)
            ensure_sender(
                engine,
                "default",
                from_email="b@example.com",
                from_name="B",
                postal_address="1 St",
                **UNLIMITED,
            )
            with running_simulator(API_KEY) as sim:
                settings = Settings(
                    database_url=url,
                    temporal_address=f"127.0.0.1:{port}",
                    task_queue=f"bench-{uuid.uuid4()}",
                    sendgrid_host=sim.url,
                    sendgrid_api_key=API_KEY,
                    sendgrid_webhook_public_key=public_key,
                    forwarder_poll_seconds=0.5,
                )
                client = await connect(settings)
                with ThreadPoolExecutor(16) as pool, live_api(settings) as api_url:
                    async with worker_module.build_worker(client, settings, engine, executor=pool):
                        service = EnrollmentService(engine, client, settings.task_queue)
                        evidence = ConsentEvidence(source="bench")
                        for i in range(args.contacts):
                            c = upsert_contact(engine, f"c{i}@example.com", consent=evidence)
                            await service.enroll(
                                "trade_intro", c.id, params=SLOW, send_windows=False
                            )
                        while True:  # every intro sent
                            with session_scope(engine) as s:
                                messages = s.exec(
                                    select(Message).where(Message.status == "sent")
                                ).all()
                            if len(messages) >= args.contacts:
                                break
                            await asyncio.sleep(0.2)
                        posted = 0
                        start = time.perf_counter()
                        async with httpx.AsyncClient(timeout=60) as http:
                            for b in range(args.batches):
                                batch = []
                                for j in range(args.batch_size):
                                    m = messages[(b * args.batch_size + j) % len(messages)]
                                    batch.append(
                                        {
                                            "event": "open",
                                            "timestamp": int(time.time()),
                                            "sg_event_id": f"bench-{uuid.uuid4().hex}",
                                            "email": "x@example.com",
                                            "nurture_message_id": m.id,
                                            "nurture_workflow_id": m.workflow_id,
                                        }
                                    )
                                body = json.dumps(batch).encode()
                                ts = str(int(time.time()))
                                r = await http.post(
                                    f"{api_url}/webhooks/sendgrid/events",
                                    content=body,
                                    headers={
                                        SIGNATURE_HEADER: sign(private_pem, body, ts),
                                        TIMESTAMP_HEADER: ts,
                                    },
                                )
                                r.raise_for_status()
                                posted += len(batch)
                                if args.interval:
                                    await asyncio.sleep(args.interval)
                        ingest_seconds = time.perf_counter() - start
                        while True:
                            with session_scope(engine) as s:
                                rows = s.exec(select(Event).where(Event.esp_type == "open")).all()
                            if all(r.forwarded_at for r in rows):
                                break
                            await asyncio.sleep(0.2)
        finally:
            server.stop()
    latencies = [(r.forwarded_at - r.received_at).total_seconds() * 1000 for r in rows]
    return {
        "benchmark": "webhook_latency",
        "events": posted,
        "batch_interval_s": args.interval,
        "post_events_per_s": round(posted / ingest_seconds, 1),
        "webhook_signal_latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "mean": round(statistics.mean(latencies), 1),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=50)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument(
        "--interval",
        type=float,
        default=0.25,
        help="Seconds between batches (0: as fast as possible).",
    )
    print(json.dumps(asyncio.run(main_async(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
