"""Benchmark: the send step (consent check, render, message row, real `sendgrid` client) into the
ESP simulator on SQLite, sequential and with worker threads. Prints one JSON document.

    .venv/bin/python -m bench.send_throughput [--messages 500] [--threads 8]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from activities.contacts.store import ConsentEvidence, upsert_contact
from activities.deliverability.senders import ensure_sender
from activities.enrollment.rendering import Renderer
from activities.enrollment.sendgrid_transport import SendGridTransport
from activities.enrollment.sending import Links, SendingService
from bench import UNLIMITED
from bench.figures import load_average, machine
from models.db import get_engine, upgrade
from models.enrollment import SendStepInput, enrollment_workflow_id
from models.settings import PROJECT_ROOT
from simulator import running_simulator

API_KEY = "SG.bench"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_simulator(API_KEY) as sim:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = get_engine(url)
        ensure_sender(
            engine,
            "default",
            from_email="bench@example.com",
            from_name="Bench",
            postal_address="1 Bench St",
            **UNLIMITED,
        )
        evidence = ConsentEvidence(source="bench")
        contacts = [
            upsert_contact(engine, f"c{i}@example.com", consent=evidence, first_name="Ann")
            for i in range(args.messages)
        ]
        service = SendingService(
            engine,
            SendGridTransport(api_key=API_KEY, host=sim.url, timeout_seconds=10),
            Renderer(PROJECT_ROOT / "templates"),
            Links("http://localhost:8000", "in.example.com", "bench-secret"),
        )

        def send(contact_index: int) -> None:
            contact = contacts[contact_index]
            service.send_step(
                SendStepInput(
                    message_id=str(uuid.uuid4()),
                    workflow_id=enrollment_workflow_id("trade_intro", contact.id),
                    contact_id=contact.id,
                    sequence="trade_intro",
                    step="intro",
                    template="trade_intro/intro",
                )
            )

        half = args.messages // 2
        start = time.perf_counter()
        for i in range(half):
            send(i)
        sequential = half / (time.perf_counter() - start)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(send, range(half, args.messages)))
        threaded = (args.messages - half) / (time.perf_counter() - start)
    print(
        json.dumps(
            {
                "benchmark": "send_step",
                "sends_per_s_sequential": round(sequential, 1),
                "sends_per_s_threaded": round(threaded, 1),
                "threads": args.threads,
                "messages": args.messages,
                "machine": {**machine(), "load_after": load_average()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
