"""One live enrollment for integration tests: a sender and a contact in the DB, a real worker on
the dev server, the contact enrolled in trade_intro, and its intro sent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlmodel import select
from temporalio.client import Client

import worker as worker_module
from activities.enrollment.enrolling import EnrollmentService
from models.db import get_engine, session_scope
from models.settings import Settings
from models.tables import Contact, Message, MessageStatus
from models.temporal_client import connect
from tests.factories import make_contact, make_sender

#: Timings long enough that nothing but the intro goes out during a test.
SLOW = {"open_window": "P2D", "case_study_after": "P4D", "offer_after": "P4D"}


@dataclass
class LiveEnrollment:
    client: Client
    contact: Contact
    workflow_id: str
    intro: Message


async def until_intro_sent(engine: Any, workflow_id: str, seconds: float = 20) -> Message:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with session_scope(engine) as s:
            message = s.exec(
                select(Message).where(Message.workflow_id == workflow_id, Message.step == "intro")
            ).first()
        if message is not None and message.status == MessageStatus.SENT:
            return message
        await asyncio.sleep(0.1)
    raise AssertionError("intro never sent")


@asynccontextmanager
async def live_enrollment(settings: Settings, **contact: Any) -> AsyncIterator[LiveEnrollment]:
    """Yields once the intro is out; the worker runs until the block ends."""
    engine = get_engine(settings.database_url)
    make_sender(engine)
    person = make_contact(engine, **contact)
    client = await connect(settings)
    with ThreadPoolExecutor(4) as pool:
        async with worker_module.build_worker(client, settings, engine, executor=pool):
            workflow_id = await EnrollmentService(engine, client, settings.task_queue).enroll(
                "trade_intro", person.id, params=SLOW, send_windows=False
            )
            intro = await until_intro_sent(engine, workflow_id)
            yield LiveEnrollment(client, person, workflow_id, intro)
