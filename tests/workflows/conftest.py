"""Workflow test fixtures: one time-skipping server per session, a worker per test on its own task queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.workflows.scenarios import Enrollment, FakeSender, start_enrollment, start_env
from workflows.registry import SEQUENCES


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping server (pydantic converter, nurture's search attributes registered)."""
    environment = await start_env()
    try:
        yield environment
    finally:
        await environment.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"


@pytest.fixture
def sender() -> FakeSender:
    """The fake `send_step` activity; set `sender.fail[step] = "ConsentWithdrawn"` to block a step."""
    return FakeSender()


@pytest.fixture
def sequence_classes() -> list[type]:
    """Workflow classes the test worker registers (a test module may add its own)."""
    return list(SEQUENCES)


@pytest_asyncio.fixture
async def worker(
    env: WorkflowEnvironment, task_queue: str, sender: FakeSender, sequence_classes: list[type]
) -> AsyncIterator[Worker]:
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=sequence_classes,
        activities=sender.activities,
    ) as running:
        yield running


@pytest.fixture
def enroll(
    env: WorkflowEnvironment, task_queue: str, sender: FakeSender, worker: Worker
) -> Callable[..., Awaitable[Enrollment]]:
    """Start an enrollment of a fresh contact (trade_intro unless `sequence=` says otherwise)."""

    async def start(**kwargs: Any) -> Enrollment:
        return await start_enrollment(env.client, env, task_queue, sender, **kwargs)

    return start
