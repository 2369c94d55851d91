"""Builds and runs the nurture worker: registers the sequences and the activities, nothing else."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from temporalio.client import Client
from temporalio.worker import Worker

from activities.cohorts import CohortActivities
from activities.enrollment_activities import EnrollmentActivities
from activities.sending import SendingService
from models.db import get_engine
from models.settings import Settings, get_settings
from models.temporal_client import connect
from workflows.cohort_launch import CohortLaunch
from workflows.registry import SEQUENCES

#: Activities block on SendGrid and the DB; this many run at once per worker.
ACTIVITY_THREADS = 32


def build_worker(
    client: Client,
    settings: Settings,
    engine: sa.Engine,
    *,
    task_queue: str | None = None,
    executor: ThreadPoolExecutor,
) -> Worker:
    """A worker with every sequence workflow and every activity registered.

    Activities run on `executor`'s threads; the worker takes at most that many at once.
    """
    queue = task_queue or settings.task_queue
    activities = EnrollmentActivities(engine, SendingService.from_settings(settings, engine))
    cohorts = CohortActivities(engine, queue)
    return Worker(
        client,
        task_queue=queue,
        workflows=[*SEQUENCES, CohortLaunch],
        activities=[*activities.all(), *cohorts.all()],
        activity_executor=executor,
        max_concurrent_activities=executor._max_workers,
    )


async def run(settings: Settings | None = None) -> None:
    """Run a worker until SIGINT or SIGTERM, then finish in-flight tasks and stop."""
    settings = settings or get_settings()
    client = await connect(settings)
    engine = get_engine(settings.effective_database_url)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker = build_worker(client, settings, engine, executor=executor)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with worker:
            logging.getLogger(__name__).info("worker polling task queue %s", settings.task_queue)
            await stop.wait()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run())


if __name__ == "__main__":
    main()
