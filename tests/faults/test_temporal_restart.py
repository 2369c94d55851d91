"""200 enrollments while the Temporal dev server (SQLite file, WAL) is stopped and started again
mid-run, once politely (SIGTERM) and once as a crash (SIGKILL), in a random order: the worker
process rides it out, every enrollment completes, and no step reaches the simulator twice."""

from __future__ import annotations

import asyncio
import random

import pytest

from models.db import get_engine
from tests.faults.runs import STEPS, EnrollmentRun

ENROLLMENTS = 200


@pytest.mark.timeout(120)
async def test_dev_server_restarted_mid_run_loses_no_enrollment_and_doubles_no_step(
    sqlite_database_url, sim, dev_server, stack_settings, workers, fault_rng: random.Random
):
    settings = stack_settings(sqlite_database_url, dev_server.address)
    worker = workers(settings)
    worker.start()
    run = await EnrollmentRun.start(get_engine(sqlite_database_url), settings, sim, ENROLLMENTS)

    outages = []
    for how in fault_rng.sample(["stop", "kill"], 2):
        await run.strike_point(fault_rng, more_mails=(20, 150), patience=(2.0, 5.0))
        at = run.elapsed()
        dev_server.stop() if how == "stop" else dev_server.kill()
        await asyncio.sleep(fault_rng.uniform(2.0, 5.0))
        dev_server.start()  # same port, same SQLite file
        outages.append(f"{how} at {at:.1f} s for {run.elapsed() - at:.1f} s")

    results, audit = await run.finish(95)
    print(f"dev server {', '.join(outages)}; all ended at {run.elapsed():.1f} s; {audit.summary()}")
    assert worker.running, "the worker process did not survive the restarts"
    assert audit.problems == [], audit.problems[:20]
    assert len(results) == ENROLLMENTS
    assert audit.rows == ENROLLMENTS * len(STEPS)
