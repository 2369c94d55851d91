"""Enrollments while the database goes away for a few seconds: on PostgreSQL the worker's
connections are cut and new ones refused (a proxy switched off, the shared server untouched); on
SQLite another connection holds the write lock. Activities retry; nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from models.db import get_engine, normalise_url, upgrade
from tests.conftest import POSTGRES_URL, _drop_postgres_database, _fresh_postgres_database
from tests.faults.db_proxy import SwitchableProxy
from tests.faults.runs import STEPS, EnrollmentRun, SendAudit, retried_activities

ENROLLMENTS = 200
#: Writers only queue behind a lock (busy_timeout): fewer enrollments prove as much.
SQLITE_ENROLLMENTS = 100


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (skipped without NURTURE_TEST_POSTGRES_URL)."""
    if not POSTGRES_URL:
        pytest.skip("NURTURE_TEST_POSTGRES_URL is not set")
    url, admin = _fresh_postgres_database()
    try:
        upgrade(url)
        yield url
    finally:
        _drop_postgres_database(url, admin)


async def run_through_outage(
    run: EnrollmentRun, outage: Callable[[float], None], rng: random.Random
) -> tuple[SendAudit, int]:
    """Strike once mail flows: `outage(seconds)` (blocking, in a thread); then wait for every
    end. The audit and the number of activities that needed a retry."""
    await run.strike_point(rng, more_mails=(50, 300), patience=(20.0, 30.0))
    at, mails_then = run.elapsed(), run.mails
    seconds = rng.uniform(4.0, 6.0)
    await asyncio.to_thread(outage, seconds)
    _, audit = await run.finish(90)
    retried = await retried_activities(run.client, run.workflow_ids)
    print(
        f"database away at {at:.1f} s ({mails_then} mails by then) for {seconds:.1f} s; "
        f"{retried} activities retried; all ended at {run.elapsed():.1f} s; {audit.summary()}"
    )
    return audit, retried


@pytest.mark.timeout(120)
async def test_postgres_unreachable_for_seconds_activities_retry_nothing_lost_or_doubled(
    postgres_database_url, sim, dev_server, stack_settings, workers, fault_rng
):
    direct = sa.make_url(normalise_url(postgres_database_url))
    with SwitchableProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        through_proxy = direct.set(host="127.0.0.1", port=proxy.port)
        settings = stack_settings(
            through_proxy.render_as_string(hide_password=False), dev_server.address
        )
        worker = workers(settings)
        worker.start()
        # The test itself seeds and audits over its own, direct connection.
        run = await EnrollmentRun.start(
            get_engine(postgres_database_url), settings, sim, ENROLLMENTS
        )

        def outage(seconds: float) -> None:
            proxy.off()
            time.sleep(seconds)
            proxy.on()

        audit, retried = await run_through_outage(run, outage, fault_rng)
    assert worker.running, "the worker process died"
    assert audit.problems == [], audit.problems[:20]
    assert audit.rows == ENROLLMENTS * len(STEPS)
    assert retried > 0, "the outage hit no activity: it proved nothing"


@pytest.mark.timeout(120)
async def test_sqlite_write_locked_for_seconds_nothing_lost_or_doubled(
    sqlite_database_url, sim, dev_server, stack_settings, workers, fault_rng
):
    settings = stack_settings(sqlite_database_url, dev_server.address)
    worker = workers(settings)
    worker.start()
    run = await EnrollmentRun.start(
        get_engine(sqlite_database_url), settings, sim, SQLITE_ENROLLMENTS
    )

    def outage(seconds: float) -> None:
        holder = sqlite3.connect(sqlite_database_url.split("///", 1)[1], isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")  # every writer waits (busy_timeout) meanwhile
            time.sleep(seconds)
            holder.execute("COMMIT")
        finally:
            holder.close()

    audit, _ = await run_through_outage(run, outage, fault_rng)
    assert worker.running, "the worker process died"
    assert audit.problems == [], audit.problems[:20]
    assert audit.rows == SQLITE_ENROLLMENTS * len(STEPS)
