"""The services the API's routes call, built once per app from settings (routes take them as
typed dependencies from `api.deps`; the CLI builds the same services in `cli.services`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from activities.contacts.double_opt_in import OptInService
from activities.contacts.privacy import PrivacyService
from activities.deliverability.sender_health import HealthPolicy
from activities.deliverability.senders import SenderService
from activities.enrollment.control import EnrollmentControl
from activities.events.business import BusinessEventService
from activities.events.forwarder import EventForwarder
from activities.events.ingest import EventIngestService
from activities.events.replies import ReplyService
from activities.events.signature import WebhookVerifier
from activities.events.triggers import TriggerRunner
from activities.events.unsubscribing import UnsubscribeService
from activities.notifications.dispatcher import NotificationDispatcher
from activities.replies.corrections import ReplyCorrections
from activities.replies.inbox import ReplyInbox
from activities.replies.intents import load_classifier
from activities.replies.notices import ReplyNotices
from api.rate_limit import RateLimits
from models.settings import Settings
from models.temporal_client import connect


def stops_company_on_reply(sequence: str) -> bool:
    """Whether the sequence asks a reply to stop the colleagues' enrollments too."""
    from workflows.registry import by_name  # workflow classes only, no I/O

    try:
        return by_name(sequence).stop_company_on_reply
    except KeyError:
        return False


@dataclass
class ApiServices:
    engine: sa.Engine
    ingest: EventIngestService
    replies: ReplyService
    unsubscribe: UnsubscribeService
    forwarder: EventForwarder
    senders: SenderService
    opt_in: OptInService
    control: EnrollmentControl
    privacy: PrivacyService
    business_events: BusinessEventService
    #: Enrolls what business events trigger; its Temporal client is the forwarder's.
    triggers: TriggerRunner
    #: None until NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY is set: event webhooks are then refused.
    verifier: WebhookVerifier | None
    #: The replies inbox (`GET /api/replies`) and a person's corrections (`PATCH`).
    inbox: ReplyInbox
    corrections: ReplyCorrections
    #: Per-address limits of the login and the links in emails.
    limits: RateLimits
    #: None while NURTURE_NOTIFY_URL is empty: no notification is queued then.
    notifications: NotificationDispatcher | None = None


def build_services(settings: Settings, engine: sa.Engine) -> ApiServices:
    from workflows.registry import configure  # workflow classes only, no I/O

    # NURTURE_SEQUENCES: a module that cannot load stops the app at start, naming the module.
    configure(settings.sequences)
    notices = ReplyNotices(settings.public_url) if settings.notify_url else None
    ingest = EventIngestService(
        engine,
        soft_bounce_limit=settings.soft_bounce_limit,
        stops_company_on_reply=stops_company_on_reply,
        health_policy=HealthPolicy.from_settings(settings),
        reply_notices=notices,
    )
    verifier = (
        WebhookVerifier(
            settings.sendgrid_webhook_public_key,
            replay_window_seconds=settings.webhook_replay_window_seconds,
        )
        if settings.sendgrid_webhook_public_key
        else None
    )
    forwarder = EventForwarder(
        engine, lambda: connect(settings), poll_seconds=settings.forwarder_poll_seconds
    )
    return ApiServices(
        engine=engine,
        ingest=ingest,
        replies=ReplyService(
            engine,
            ingest,
            settings.verification_keys,
            default_away_days=settings.away_default_days,
            classifier=load_classifier(settings.reply_classifier),
        ),
        inbox=ReplyInbox(engine),
        corrections=ReplyCorrections(engine, ingest, notices),
        limits=RateLimits.from_settings(settings),
        unsubscribe=UnsubscribeService(engine, ingest, settings.verification_keys),
        forwarder=forwarder,
        verifier=verifier,
        senders=SenderService(engine, HealthPolicy.from_settings(settings)),
        opt_in=OptInService.from_settings(settings, engine),
        control=EnrollmentControl(engine),
        privacy=PrivacyService(engine),
        business_events=BusinessEventService(engine),
        triggers=TriggerRunner(engine, forwarder.client, settings.task_queue),
        notifications=NotificationDispatcher(
            engine,
            url=settings.notify_url,
            secret=settings.notify_secret,
            timeout_seconds=settings.notify_timeout_seconds,
        )
        if settings.notify_url
        else None,
    )


__all__ = ["ApiServices", "build_services", "stops_company_on_reply"]
