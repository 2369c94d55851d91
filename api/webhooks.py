"""SendGrid's webhooks: the signed Event Webhook and Inbound Parse (replies).

Each answers 2xx only after what it received is committed; forwarding to the workflows happens
after, from the outbox, so a Temporal outage never loses an event.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from activities.events.esp_events import parse_event_batch
from activities.events.inbound_parse import parse_inbound
from activities.events.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from api.deps import EventVerifierDep, ServicesDep, SettingsDep, require_inbound_password
from api.metrics import MetricsDep, observe_webhook

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
async def event_webhook(
    request: Request,
    settings: SettingsDep,
    services: ServicesDep,
    verifier: EventVerifierDep,
    metrics: MetricsDep,
) -> dict[str, int]:
    """Verify the signature (InvalidSignature: 403), parse (MalformedPayload: 400), commit."""
    started = time.perf_counter()
    body = await read_body(request, settings.webhook_max_bytes)
    verifier.verify(
        body, request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER)
    )
    events = parse_event_batch(body)
    result = await asyncio.to_thread(services.ingest.ingest_esp_events, events)
    observe_webhook(metrics, "events", started)
    if result.event_ids:
        services.forwarder.wake()
    return {
        "received": len(events),
        "stored": result.stored,
        "duplicates": result.duplicates,
        "uncorrelated": result.uncorrelated,
        "ignored": result.ignored,
    }


@router.post("/inbound", dependencies=[Depends(require_inbound_password)])
async def inbound_parse(
    request: Request, services: ServicesDep, metrics: MetricsDep
) -> dict[str, bool | str]:
    """Parse the posted email (MalformedInbound: 400), record the reply (classified), commit."""
    started = time.perf_counter()
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
    inbound = parse_inbound(fields, received=received.date())
    recorded = await asyncio.to_thread(services.replies.record, inbound, received=received)
    observe_webhook(metrics, "inbound", started)
    if recorded.correlated and not recorded.duplicate:
        services.forwarder.wake()
    return {
        "correlated": recorded.correlated,
        "auto_reply": recorded.auto_reply,
        "duplicate": recorded.duplicate,
        "intent": recorded.intent.value,
    }
