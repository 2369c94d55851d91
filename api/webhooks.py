"""SendGrid's webhooks: the signed Event Webhook and Inbound Parse (replies).

Each answers 2xx only after what it received is committed; forwarding to the workflows happens
after, from the outbox, so a Temporal outage never loses an event.
"""

from __future__ import annotations

import base64
import hmac
import logging
import time
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from activities.events.esp_events import parse_event_batch
from activities.events.inbound_parse import parse_inbound
from activities.events.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from api.metrics import observe_webhook
from api.services import ApiServices
from models.errors import InvalidSignature, MalformedInbound, MalformedPayload

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/sendgrid", tags=["webhooks"])

#: Inbound Parse posts whole emails, attachments included (SendGrid's limit is 30 MB).
INBOUND_MAX_BYTES = 30 * 1024 * 1024


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` bytes (before reading it all if declared)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes is over the {limit}-byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"body is over the {limit}-byte limit")
    return bytes(body)


@router.post("/events")
async def event_webhook(request: Request) -> dict[str, int]:
    started = time.perf_counter()
    services: ApiServices = request.app.state.services
    body = await read_body(request, request.app.state.settings.webhook_max_bytes)
    if services.verifier is None:
        raise HTTPException(
            403, "signed event webhook is not configured: set NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY"
        )
    try:
        services.verifier.verify(
            body, request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER)
        )
    except InvalidSignature as exc:
        log.warning("event webhook refused: %s", exc.problem)
        raise HTTPException(403, f"invalid signature: {exc}") from None
    try:
        events = parse_event_batch(body)
    except MalformedPayload as exc:
        raise HTTPException(400, str(exc)) from None
    result = await run_in_threadpool(services.ingest.ingest_esp_events, events)
    observe_webhook(request, "events", started)
    if result.event_ids:
        services.forwarder.wake()
    return {
        "received": len(events),
        "stored": result.stored,
        "duplicates": result.duplicates,
        "uncorrelated": result.uncorrelated,
        "ignored": result.ignored,
    }


def check_inbound_auth(request: Request) -> None:
    """SendGrid does not sign Inbound Parse; a password in the URL (HTTP Basic) keeps strangers
    from posting fake replies when NURTURE_INBOUND_PARSE_PASSWORD is set."""
    expected: str = request.app.state.settings.inbound_parse_password
    if not expected:
        return
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        _, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        password = ""
    if scheme.lower() != "basic" or not hmac.compare_digest(password.encode(), expected.encode()):
        raise HTTPException(
            401,
            "inbound parse needs the configured Basic auth",
            headers={"WWW-Authenticate": "Basic"},
        )


@router.post("/inbound")
async def inbound_parse(request: Request) -> dict[str, bool]:
    started = time.perf_counter()
    check_inbound_auth(request)
    services: ApiServices = request.app.state.services
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > INBOUND_MAX_BYTES:
        raise HTTPException(413, f"inbound mail over {INBOUND_MAX_BYTES} bytes")
    try:
        form = await request.form(max_part_size=INBOUND_MAX_BYTES)
    except (MultiPartException, ValueError, KeyError) as exc:
        raise HTTPException(400, f"not a multipart/form-data Inbound Parse post: {exc}") from None
    # Attachments arrive as files; nurture reads only the text fields.
    fields = {key: value for key, value in form.multi_items() if not isinstance(value, UploadFile)}
    received = datetime.now(UTC)
    try:
        inbound = parse_inbound(fields, received=received.date())
    except MalformedInbound as exc:
        raise HTTPException(400, str(exc)) from None
    recorded = await run_in_threadpool(services.replies.record, inbound, received=received)
    observe_webhook(request, "inbound", started)
    if recorded.correlated and not recorded.duplicate:
        services.forwarder.wake()
    return {
        "correlated": recorded.correlated,
        "auto_reply": recorded.auto_reply,
        "duplicate": recorded.duplicate,
    }
