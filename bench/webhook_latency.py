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
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlmodel import select

import worker as worker_module
from activities.contacts.store import ConsentEvidence, upsert_contact
from activities.deliverability.senders import ensure_sender
from activities.enrollment.enrolling import EnrollmentService
from activities.events.signature import generate_key_pair
from bench import UNLIMITED
from bench.figures import latency_ms, load_average, machine, rate
from bench.ingest import Target, build_batches, drained, post_signed
from cli.processes import free_port, temporal_dev_server
from models.db import get_engine, session_scope, upgrade
from models.log_setup import configure_logging
from models.settings import Settings
from models.tables import Message
from models.temporal_client import connect
from simulator import running_simulator
from tests.integration.live_api import live_api

API_KEY = "SG.bench"
SLOW = {"open_window": "P2D", "case_study_after": "P4D", "offer_after": "P4D"}


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
                        targets = [Target(m.workflow_id, "x@example.com", m.id) for m in messages]
                        prefix = f"bench-{uuid.uuid4().hex[:8]}"
                        bodies = build_batches(
                            targets,
                            batches=args.batches,
                            batch_size=args.batch_size,
                            prefix=prefix,
                        )
                        posted = 0
                        start = time.perf_counter()
                        async with httpx.AsyncClient(timeout=60) as http:
                            for body in bodies:
                                await post_signed(http, api_url, private_pem, body)
                                posted += args.batch_size
                                if args.interval:
                                    await asyncio.sleep(args.interval)
                        ingest_seconds = time.perf_counter() - start
                        latencies = await drained(engine, prefix, within=600)
        finally:
            server.stop()
    return {
        "benchmark": "webhook_latency",
        "events": posted,
        "batch_interval_s": args.interval,
        "post_events_per_s": rate(posted, ingest_seconds),
        "webhook_signal_latency_ms": latency_ms(latencies),
        "machine": {**machine(), "load_after": load_average()},
    }


def main() -> None:
    configure_logging(level="WARNING")  # stderr: stdout carries only the JSON document
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
