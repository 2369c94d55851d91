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

from activities.cohorts.activities import CohortActivities
from bench.serving import serve
from models.db import get_engine
from models.settings import get_settings
from models.temporal_client import connect
from workflows.cohort_launch import CohortLaunch


async def run(task_queue: str, enroll_onto: str) -> None:
    settings = get_settings()
    client = await connect(settings)
    engine = get_engine(settings.effective_database_url)
    cohorts = CohortActivities(engine, enroll_onto)
    await serve(client, task_queue, [CohortLaunch], cohorts.all())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--enroll-onto", required=True)
    args = parser.parse_args()
    asyncio.run(run(args.task_queue, args.enroll_onto))


if __name__ == "__main__":
    main()
