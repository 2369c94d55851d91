"""The services the `nurture` commands call, built from the environment's settings: the same
classes the API builds once per app in `api.services`, so each action does the same through
either door. Tests replace a builder here (`monkeypatch.setattr(services, "temporal", ...)`)."""

from __future__ import annotations

import sqlalchemy as sa
from rich.markup import escape
from temporalio.client import Client

from activities.cohorts.service import CohortService
from activities.contacts.double_opt_in import OptInService
from activities.contacts.privacy import PrivacyService
from activities.deliverability.sender_health import HealthPolicy
from activities.deliverability.senders import SenderService
from activities.enrollment.control import EnrollmentControl
from activities.events.business import BusinessEventService
from activities.events.triggers import TriggerRunner
from cli.output import EXIT_FAILED, err, fail
from models.db import get_engine
from models.settings import get_settings
from models.temporal_client import connect


def engine() -> sa.Engine:
    return get_engine(get_settings().effective_database_url)


def senders() -> SenderService:
    return SenderService(engine(), HealthPolicy.from_settings(get_settings()))


def privacy() -> PrivacyService:
    return PrivacyService(engine())


def opt_in() -> OptInService:
    return OptInService.from_settings(get_settings(), engine())


def enrollment_control() -> EnrollmentControl:
    return EnrollmentControl(engine())


def business_events() -> BusinessEventService:
    return BusinessEventService(engine())


def trigger_runner(client: Client | None) -> TriggerRunner:
    """The trigger runner on `client` (None: Temporal unreachable, triggers stay pending)."""

    async def connect() -> Client | None:
        return client

    return TriggerRunner(engine(), connect, get_settings().task_queue)


async def temporal_or_none() -> Client | None:
    """The Temporal client, or None (with a warning) when the server cannot be reached."""
    settings = get_settings()
    try:
        return await connect(settings)
    except RuntimeError as exc:  # the SDK's "Failed client connect"
        where = escape(settings.temporal_address)
        err.print(f"[yellow]warning:[/] Temporal at {where} is unreachable ({escape(str(exc))})")
        return None


async def temporal() -> Client:
    """The Temporal client; the command fails (exit 1) when the server cannot be reached."""
    client = await temporal_or_none()
    if client is None:
        fail(
            "this needs Temporal: start it (nurture dev) or check NURTURE_TEMPORAL_ADDRESS",
            EXIT_FAILED,
        )
    return client


async def cohorts() -> CohortService:
    settings = get_settings()
    return CohortService(engine(), await temporal(), settings.task_queue, settings.templates_dir)


__all__ = [
    "business_events",
    "cohorts",
    "engine",
    "enrollment_control",
    "opt_in",
    "privacy",
    "senders",
    "temporal",
    "temporal_or_none",
    "trigger_runner",
]
