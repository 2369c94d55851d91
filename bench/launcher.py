"""The bench's cohort launcher, a process of its own: nurture's `cohort_launch` workflow and its
activities, exactly as `worker.build_worker` registers them, on a task queue of their own — but
enrolling onto another task queue, which nothing polls while the launch is timed. So the
launch's start rate is measured as raw `start_workflow`'s is: nothing runs what was started
meanwhile (`bench/launch.py` then lets a nurture worker run the enrollments up to their wait).

    python -m bench.launcher --task-queue bench-launcher --enroll-onto bench-launched
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio.worker import Worker

from activities.cohorts import CohortActivities
from models.db import get_engine
from models.settings import get_settings
from models.temporal_client import connect
from worker import ACTIVITY_THREADS
from workflows.cohort_launch import CohortLaunch


async def run(task_queue: str, enroll_onto: str) -> None:
    settings = get_settings()
    client = await connect(settings)
    engine = get_engine(settings.effective_database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    cohorts = CohortActivities(engine, enroll_onto)
    # As worker.build_worker: the activity threads bound concurrent activities; the rest default.
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[CohortLaunch],
            activities=cohorts.all(),
            activity_executor=executor,
            max_concurrent_activities=ACTIVITY_THREADS,
        ):
            await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--enroll-onto", required=True)
    args = parser.parse_args()
    asyncio.run(run(args.task_queue, args.enroll_onto))


if __name__ == "__main__":
    main()
