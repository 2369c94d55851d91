"""The simulator's error answers, in SendGrid's wire shape: `{"errors": [...]}`."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from http import HTTPStatus

from fastapi.responses import JSONResponse

from simulator.faults import FaultSpec
from simulator.validation import FieldError

__all__ = [
    "UNAUTHORIZED_MESSAGE",
    "bad_request",
    "fault_response",
    "payload_too_large",
    "unauthorized",
]

UNAUTHORIZED_MESSAGE = "The provided authorization grant is invalid, expired, or revoked"


def _errors(errors: Sequence[FieldError]) -> dict[str, list[dict[str, str | None]]]:
    return {"errors": [{"message": e.message, "field": e.field, "help": None} for e in errors]}


def unauthorized() -> JSONResponse:
    return JSONResponse(_errors([FieldError(UNAUTHORIZED_MESSAGE, None)]), status_code=401)


def bad_request(errors: Sequence[FieldError]) -> JSONResponse:
    return JSONResponse(_errors(errors), status_code=400)


def payload_too_large(limit_bytes: int) -> JSONResponse:
    message = (
        "The JSON payload you have included in your request is too large. "
        f"The limit is {limit_bytes // (1024 * 1024)} MB."
    )
    return JSONResponse(_errors([FieldError(message, None)]), status_code=413)


def fault_response(fault: FaultSpec, now: float | None = None) -> JSONResponse:
    """The answer of an injected error status."""
    assert fault.status is not None
    if fault.status == 429:
        reset_at = math.ceil((time.time() if now is None else now) + fault.reset_after_seconds)
        return JSONResponse(
            # SendGrid's rate-limit body carries no "help" key.
            {"errors": [{"field": None, "message": "too many requests"}]},
            status_code=429,
            headers={
                "X-RateLimit-Limit": str(fault.rate_limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset_at),
            },
        )
    try:
        message = HTTPStatus(fault.status).phrase.lower()
    except ValueError:
        message = "error"
    return JSONResponse(_errors([FieldError(message, None)]), status_code=fault.status)
