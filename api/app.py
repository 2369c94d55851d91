"""Builds the FastAPI application from settings; runs the event forwarder, the trigger runner and
(when NURTURE_NOTIFY_URL is set) the notification dispatcher beside it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from api import (
    cohorts,
    contacts,
    dashboard,
    enrollments,
    events,
    health,
    privacy,
    replies,
    senders,
    unsubscribe,
    webhooks,
)
from api.access_log import AccessLog
from api.errors import register_error_handlers
from api.metrics import install_metrics
from api.rate_limit import answer_rate_limited
from api.security_headers import SecurityHeaders
from api.services import build_services
from models.config_check import exit_unless_fit
from models.db import get_engine
from models.errors import RateLimited
from models.log_setup import configure_logging
from models.settings import Settings, get_settings


def create_app(settings: Settings | None = None, *, run_forwarder: bool = True) -> FastAPI:
    """The app; `run_forwarder=False` leaves forwarding, the trigger runner's and the notification
    dispatcher's background loops to the caller (tests drive them)."""
    settings = settings or get_settings()
    engine = get_engine(settings.effective_database_url)
    services = build_services(settings, engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = (
            [
                asyncio.create_task(services.forwarder.run()),
                # Triggers a restart left pending, and retries while Temporal was down.
                asyncio.create_task(services.triggers.run()),
            ]
            if run_forwarder
            else []
        )
        if run_forwarder and services.notifications is not None:
            tasks.append(asyncio.create_task(services.notifications.run()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(title="nurture", version="0.1.0", lifespan=lifespan)
    # What `api.deps` hands the routes: set here, read nowhere else.
    app.state.settings = settings
    app.state.services = services
    register_error_handlers(app)
    app.add_exception_handler(RateLimited, answer_rate_limited)
    install_metrics(app, engine, services.forwarder)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    app.include_router(health.router)
    app.include_router(webhooks.router)
    app.include_router(unsubscribe.router)
    app.include_router(senders.router)
    app.include_router(enrollments.router)
    app.include_router(events.router)
    app.include_router(replies.router)
    app.include_router(cohorts.router)
    app.include_router(privacy.router)
    app.include_router(contacts.router)
    app.include_router(contacts.confirm_router)
    app.include_router(dashboard.router)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory api.app:app_from_env`; configures this process's logs.
    Under NURTURE_ENV=production an unfit configuration exits before anything connects."""
    settings = get_settings()
    exit_unless_fit(settings, "api")
    configure_logging(settings)
    return create_app(settings)
