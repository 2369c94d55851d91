"""The routes' typed dependencies (as the FastAPI template's `deps.py`): the settings, the
services built at start-up, the Temporal client, and who may call. They read the app's state so
that routes never do; a test swaps one with `app.dependency_overrides[...]`. The dashboard's
own (its queries, its login check) are in `api.dashboard`."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request
from temporalio.client import Client

from activities.cohorts.service import CohortService
from activities.contacts.double_opt_in import OptInService
from activities.contacts.privacy import PrivacyService
from activities.deliverability.senders import SenderService, TemporalConnector
from activities.enrollment.control import EnrollmentControl
from activities.enrollment.enrolling import EnrollmentService
from activities.events.forwarder import EventForwarder
from activities.events.signature import WebhookVerifier
from api.auth import check_bearer_token, check_inbound_password
from api.rate_limit import client_address
from api.services import ApiServices
from models.settings import Settings

# -- what the app was built with ------------------------------------------------------------------


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def app_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


SettingsDep = Annotated[Settings, Depends(app_settings)]
ServicesDep = Annotated[ApiServices, Depends(app_services)]


def engine(services: ServicesDep) -> sa.Engine:
    return services.engine


def forwarder(services: ServicesDep) -> EventForwarder:
    """The outbox relay: `wake()` it after committing rows it should deliver now."""
    return services.forwarder


def sender_service(services: ServicesDep) -> SenderService:
    return services.senders


def opt_in_service(services: ServicesDep) -> OptInService:
    return services.opt_in


def enrollment_control(services: ServicesDep) -> EnrollmentControl:
    return services.control


def privacy_service(services: ServicesDep) -> PrivacyService:
    return services.privacy


def event_verifier(services: ServicesDep) -> WebhookVerifier:
    """The Event Webhook's signature check; 403 while no public key is configured."""
    if services.verifier is None:
        raise HTTPException(
            403, "signed event webhook is not configured: set NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY"
        )
    return services.verifier


EngineDep = Annotated[sa.Engine, Depends(engine)]
ForwarderDep = Annotated[EventForwarder, Depends(forwarder)]
SenderServiceDep = Annotated[SenderService, Depends(sender_service)]
OptInServiceDep = Annotated[OptInService, Depends(opt_in_service)]
EnrollmentControlDep = Annotated[EnrollmentControl, Depends(enrollment_control)]
PrivacyServiceDep = Annotated[PrivacyService, Depends(privacy_service)]
EventVerifierDep = Annotated[WebhookVerifier, Depends(event_verifier)]


# -- Temporal --------------------------------------------------------------------------------------


def temporal_connector(services: ServicesDep) -> TemporalConnector:
    """Gives the app's Temporal client when called (connecting on first use; None while
    Temporal is unreachable): for a route that needs Temporal only after its own work."""
    return services.forwarder.client


TemporalConnectorDep = Annotated[TemporalConnector, Depends(temporal_connector)]


async def temporal_client_or_none(connect: TemporalConnectorDep) -> Client | None:
    return await connect()


OptionalTemporalDep = Annotated[Client | None, Depends(temporal_client_or_none)]


def temporal_client(client: OptionalTemporalDep) -> Client:
    """The Temporal client, for routes that cannot answer without it: 503 while unreachable."""
    if client is None:
        raise HTTPException(503, "Temporal is unreachable; try again shortly")
    return client


TemporalDep = Annotated[Client, Depends(temporal_client)]


def cohort_service(engine: EngineDep, client: TemporalDep, settings: SettingsDep) -> CohortService:
    return CohortService(engine, client, settings.task_queue, settings.templates_dir)


CohortServiceDep = Annotated[CohortService, Depends(cohort_service)]


def enrollment_service(
    engine: EngineDep, client: TemporalDep, settings: SettingsDep
) -> EnrollmentService:
    """Starts enrollments (`POST /api/enrollments`); 503 while Temporal is unreachable."""
    return EnrollmentService(engine, client, settings.task_queue)


EnrollmentServiceDep = Annotated[EnrollmentService, Depends(enrollment_service)]

# -- who may call ----------------------------------------------------------------------------------


def require_api_token(request: Request, settings: SettingsDep) -> None:
    """The ops API: `Authorization: Bearer NURTURE_API_TOKEN`, else 401."""
    check_bearer_token(settings, request.headers.get("authorization"))


def require_inbound_password(request: Request, settings: SettingsDep) -> None:
    """Inbound Parse: the configured Basic password, if one is set, else 401."""
    check_inbound_password(settings, request.headers.get("authorization"))


def limit_login(request: Request, services: ServicesDep) -> None:
    """One login attempt from the client's address; 429 when it made too many."""
    services.limits.login.attempt(client_address(request))


def limit_links(request: Request, services: ServicesDep) -> None:
    """One request for a page linked from an email (`/u/…`, `/c/…`); 429 when too many."""
    services.limits.links.attempt(client_address(request))


__all__ = [
    "CohortServiceDep",
    "EngineDep",
    "EnrollmentControlDep",
    "EnrollmentServiceDep",
    "EventVerifierDep",
    "ForwarderDep",
    "OptInServiceDep",
    "OptionalTemporalDep",
    "PrivacyServiceDep",
    "SenderServiceDep",
    "ServicesDep",
    "SettingsDep",
    "TemporalConnectorDep",
    "TemporalDep",
    "app_services",
    "app_settings",
    "cohort_service",
    "enrollment_service",
    "limit_links",
    "limit_login",
    "require_api_token",
    "require_inbound_password",
    "temporal_client",
    "temporal_client_or_none",
    "temporal_connector",
]
