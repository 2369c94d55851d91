"""Builds and runs the nurture worker: registers the sequences and the activities, nothing else,
in its Worker Deployment version when NURTURE_DEPLOYMENT_NAME and NURTURE_BUILD_ID are set; and
the `Replayer` that replays histories against the same workflows and data converter."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
import structlog
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.worker import Replayer, Worker, WorkerDeploymentConfig

from activities.cohorts.activities import CohortActivities
from activities.deliverability.dns import Resolver
from activities.enrollment.activities import EnrollmentActivities
from activities.enrollment.sending import SendingService
from activities.maintenance.activities import MaintenanceActivities
from activities.maintenance.schedules import ensure_schedules
from models.config_check import exit_unless_fit
from models.db import get_engine
from models.log_setup import configure_logging
from models.settings import Settings, get_settings
from models.temporal_client import connect, metrics_runtime
from workflows.cohort_launch import CohortLaunch
from workflows.maintenance import MAINTENANCE_WORKFLOWS
from workflows.registry import configure

#: Activities block on SendGrid and the DB; this many run at once per worker.
ACTIVITY_THREADS = 32

log = structlog.stdlib.get_logger("worker")  # __name__ is "__main__" under `python -m`


def workflow_classes(settings: Settings) -> list[type]:
    """The workflows a worker registers: every sequence (nurture's own and NURTURE_SEQUENCES'),
    the cohort launch and the maintenance workflows its schedules start."""
    return [*configure(settings.sequences), CohortLaunch, *MAINTENANCE_WORKFLOWS]


def replayer(workflows: Sequence[type], *, runtime: Runtime | None = None) -> Replayer:
    """Replays histories against `workflows` with the data converter every client uses
    (`models.temporal_client`): the replay tests and `nurture sequences check-replay`."""
    return Replayer(workflows=workflows, data_converter=pydantic_data_converter, runtime=runtime)


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """Temporal Worker Versioning, when NURTURE_DEPLOYMENT_NAME and NURTURE_BUILD_ID are set: this
    worker serves only its own build, and every workflow it runs is pinned (an enrollment, a
    cohort launch finishes on the build it started on). Pinned is the worker's default, not each
    `workflow.defn`'s: the server refuses a behaviour from an unversioned worker. None: an
    unversioned worker."""
    if not settings.deployment_name:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(settings.deployment_name, settings.build_id),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.PINNED,
    )


def build_worker(
    client: Client,
    settings: Settings,
    engine: sa.Engine,
    *,
    task_queue: str | None = None,
    executor: ThreadPoolExecutor,
    resolver: Resolver | None = None,
) -> Worker:
    """A worker with every sequence workflow (nurture's own and NURTURE_SEQUENCES') and every
    activity registered.

    Activities run on `executor`'s threads; the worker takes at most that many at once. The
    sender DNS re-check asks `resolver` (default: this machine's name servers). Versioned by
    `deployment_config(settings)`.
    """
    queue = task_queue or settings.task_queue
    # NURTURE_SEQUENCES first: the send step renders from their templates folders too.
    workflows = workflow_classes(settings)
    activities = EnrollmentActivities(engine, SendingService.from_settings(settings, engine))
    cohorts = CohortActivities(engine, queue)
    maintenance = MaintenanceActivities(engine, settings, resolver=resolver)
    return Worker(
        client,
        task_queue=queue,
        workflows=workflows,
        activities=[*activities.all(), *cohorts.all(), *maintenance.all()],
        activity_executor=executor,
        max_concurrent_activities=executor._max_workers,
        deployment_config=deployment_config(settings),
    )


def worker_runtime(settings: Settings) -> Runtime | None:
    """The runtime exporting Temporal SDK metrics when NURTURE_WORKER_METRICS_PORT is set."""
    if settings.worker_metrics_port is None:
        return None
    return metrics_runtime(f"{settings.worker_metrics_host}:{settings.worker_metrics_port}")


async def run(
    settings: Settings | None = None,
    *,
    stop: asyncio.Event | None = None,
    resolver: Resolver | None = None,
) -> None:
    """Create or update the maintenance schedules, then run a worker until `stop` is set (by
    default: SIGINT or SIGTERM), then finish in-flight tasks and stop."""
    settings = settings or get_settings()
    configure(settings.sequences)  # a module that does not load stops it before it connects
    client = await connect(settings, runtime=worker_runtime(settings))
    engine = get_engine(settings.effective_database_url)
    await ensure_schedules(client, settings)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker = build_worker(client, settings, engine, executor=executor, resolver=resolver)
        async with worker:
            log.info(
                "worker polling",
                task_queue=settings.task_queue,
                metrics_port=settings.worker_metrics_port,
                deployment=settings.deployment_name or None,
                build_id=settings.build_id or None,
            )
            await stop.wait()


def main() -> None:
    settings = get_settings()
    exit_unless_fit(settings, "worker")  # before connecting to anything
    configure_logging(settings)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
