"""200 enrollments while the worker process is killed (SIGKILL) at random moments and started
again: every enrollment completes and no step reaches the simulator twice."""

from __future__ import annotations

import asyncio
import random

import pytest

from models.db import get_engine
from tests.faults.runs import STEPS, EnrollmentRun

ENROLLMENTS = 200


@pytest.mark.timeout(120)
async def test_worker_killed_at_random_moments_sends_each_step_at_most_once(
    sqlite_database_url, sim, dev_server, stack_settings, workers, fault_rng: random.Random
):
    settings = stack_settings(sqlite_database_url, dev_server.address)
    worker = workers(settings)
    worker.start()
    run = await EnrollmentRun.start(get_engine(sqlite_database_url), settings, sim, ENROLLMENTS)

    kills = fault_rng.randint(3, 5)
    for _ in range(kills):
        await run.strike_point(fault_rng, more_mails=(10, 60), patience=(1.0, 2.5))
        worker.kill()
        await asyncio.sleep(fault_rng.uniform(0.0, 1.0))
        worker.start()
    last_kill, mails_then = run.elapsed(), run.mails

    # What the dead workers held comes back after the send's 1-minute start-to-close timeout.
    results, audit = await run.finish(95)
    print(
        f"{kills} kills, the last at {last_kill:.1f} s ({mails_then} mails by then); "
        f"all ended at {run.elapsed():.1f} s; {audit.summary()}"
    )
    assert audit.problems == [], audit.problems[:20]
    assert len(results) == ENROLLMENTS
    assert audit.rows == ENROLLMENTS * len(STEPS)
