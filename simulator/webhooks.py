"""Plays SendGrid back to nurture: signed Event Webhook batches and Inbound Parse replies.

A `WebhookDispatcher` runs its own asyncio loop in a daemon thread. It schedules each mail's
planned events, batches them (size or time), signs each POST like SendGrid's Signed Event
Webhook, retries failed POSTs with backoff, and posts replies as multipart Inbound Parse forms.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from html import escape
from typing import Any, Literal, Self

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, model_validator

from simulator.scenario import (
    BounceKind,
    EventType,
    PlannedEvent,
    PlannedReply,
    Planner,
    Scenario,
    event_details,
    links_in,
    load_scenario,
)
from simulator.store import ReceivedMessage

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "EventSigner",
    "PostRecord",
    "ScriptedEvent",
    "ScriptedReply",
    "WebhookConfig",
    "WebhookDispatcher",
    "WebhooksDisabled",
    "build_event",
    "encode_multipart",
    "inbound_reply_fields",
    "new_event_id",
    "smtp_id",
]

logger = logging.getLogger("simulator.webhooks")

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

_STOP_TIMEOUT_SECONDS = 5.0


class WebhooksDisabled(RuntimeError):
    """The simulator has no URL to post this kind of webhook to."""


# -- signing -------------------------------------------------------------------------------


class EventSigner:
    """Signs Event Webhook POSTs as SendGrid does: ECDSA P-256, SHA-256, over timestamp + body."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("the webhook signing key must be an EC P-256 (secp256r1) key")
        self._private_key = private_key

    @classmethod
    def generate(cls) -> Self:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: bytes | str) -> Self:
        """From an unencrypted PEM private key (PKCS#8 or SEC1)."""
        data = pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the webhook signing key must be an EC P-256 private key")
        return cls(key)

    def private_key_pem(self) -> bytes:
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def public_key(self) -> str:
        """Base64 of the DER SubjectPublicKeyInfo: what SendGrid shows as the verification key."""
        der = self._private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode("ascii")

    def sign(self, timestamp: str, body: bytes) -> str:
        """Base64 of the DER ECDSA signature over `timestamp` (UTF-8) followed by `body`."""
        signature = self._private_key.sign(
            timestamp.encode("utf-8") + body, ec.ECDSA(hashes.SHA256())
        )
        return base64.b64encode(signature).decode("ascii")

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        """The two signature headers for `body`, timestamped now unless given."""
        timestamp = str(int(time.time())) if timestamp is None else timestamp
        return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: self.sign(timestamp, body)}


# -- what is posted ------------------------------------------------------------------------


def new_event_id() -> str:
    """A unique `sg_event_id` (22 url-safe base64 characters)."""
    return secrets.token_urlsafe(16)


def smtp_id(message: ReceivedMessage) -> str:
    """The mail's `smtp-id`: its own Message-ID header if it set one, else SendGrid's."""
    own = _header(message.headers, "Message-ID")
    return own if own else f"<{message.esp_message_id}@ismtpd0001p1sim.sendgrid.net>"


def build_event(
    message: ReceivedMessage,
    event: EventType | str,
    fields: Mapping[str, Any] | None = None,
    *,
    detached: bool = False,
    now: float | None = None,
) -> dict[str, Any]:
    """One Event Webhook object for `message`, as SendGrid posts it.

    Custom args are top-level keys (SendGrid flattens them) unless `detached`: an asynchronous
    bounce carries neither custom args nor categories, only the ids and the address.
    `fields` (type-specific details) are applied last, so they may override anything.
    """
    payload: dict[str, Any] = {} if detached else dict(message.custom_args)
    payload.update(
        {
            "email": message.recipient,
            "timestamp": int(time.time() if now is None else now),
            "event": str(event),
            "sg_event_id": new_event_id(),
            "sg_message_id": message.sg_message_id,
            "smtp-id": smtp_id(message),
        }
    )
    if not detached and message.categories:
        payload["category"] = list(message.categories)
    payload.update(fields or {})
    return payload


def inbound_reply_fields(
    message: ReceivedMessage,
    *,
    text: str | None = None,
    html: str | None = None,
    auto: bool = False,
    subject: str | None = None,
    headers: Mapping[str, str] | None = None,
    raw: bool = False,
    until: date | None = None,
    quote: bool = False,
    now: datetime | None = None,
) -> dict[str, str]:
    """The Inbound Parse form fields of the recipient's reply to `message`.

    Parsed (default): `headers`, `text`, `html`, `from`, `to`, `subject`, `envelope`,
    `charsets`, ... Raw: the whole RFC 822 message in `email` instead of headers/text/html.
    An auto-reply is an out-of-office with `Auto-Submitted: auto-replied`, away until `until`
    (default five days from now). `quote` appends the original text, quoted, to a reply.
    """
    now = now or datetime.now(UTC)
    original_id = smtp_id(message)
    reply_to = message.reply_to or message.from_email
    reply_to_name = message.reply_to_name if message.reply_to else message.from_name
    domain = message.recipient.rsplit("@", 1)[-1]
    if auto:
        until = until or (now + timedelta(days=5)).date()
        subject = subject or f"Out of Office: {message.subject}"
        text = text or (
            f"Thank you for your email. I am out of the office until {until:%B} {until.day} "
            "with limited access to email. I will reply when I return."
        )
    else:
        subject = subject or (
            message.subject
            if message.subject.lower().startswith("re:")
            else f"Re: {message.subject}"
        )
        text = text or "Thanks, I will get back to you."
        if quote:
            text = f"{text}\n\n{_quoted(message, now)}"
    html = html or "<div>" + "<br>".join(escape(line) for line in text.splitlines()) + "</div>"

    mime = EmailMessage()
    mime["Received"] = (
        f"from mail.{domain} (mail.{domain} [203.0.113.7]) by mx.sendgrid.net "
        f"with ESMTPS id {secrets.token_hex(8)}; {format_datetime(now)}"
    )
    mime["From"] = formataddr((message.recipient_name or "", message.recipient))
    mime["To"] = formataddr((reply_to_name or "", reply_to))
    mime["Subject"] = subject
    mime["Date"] = format_datetime(now)
    mime["Message-ID"] = make_msgid(domain=domain)
    mime["In-Reply-To"] = original_id
    references = _header(message.headers, "References")
    mime["References"] = f"{references} {original_id}" if references else original_id
    if auto:
        mime["Auto-Submitted"] = "auto-replied"
        mime["X-Autoreply"] = "yes"
    for name, value in (headers or {}).items():
        del mime[name]
        mime[name] = value
    mime.set_content(text)
    mime.add_alternative(html, subtype="html")

    common = {
        "to": str(mime["To"]),
        "from": str(mime["From"]),
        "subject": subject,
        "sender_ip": "203.0.113.7",
        "envelope": json.dumps({"to": [reply_to], "from": message.recipient}),
        "charsets": json.dumps(
            {"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "UTF-8", "html": "UTF-8"}
        ),
        "dkim": f"{{@{domain} : pass}}",
        "SPF": "pass",
        "spam_score": "0.1",
        "spam_report": "Spam detection software has NOT identified this incoming email as spam.",
    }
    if raw:
        return {**common, "email": mime.as_string(policy=SMTP)}
    header_block = mime.as_string().split("\n\n", 1)[0]
    return {
        **common,
        "headers": header_block + "\n",
        "text": text,
        "html": html,
        "attachments": "0",
    }


def _quoted(message: ReceivedMessage, now: datetime) -> str:
    original = (message.text or "").strip().splitlines()
    sender = formataddr((message.from_name or "", message.from_email))
    quoted = "\n".join(f"> {line}" if line else ">" for line in original)
    return f"On {now:%a, %d %b %Y} {sender} wrote:\n{quoted}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def encode_multipart(fields: Mapping[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body of plain UTF-8 fields, and its Content-Type."""
    boundary = "xYzZY" + secrets.token_hex(12)
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# -- scripted mode -------------------------------------------------------------------------


class ScriptedReply(BaseModel):
    """An inbound reply a test asks for; empty fields get realistic defaults."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    html: str | None = None
    auto: bool = False
    subject: str | None = None
    headers: dict[str, str] = {}
    raw: bool = False
    """Post the full message as `email` (Inbound Parse's raw mode) instead of parsed fields."""
    until: date | None = None
    """For an auto-reply: the return date the out-of-office text names."""
    quote: bool = False
    """Append the original mail's text, quoted, as mail clients do."""


class ScriptedEvent(BaseModel):
    """`POST /_sim/events`: one event (or reply) for one stored mail.

    The mail is the newest matching every selector given. Any other key is copied into the
    event, overriding the default details (`url`, `type`, `status`, `sg_machine_open`, ...).
    """

    model_config = ConfigDict(extra="allow")

    esp_message_id: str | None = None
    sg_message_id: str | None = None
    message_id: str | None = None
    """nurture's `nurture_message_id` custom arg (or a plain `message_id` one)."""
    recipient: str | None = None
    event: EventType | None = None
    delayed: bool = False
    """Post the event without custom args and categories, like SendGrid's async bounces."""
    reply: ScriptedReply | None = None

    @model_validator(mode="after")
    def _one_thing(self) -> Self:
        if not (self.esp_message_id or self.sg_message_id or self.message_id or self.recipient):
            raise ValueError(
                "name the mail: esp_message_id, sg_message_id, message_id or recipient"
            )
        if (self.event is None) == (self.reply is None):
            raise ValueError("give exactly one of event and reply")
        if self.reply is not None and (self.delayed or self.model_extra):
            raise ValueError("a reply takes no event fields")
        return self

    def details(self, message: ReceivedMessage) -> dict[str, Any]:
        """Default details for the event, overridden by the extra keys given."""
        assert self.event is not None
        extra = dict(self.model_extra or {})
        bounce = BounceKind.HARD
        if extra.get("type") == "blocked":
            bounce = BounceKind.BLOCK
        elif str(extra.get("status", "")).startswith("4"):
            bounce = BounceKind.SOFT
        defaults = event_details(
            self.event,
            random.Random(),
            bounce=bounce,
            machine=bool(extra.get("sg_machine_open", False)),
            attempt=int(extra["attempt"]) if str(extra.get("attempt", "")).isdigit() else 1,
            links=links_in(message),
        )
        return {**defaults, **extra}


# -- posting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookConfig:
    """Where and how to post. Webhooks are off while both URLs are None."""

    events_url: str | None = None
    inbound_url: str | None = None
    batch_size: int = 100
    flush_seconds: float = 1.0
    retry_initial_seconds: float = 1.0
    retry_max_interval_seconds: float = 60.0
    retry_give_up_seconds: float = 3600.0
    """SendGrid retries for 24 hours; the simulator gives up sooner (and logs it)."""
    timeout_seconds: float = 10.0
    log_limit: int = 10_000

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if min(self.flush_seconds, self.retry_initial_seconds, self.timeout_seconds) <= 0:
            raise ValueError("flush, retry and timeout seconds must be positive")


class PostRecord(BaseModel):
    """One POST attempt, as `GET /_sim/webhooks` lists it."""

    batch_id: str
    kind: Literal["events", "inbound"]
    url: str
    attempt: int
    status_code: int | None
    """None when the connection failed (see `error`)."""
    error: str | None = None
    gave_up: bool = False
    posted_at: datetime
    timestamp: str | None = None
    signature: str | None = None
    events: list[dict[str, Any]] | None = None
    fields: dict[str, str] | None = None


class WebhookDispatcher:
    """Schedules, batches, signs and posts; thread-safe, with its own loop in a daemon thread.

    `on_message` is the store callback: it plans the mail's events and returns at once.
    """

    def __init__(
        self,
        config: WebhookConfig | None = None,
        scenario: Scenario | None = None,
        signer: EventSigner | None = None,
        seed: int | None = None,
    ) -> None:
        self.config = config or WebhookConfig()
        self.scenario = scenario or load_scenario("scripted")
        self.signer = signer or EventSigner.generate()
        self.planner = Planner(self.scenario, seed)
        self._rng = random.Random(f"{self.planner.seed}|transport")
        self._lock = threading.Lock()
        self._log: deque[PostRecord] = deque(maxlen=self.config.log_limit)
        self._sequence = 0
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # Owned by the loop thread:
        self._pending: list[tuple[dict[str, Any], bool]] = []  # (event, is a duplicate)
        self._first_pending_at = 0.0
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wakeup: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.config.events_url or self.config.inbound_url)

    @property
    def public_key(self) -> str:
        return self.signer.public_key

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop thread; returns once it is ready. Idempotent."""
        with self._lock:
            self._stopped = False
            ready = self._ready
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(ready,), name="simulator-webhooks", daemon=True
                )
                self._thread.start()
        if not ready.wait(_STOP_TIMEOUT_SECONDS):
            raise RuntimeError("the webhook dispatcher did not start")

    def stop(self) -> None:
        """Cancel what is scheduled or in flight and end the thread; safe to call twice."""
        with self._lock:
            self._stopped = True
            thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or loop is None or stopping is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already closed
            loop.call_soon_threadsafe(stopping.set)
        thread.join(_STOP_TIMEOUT_SECONDS)
        with self._lock:
            self._thread = self._loop = None
            self._ready = threading.Event()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main(loop, ready))
        finally:
            loop.close()

    async def _main(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        self._wakeup, self._stopping = asyncio.Event(), asyncio.Event()
        async with httpx.AsyncClient(timeout=self.config.timeout_seconds) as client:
            self._client = client
            batcher = asyncio.create_task(self._batcher())
            with self._lock:
                self._loop = loop
            ready.set()
            await self._stopping.wait()
            batcher.cancel()
            tasks = list(self._tasks)
            self._drop_everything()
            await asyncio.gather(batcher, *tasks, return_exceptions=True)

    def _submit(self, callback: Callable[..., None], *args: Any) -> None:
        """Run `callback` on the loop thread, starting it if need be; dropped after `stop()`."""
        with self._lock:
            stopped = self._stopped
        if stopped:
            logger.debug("webhook dispatcher stopped: dropping %s", callback.__name__)
            return
        self.start()
        with self._lock:
            loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(callback, *args)

    # -- what callers use -----------------------------------------------------------------

    def on_message(self, message: ReceivedMessage) -> None:
        """Store callback: plan the mail's events and schedule them (no-op while disabled)."""
        if not self.enabled or not self.scenario.automatic:
            return
        plan = self.planner.plan(message)
        if plan:
            self._submit(self._schedule, message, plan)

    def send_event(
        self,
        message: ReceivedMessage,
        event: EventType,
        fields: Mapping[str, Any] | None = None,
        *,
        detached: bool = False,
    ) -> dict[str, Any]:
        """Queue exactly this event for the next batch; return it as it will be posted."""
        if not self.config.events_url:
            raise WebhooksDisabled("no webhook URL configured (--webhook-url)")
        payload = build_event(message, event, fields, detached=detached)
        self._submit(self._enqueue, [payload])
        return payload

    def send_reply(self, message: ReceivedMessage, reply: ScriptedReply) -> dict[str, str]:
        """Post this inbound reply now; return its form fields."""
        if not self.config.inbound_url:
            raise WebhooksDisabled("no inbound URL configured (--inbound-url)")
        fields = inbound_reply_fields(message, **reply.model_dump())
        self._submit(self._post_inbound, fields)
        return fields

    def posts(self) -> list[PostRecord]:
        """Every POST attempt so far, oldest first."""
        with self._lock:
            return list(self._log)

    def status(self) -> dict[str, int]:
        """How much is still to come: scheduled events, events awaiting a batch, POSTs in flight."""
        return {
            "scheduled": len(self._timers),
            "pending_events": len(self._pending),
            "in_flight": len(self._tasks),
        }

    def idle(self) -> bool:
        return not any(self.status().values())

    def clear(self) -> None:
        """Drop everything scheduled, pending or in flight, and the log."""
        with self._lock:
            loop, thread = self._loop, self._thread
        if loop is not None and threading.current_thread() is not thread:
            done = threading.Event()

            def drop() -> None:
                self._drop_everything()
                done.set()

            loop.call_soon_threadsafe(drop)
            done.wait(_STOP_TIMEOUT_SECONDS)
        self.planner.reset()
        with self._lock:
            self._log.clear()
            self._sequence = 0

    # -- on the loop thread ---------------------------------------------------------------

    def _drop_everything(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        self._timers.clear()
        self._tasks.clear()
        self._pending.clear()

    def _schedule(self, message: ReceivedMessage, plan: list[PlannedEvent | PlannedReply]) -> None:
        for item in plan:
            self._later(item.after_seconds, self._fire, message, item)

    def _later(self, delay: float, callback: Callable[..., None], *args: Any) -> None:
        def fire() -> None:
            self._timers.discard(handle)
            callback(*args)

        handle = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(handle)

    def _fire(self, message: ReceivedMessage, item: PlannedEvent | PlannedReply) -> None:
        if isinstance(item, PlannedEvent):
            if self.config.events_url:
                self._enqueue(
                    [build_event(message, item.event, item.fields, detached=item.detached)]
                )
        elif self.config.inbound_url:
            self._post_inbound(
                inbound_reply_fields(
                    message, text=item.text, auto=item.auto, raw=item.raw, quote=not item.auto
                )
            )

    def _enqueue(self, events: list[dict[str, Any]], duplicates: bool = False) -> None:
        assert self._wakeup is not None
        if not self._pending:
            self._first_pending_at = asyncio.get_running_loop().time()
        self._pending.extend((event, duplicates) for event in events)
        self._wakeup.set()

    async def _batcher(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        size, flush = self.config.batch_size, self.config.flush_seconds
        while True:
            await self._wakeup.wait()
            while self._pending:
                deadline = self._first_pending_at + flush
                while len(self._pending) < size and (remaining := deadline - loop.time()) > 0:
                    self._wakeup.clear()
                    try:
                        await asyncio.wait_for(self._wakeup.wait(), remaining)
                    except TimeoutError:
                        break
                if not self._pending:
                    break  # cleared while waiting
                batch, self._pending = self._pending[:size], self._pending[size:]
                self._first_pending_at = loop.time()
                self._post_batch(batch)
            self._wakeup.clear()

    def _post_batch(self, batch: list[tuple[dict[str, Any], bool]]) -> None:
        assert self.config.events_url is not None
        rng, scenario = self._rng, self.scenario
        events = [event for event, _ in batch]
        again = [event for event, copy in batch if not copy and rng.random() < scenario.duplicate]
        if len(events) > 1 and rng.random() < scenario.reorder:
            original = list(events)
            rng.shuffle(events)
            if events == original:
                events.reverse()
        body = json.dumps(events, separators=(",", ":")).encode()
        self._spawn(
            self._deliver(
                "events",
                self.config.events_url,
                body,
                {"Content-Type": "application/json", "User-Agent": "SendGrid Event API"},
                signed=True,
                record={"events": events},
            )
        )
        if again:
            self._enqueue(again, duplicates=True)  # SendGrid is at-least-once

    def _post_inbound(self, fields: dict[str, str]) -> None:
        assert self.config.inbound_url is not None
        body, content_type = encode_multipart(fields)
        self._spawn(
            self._deliver(
                "inbound",
                self.config.inbound_url,
                body,
                {"Content-Type": content_type, "User-Agent": "Sendlib/1.0"},
                signed=False,
                record={"fields": fields},
            )
        )

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(
        self,
        kind: Literal["events", "inbound"],
        url: str,
        body: bytes,
        headers: dict[str, str],
        *,
        signed: bool,
        record: dict[str, Any],
    ) -> None:
        """POST until a 2xx, backing off; give up after `retry_give_up_seconds`."""
        assert self._client is not None
        config = self.config
        with self._lock:
            self._sequence += 1
            batch_id = f"{kind}-{self._sequence}"
        started = time.monotonic()
        delay = config.retry_initial_seconds
        attempt = 0
        while True:
            attempt += 1
            signature = self.signer.headers(body) if signed else {}
            status: int | None = None
            error: str | None = None
            error_kind = "-"
            try:
                response = await self._client.post(
                    url, content=body, headers={**headers, **signature}
                )
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                error_kind = type(exc).__name__
            ok = status is not None and 200 <= status < 300
            gave_up = not ok and time.monotonic() - started + delay > config.retry_give_up_seconds
            self._record(
                PostRecord(
                    batch_id=batch_id,
                    kind=kind,
                    url=url,
                    attempt=attempt,
                    status_code=status,
                    error=error,
                    gave_up=gave_up,
                    posted_at=datetime.now(UTC),
                    timestamp=signature.get(TIMESTAMP_HEADER),
                    signature=signature.get(SIGNATURE_HEADER),
                    **record,
                )
            )
            size = len(record["events"]) if kind == "events" else 1
            if ok:
                logger.info(
                    "webhook posted kind=%s batch=%s size=%d attempt=%d status=%s",
                    kind,
                    batch_id,
                    size,
                    attempt,
                    status,
                )
                return
            if gave_up:
                logger.warning(
                    "webhook given up kind=%s batch=%s size=%d attempts=%d",
                    kind,
                    batch_id,
                    size,
                    attempt,
                )
                return
            logger.info(
                "webhook failed kind=%s batch=%s attempt=%d status=%s error=%s; retrying in %.2fs",
                kind,
                batch_id,
                attempt,
                status,
                error_kind,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, config.retry_max_interval_seconds)

    def _record(self, record: PostRecord) -> None:
        with self._lock:
            self._log.append(record)
