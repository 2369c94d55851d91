"""`nurture dev`'s demo (what a newcomer sees after `make dev`): the sample buyers are a real cohort
that `GET /api/cohorts` lists with its members and whose funnel moves within a minute, a demo
quote request has enrolled the first buyer in quote_followup, and the terminal says which page
shows what."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cli.devstack import DEMO_COHORT_NAME, DEMO_CONTACTS
from cli.processes import free_port

TOKEN = "dev-api-token"


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"nurture dev exited ({proc.returncode}) while waiting for {what}")
        found = predicate()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}; output:\n{log.read_text()[-3000:]}")


def get(url: str) -> object | None:
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


def test_demo_is_a_real_cohort_with_a_moving_funnel_and_a_triggered_quote(tmp_path: Path):
    ports = {name: free_port() for name in ("temporal", "api", "simulator")}
    env = {
        **os.environ,
        "NURTURE_ENV": "dev",
        "NURTURE_API_TOKEN": TOKEN,
        "NURTURE_DATA_DIR": str(tmp_path / ".nurture"),
        "NURTURE_DATABASE_URL": "",
        "COLUMNS": "250",
    }
    argv = [
        str(Path(sys.executable).parent / "nurture"),
        "dev",
        "--no-ui",
        "--temporal-port",
        str(ports["temporal"]),
        "--api-port",
        str(ports["api"]),
        "--simulator-port",
        str(ports["simulator"]),
    ]
    log_path = tmp_path / "dev.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{ports['api']}"
    try:
        began = time.monotonic()
        cohorts = wait_for(
            lambda: get(f"{api}/api/cohorts"),
            120,
            "GET /api/cohorts to list a cohort",
            proc,
            log_path,
        )
        listed = time.monotonic()
        print(f"GET /api/cohorts listed the demo cohort {listed - began:.1f} s after start")
        assert [c["name"] for c in cohorts] == [DEMO_COHORT_NAME]
        cohort_id = cohorts[0]["id"]
        assert cohorts[0]["sequence"] == "trade_intro"

        def funnel_moved() -> dict | None:
            funnel = get(f"{api}/api/cohorts/{cohort_id}")
            if not isinstance(funnel, dict):
                return None
            steps = {s["step"]: s for s in funnel.get("steps", [])}
            sent = steps.get("intro", {}).get("counts", {}).get("sent")
            return funnel if sent == len(DEMO_CONTACTS) else None

        funnel = wait_for(
            funnel_moved, 120, "the demo funnel to show the intros sent", proc, log_path
        )
        print(f"its funnel showed every intro sent {time.monotonic() - listed:.1f} s later")
        assert funnel["members"] == len(DEMO_CONTACTS)

        quote = "nurture/quote_followup/"

        def quote_mailed() -> bool:
            try:
                mails = httpx.get(f"http://127.0.0.1:{ports['simulator']}/_sim/messages").json()
            except httpx.HTTPError:
                return False
            return any("quote_followup/quote" in m.get("categories", []) for m in mails)

        wait_for(quote_mailed, 60, "the triggered quote to reach the simulator", proc, log_path)
        output = log_path.read_text()
        assert f"enrolled in {quote}" in output
        for line in (
            f"http://localhost:{ports['api']}/  cohorts",
            f"http://localhost:{ports['api']}/cohorts/{cohort_id}",
            f"http://localhost:{ports['api']}/business-events",
            f"http://localhost:{ports['api']}/replies",
            "nurture simulate trade_intro",
        ):
            assert line in output, output[-3000:]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
