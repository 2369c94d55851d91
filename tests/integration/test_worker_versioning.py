"""Temporal Worker Versioning on the dev server (NURTURE_DEPLOYMENT_NAME, NURTURE_BUILD_ID): build 1
is current and an enrollment waits on its timer; build 2 changes trade_intro's flow without
`workflow.patched` and is made current with the official `temporal worker deployment
set-current-version`. A new enrollment runs on build 2 (its changed flow), the waiting one
finishes on build 1 with the old flow, no non-determinism."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.api.enums.v1 import EventType, RoutingConfigUpdateState, VersioningBehavior
from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentRequest
from temporalio.client import Client

import worker as worker_module
from activities.enrollment.enrolling import EnrollmentService
from cli.processes import installed_binary
from models.db import get_engine, session_scope
from models.enrollment import EnrollmentResult
from models.settings import Settings
from models.tables import Message, MessageStatus
from models.temporal_client import connect
from tests.factories import make_contact, make_sender
from tests.integration.enrollments import until_intro_sent
from tests.integration.replay_variants import UnpatchedTradeIntro
from tests.sim_fixtures import SIM_API_KEY
from workflows.cohort_launch import CohortLaunch
from workflows.maintenance import MAINTENANCE_WORKFLOWS

#: The waiting enrollment's bump is due well after build 2 is current (seconds in).
TIMINGS = {"open_window": "PT20S", "case_study_after": "PT22S", "offer_after": "PT1S"}


@pytest.fixture
def settings(migrated_templates, tmp_path: Path, simulator, dev_server_address: str) -> Settings:
    return Settings(
        database_url=migrated_templates.sqlite_copy(tmp_path / "nurture.db"),
        temporal_address=dev_server_address,
        task_queue=f"versioning-{uuid.uuid4()}",
        sendgrid_host=simulator.url,
        sendgrid_api_key=SIM_API_KEY,
        deployment_name=f"nurture-{uuid.uuid4().hex[:8]}",
        build_id="1",
    )


def test_deployment_and_build_are_set_together() -> None:
    with pytest.raises(ValueError, match="NURTURE_DEPLOYMENT_NAME and NURTURE_BUILD_ID"):
        Settings(deployment_name="nurture")
    with pytest.raises(ValueError, match="set both or neither"):
        Settings(build_id="1")
    assert worker_module.deployment_config(Settings()) is None


async def _set_current_version(client: Client, settings: Settings, seconds: float = 20) -> None:
    """`temporal worker deployment set-current-version`, as the README says, retried until the
    server has seen the build's pollers; returns once the task queues route by it."""
    argv = [
        installed_binary("temporal"),
        "worker",
        "deployment",
        "set-current-version",
        "--address",
        settings.temporal_address,
        "--namespace",
        settings.temporal_namespace,
        "--deployment-name",
        settings.deployment_name,
        "--build-id",
        settings.build_id,
        "--yes",
    ]
    deadline = time.monotonic() + seconds
    while True:
        done = await asyncio.to_thread(
            subprocess.run, argv, capture_output=True, text=True, timeout=30
        )
        if done.returncode == 0:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"set-current-version failed: {done.stdout}{done.stderr}")
        await asyncio.sleep(0.3)
    await _until_routed(client, settings, deadline)


async def _until_routed(client: Client, settings: Settings, deadline: float) -> None:
    """The new current version reaches the task queues a moment after the command returns: until
    then a new enrollment may still start on the previous build."""
    request = DescribeWorkerDeploymentRequest(
        namespace=settings.temporal_namespace, deployment_name=settings.deployment_name
    )
    while True:
        info = (
            await client.workflow_service.describe_worker_deployment(request)
        ).worker_deployment_info
        current = info.routing_config.current_deployment_version.build_id
        completed = RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED
        if current == settings.build_id and info.routing_config_update_state == completed:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{settings.build_id} not routed: {info}")
        await asyncio.sleep(0.1)


async def _versioning(client: Client, workflow_id: str) -> tuple[str, int]:
    """The build an enrollment runs on and its versioning behavior (describe)."""
    described = await client.get_workflow_handle(workflow_id).describe()
    info = described.raw_description.workflow_execution_info.versioning_info
    return info.deployment_version.build_id, info.behavior


def _steps(engine, workflow_id: str) -> list[str]:
    with session_scope(engine) as s:
        rows = s.exec(
            select(Message)
            .where(Message.workflow_id == workflow_id, Message.status == MessageStatus.SENT)
            .order_by(Message.sent_at)  # type: ignore[arg-type]
        ).all()
    return [m.step for m in rows]


async def _until_sent(engine, workflow_id: str, step: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while step not in _steps(engine, workflow_id):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{workflow_id}: {step} never sent ({_steps(engine, workflow_id)})"
            )
        await asyncio.sleep(0.1)


@pytest.fixture
def pools() -> Iterator[tuple[ThreadPoolExecutor, ThreadPoolExecutor]]:
    with ExitStack() as stack:
        yield (
            stack.enter_context(ThreadPoolExecutor(4)),
            stack.enter_context(ThreadPoolExecutor(4)),
        )


async def _enroll_on(
    client: Client, service: EnrollmentService, engine, build_id: str, seconds: float = 12
) -> str:
    """A new trade_intro enrollment that started on `build_id`. The server routes by a new
    current version a moment after it reports the change done (measured here: up to a few
    seconds): one started in between runs on the previous build, and is terminated and tried
    again with another contact."""
    deadline = time.monotonic() + seconds
    attempts = 0
    while True:
        attempts += 1
        workflow_id = await service.enroll(
            "trade_intro", make_contact(engine).id, params=TIMINGS, send_windows=False
        )
        await until_intro_sent(engine, workflow_id)
        started_on, _ = await _versioning(client, workflow_id)
        if started_on == build_id:
            print(f"started on build {build_id} at attempt {attempts}")
            return workflow_id
        await client.get_workflow_handle(workflow_id).terminate("started before its build routed")
        if time.monotonic() > deadline:
            raise AssertionError(f"new enrollments still start on build {started_on}")
        await asyncio.sleep(0.5)


async def test_in_flight_enrollments_finish_on_their_build(
    settings: Settings, pools, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = get_engine(settings.database_url)
    make_sender(engine)
    client = await connect(settings)
    service = EnrollmentService(engine, client, settings.task_queue)
    v2 = settings.model_copy(update={"build_id": "2"})
    pinned = VersioningBehavior.VERSIONING_BEHAVIOR_PINNED
    begun = time.monotonic()

    async with worker_module.build_worker(client, settings, engine, executor=pools[0]):
        await _set_current_version(client, settings)
        old = await _enroll_on(client, service, engine, "1")

        # Build 2: trade_intro sends the case study right after the intro, unpatched.
        monkeypatch.setattr(
            worker_module,
            "workflow_classes",
            lambda settings: [UnpatchedTradeIntro, CohortLaunch, *MAINTENANCE_WORKFLOWS],
        )
        async with worker_module.build_worker(client, v2, engine, executor=pools[1]):
            await _set_current_version(client, v2)
            new = await _enroll_on(client, service, engine, "2")
            await _until_sent(engine, new, "case_study")  # the changed flow
            assert _steps(engine, new) == ["intro", "case_study"]
            assert await _versioning(client, new) == ("2", pinned)
            promoted = time.monotonic()
            assert _steps(engine, old) == ["intro"], "build 2 was current too late to tell"

            # The waiting enrollment stays on build 1 and finishes the old flow there.
            handle = client.get_workflow_handle(old, result_type=EnrollmentResult)
            result = await asyncio.wait_for(handle.result(), timeout=40)
            took = time.monotonic() - begun
            print(f"build 2 ran a new one {promoted - begun:.1f}s in; old one done at {took:.1f}s")
            assert result.outcome == "completed", result
            assert _steps(engine, old) == ["intro", "bump", "case_study", "offer"]
            assert await _versioning(client, old) == ("1", pinned)
            history = await handle.fetch_history()
            failed = [
                e
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]
            assert failed == []
            await client.get_workflow_handle(new).terminate("test over")
