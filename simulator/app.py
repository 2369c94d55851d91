"""The simulator's HTTP app: SendGrid's `POST /v3/mail/send`, and `/_sim/...` for tests."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from simulator.faults import FaultQueue, FaultSpec
from simulator.mail import expand_mail_send, new_esp_message_id
from simulator.responses import bad_request, fault_response, payload_too_large, unauthorized
from simulator.store import ReceivedMessage, SimulatorStore
from simulator.validation import FieldError, validate_mail_send
from simulator.webhooks import ScriptedEvent, WebhookDispatcher, WebhooksDisabled

__all__ = ["MAX_BODY_BYTES", "create_app"]

logger = logging.getLogger("simulator")

#: SendGrid's limit on a whole mail/send request.
MAX_BODY_BYTES = 30 * 1024 * 1024


def create_app(
    api_key: str,
    *,
    store: SimulatorStore | None = None,
    faults: FaultQueue | None = None,
    webhooks: WebhookDispatcher | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """A SendGrid-compatible app that accepts `Authorization: Bearer {api_key}`.

    The store, fault queue and webhook dispatcher are `app.state.store`, `app.state.faults`
    and `app.state.webhooks`; the dispatcher hears of every stored message. Without one,
    webhooks are off (but the app still has a signing key to show).
    """
    store = store if store is not None else SimulatorStore()
    faults = faults if faults is not None else FaultQueue()
    webhooks = webhooks if webhooks is not None else WebhookDispatcher()
    store.on_message.append(webhooks.on_message)
    app = FastAPI(title="nurture ESP simulator", openapi_url=None)
    app.state.store = store
    app.state.faults = faults
    app.state.webhooks = webhooks
    app.include_router(_sendgrid_routes(api_key, store, faults, max_body_bytes))
    app.include_router(_control_routes(store, faults, webhooks))
    app.include_router(_fault_routes(faults))
    return app


def _sendgrid_routes(
    api_key: str, store: SimulatorStore, faults: FaultQueue, max_body_bytes: int
) -> APIRouter:
    """SendGrid's own API: `POST /v3/mail/send`."""
    router = APIRouter()
    expected = f"Bearer {api_key}".encode()

    @router.post("/v3/mail/send")
    async def mail_send(request: Request) -> Response:
        # Order as at SendGrid: auth, then the gateway (size, rate limit), then the payload.
        authorization = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(authorization, expected):
            logger.info("mail rejected status=401")
            return unauthorized()
        epoch = store.epoch
        body = await _read_limited(request, max_body_bytes)
        if body is None:
            logger.info("mail rejected status=413")
            return payload_too_large(max_body_bytes)
        fault = faults.take()
        if fault is not None:
            if fault.delay_seconds:
                await asyncio.sleep(fault.delay_seconds)
            if fault.status is not None:
                logger.info("mail rejected status=%d injected=true", fault.status)
                return fault_response(fault)
        try:
            payload = json.loads(body)
        except ValueError:
            logger.info("mail rejected status=400 fields=[body]")
            return bad_request([FieldError("Bad Request", None)])
        errors = validate_mail_send(payload)
        if errors:
            logger.info(
                "mail rejected status=400 fields=%s", sorted({str(e.field) for e in errors})
            )
            return bad_request(errors)
        esp_message_id = new_esp_message_id()
        messages = expand_mail_send(payload, esp_message_id, datetime.now(UTC))
        stored = store.add(messages, epoch=epoch)
        logger.info(
            "mail accepted esp_message_id=%s recipients=%d message_id=%s stored=%s",
            esp_message_id,
            len(messages),
            payload.get("custom_args", {}).get("message_id", "-"),
            stored,
        )
        return Response(status_code=202, headers={"X-Message-Id": esp_message_id})

    return router


def _control_routes(
    store: SimulatorStore, faults: FaultQueue, webhooks: WebhookDispatcher
) -> APIRouter:
    """`/_sim/...`: what tests and the dev stack ask of the simulator (messages, scripted
    events, faults, webhooks, scenario)."""
    router = APIRouter()

    @router.get("/_sim/messages")
    def list_messages(request: Request) -> list[dict[str, Any]]:
        """Received messages, newest last; filter by `recipient`, `esp_message_id`,
        `custom_args.<key>`."""
        query = request.query_params
        custom_args = {
            key.removeprefix("custom_args."): value
            for key, value in query.items()
            if key.startswith("custom_args.")
        }
        found = store.messages(
            recipient=query.get("recipient"),
            esp_message_id=query.get("esp_message_id"),
            custom_args=custom_args,
        )
        return [message.model_dump(mode="json") for message in found]

    @router.delete("/_sim/messages", status_code=204)
    def clear_messages() -> Response:
        """Forget all messages, pending faults, pending webhooks and the webhook log."""
        store.clear()
        faults.clear()
        webhooks.clear()
        return Response(status_code=204)

    @router.post("/_sim/events", status_code=202, response_model=None)
    def script_event(scripted: ScriptedEvent) -> dict[str, Any] | JSONResponse:
        """Post exactly this event (or inbound reply) for the newest matching stored mail."""
        message = _find_message(store, scripted)
        if message is None:
            return JSONResponse({"detail": "no stored message matches"}, status_code=404)
        try:
            if scripted.reply is not None:
                fields = webhooks.send_reply(message, scripted.reply)
                logger.info(
                    "reply scripted auto=%s raw=%s sg_message_id=%s",
                    scripted.reply.auto,
                    scripted.reply.raw,
                    message.sg_message_id,
                )
                return {"reply": fields}
            assert scripted.event is not None
            event = webhooks.send_event(
                message, scripted.event, scripted.details(message), detached=scripted.delayed
            )
        except WebhooksDisabled as exc:
            return JSONResponse({"detail": str(exc)}, status_code=409)
        logger.info(
            "event scripted event=%s sg_message_id=%s sg_event_id=%s",
            event["event"],
            message.sg_message_id,
            event["sg_event_id"],
        )
        return {"event": event}

    @router.get("/_sim/webhooks")
    def list_webhooks() -> dict[str, Any]:
        """Every webhook POST attempt (oldest first) and what is still to come."""
        return {
            "events_url": webhooks.config.events_url,
            "inbound_url": webhooks.config.inbound_url,
            **webhooks.status(),
            "posts": [record.model_dump(mode="json") for record in webhooks.posts()],
        }

    @router.get("/_sim/webhook-public-key")
    def webhook_public_key() -> dict[str, str]:
        """The Event Webhook verification key, as SendGrid shows it (base64 DER)."""
        return {"public_key": webhooks.public_key}

    @router.get("/_sim/scenario")
    def scenario() -> dict[str, Any]:
        """The scenario in play and the seed its plans draw from."""
        return {
            "seed": webhooks.planner.seed,
            "scenario": webhooks.scenario.model_dump(mode="json"),
        }

    return router


def _fault_routes(faults: FaultQueue) -> APIRouter:
    """`/_sim/faults`: failures the next send calls meet; and the simulator's health."""
    router = APIRouter()

    @router.post("/_sim/faults", status_code=201)
    def add_fault(spec: FaultSpec) -> dict[str, Any]:
        """Queue a fault for the next `count` send calls."""
        faults.add(spec)
        return {"pending": [f.model_dump() for f in faults.pending()]}

    @router.get("/_sim/faults")
    def list_faults() -> dict[str, Any]:
        return {"pending": [f.model_dump() for f in faults.pending()]}

    @router.delete("/_sim/faults", status_code=204)
    def clear_faults() -> Response:
        faults.clear()
        return Response(status_code=204)

    @router.get("/_sim/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return router


def _find_message(store: SimulatorStore, scripted: ScriptedEvent) -> ReceivedMessage | None:
    """The newest stored message matching every selector the script gave."""
    candidates = store.messages(
        recipient=scripted.recipient, esp_message_id=scripted.esp_message_id
    )
    if scripted.sg_message_id is not None:
        candidates = [m for m in candidates if m.sg_message_id == scripted.sg_message_id]
    if scripted.message_id is not None:
        candidates = [
            m
            for m in candidates
            if scripted.message_id
            in (m.custom_args.get("nurture_message_id"), m.custom_args.get("message_id"))
        ]
    return candidates[-1] if candidates else None


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or None if it exceeds `limit` (the rest is drained, not kept)."""
    declared = request.headers.get("content-length", "")
    too_large = declared.isdigit() and int(declared) > limit
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            too_large = True
        if not too_large:
            chunks.append(chunk)
    return None if too_large else b"".join(chunks)
