"""Sends one prepared mail through the official `sendgrid` client and maps its failures onto
nurture's `EspError` family. Synchronous, like the client: call it from a worker thread.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.error
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from models.errors import EspRateLimited, EspRejected, EspUnavailable
from models.settings import Settings

#: Client errors that resending the same request can never fix.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 413})
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60.0


class SendGridTransport:
    """Holds one configured client; `send` returns SendGrid's `X-Message-Id`."""

    def __init__(self, *, api_key: str, host: str, timeout_seconds: float) -> None:
        self._client = SendGridAPIClient(api_key=api_key, host=host)
        # The client waits forever by default; a hung ESP call must not hold a worker slot.
        self._client.client.timeout = timeout_seconds
        self.timeout_seconds = timeout_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> SendGridTransport:
        return cls(
            api_key=settings.sendgrid_api_key,
            host=settings.sendgrid_host,
            timeout_seconds=settings.sendgrid_timeout_seconds,
        )

    def send(self, payload: dict[str, Any]) -> str:
        try:
            response = self._client.send(payload)
        except HTTPError as exc:
            raise _map_http_error(exc) from None
        except urllib.error.URLError as exc:
            raise _map_network_error(exc.reason) from exc
        except TimeoutError as exc:
            raise _map_network_error(exc) from exc
        except (ConnectionError, OSError) as exc:
            raise _map_network_error(exc) from exc
        headers = {k.lower(): v for k, v in dict(response.headers).items()}
        esp_id = headers.get("x-message-id")
        if not esp_id:
            # Accepted, but without the id we correlate by: keep going, correlation falls back.
            return ""
        return str(esp_id)


def _error_messages(body: bytes | str | None) -> str:
    if not body:
        return ""
    try:
        data = json.loads(body)
        errors = data.get("errors") or []
        parts = []
        for err in errors:
            field = err.get("field")
            parts.append(f"{field}: {err.get('message')}" if field else str(err.get("message")))
        return "; ".join(parts)
    except (ValueError, AttributeError, TypeError):
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        return text[:300]


def _map_http_error(exc: HTTPError) -> Exception:
    status = int(exc.status_code)
    detail = _error_messages(exc.body)
    if status == 429:
        reset = _header(exc, "X-RateLimit-Reset")
        wait = DEFAULT_RATE_LIMIT_WAIT_SECONDS
        if reset is not None:
            with contextlib.suppress(ValueError):
                wait = max(1.0, float(reset) - time.time())
        return EspRateLimited(
            f"SendGrid rate limit reached; retrying in {wait:.0f}s", retry_after_seconds=wait
        )
    if status in PERMANENT_STATUSES or 400 <= status < 500:
        reason = {
            400: "SendGrid rejected the request as malformed",
            401: "SendGrid rejected the API key (check NURTURE_SENDGRID_API_KEY)",
            403: "SendGrid refused: the API key lacks the mail.send scope or the sender is not verified",
            413: "SendGrid refused: the message is too large",
        }.get(status, f"SendGrid refused the request ({status})")
        return EspRejected(f"{reason}: {detail}" if detail else reason, status=status)
    return EspUnavailable(
        f"SendGrid is failing ({status}){': ' + detail if detail else ''}",
        status=status,
        maybe_accepted=False,
    )


def _header(exc: HTTPError, name: str) -> str | None:
    headers = getattr(exc, "headers", None)
    if headers is None:
        return None
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def _map_network_error(reason: object) -> EspUnavailable:
    # Refused or unresolvable: the request never left. A timeout or reset: it may have arrived.
    never_left = isinstance(reason, (ConnectionRefusedError, socket.gaierror))
    return EspUnavailable(
        f"SendGrid unreachable: {reason}",
        maybe_accepted=not never_left,
    )


__all__ = ["SendGridTransport"]
