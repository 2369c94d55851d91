"""How the API answers nurture's domain errors: routes let them through, and
`register_error_handlers(app)` installs one handler per error family (the most specific wins).

    NotFound                    404  {"detail": message}
    InvalidInput                422  {"detail": [{"type": "value_error", "loc": [where, field], "msg": reason}]}
    ├── ContentLintFailed       422  {"detail": {"msg": ..., "errors": [finding, ...]}}
    ├── MalformedPayload        400  {"detail": message}  (a webhook body SendGrid would not send)
    └── MalformedInbound        400
    InvalidToken                404
    InvalidSignature            403  {"detail": "invalid signature: …"}
    SendBlocked                 409  (consent withdrawn, suppressed: nobody may be asked or mailed)
    Conflict                    409  (EnrollmentConflict, CohortCancelled)
    EspError                    502  (SendGrid did not take the email)
    RateLimited                 429  a page with Retry-After (`api.rate_limit`, registered by the app)

`POST /api/enrollments` answers a contact that may not be enrolled — a SendBlocked, or
ReenrollmentRefused (an EnrollmentConflict whose enrollment ended) — as InvalidInput on `contact`
(422, the reason in `msg`); a live enrollment stays a 409.

`where` in an InvalidInput's `loc` is `path` or `query` when the route has a parameter of that
name, else `body`: the same shape as FastAPI's own validation errors. Pages a recipient opens from
an email (HTML routes) answer a page instead: UnknownUnsubscribeToken and InvalidToken "link not
valid" (404), ConsentWithdrawn "link no longer valid" (410). Any other NurtureError is a bug or an
outage: a 500, logged with its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from typing import Any, TypeVar

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute

from api.link_pages import consent_withdrawn, link_not_valid, unsubscribe_link_not_valid
from models.errors import (
    Conflict,
    ConsentWithdrawn,
    ContentLintFailed,
    EspError,
    InvalidInput,
    InvalidSignature,
    InvalidToken,
    LintFinding,
    MalformedInbound,
    MalformedPayload,
    NotFound,
    NurtureError,
    SendBlocked,
    UnknownUnsubscribeToken,
)

log = structlog.stdlib.get_logger(__name__)
T = TypeVar("T")

#: The HTTP status of each error family (a class not listed takes its nearest listed base).
STATUS: dict[type[NurtureError], int] = {
    NotFound: 404,
    InvalidInput: 422,
    ContentLintFailed: 422,
    MalformedPayload: 400,
    MalformedInbound: 400,
    InvalidToken: 404,
    InvalidSignature: 403,
    SendBlocked: 409,
    Conflict: 409,
    EspError: 502,
}

#: What an HTML route (a page opened from an email) answers instead of JSON.
PAGES: dict[type[NurtureError], Callable[[], HTMLResponse]] = {
    UnknownUnsubscribeToken: unsubscribe_link_not_valid,
    InvalidToken: link_not_valid,
    ConsentWithdrawn: consent_withdrawn,
}


def _nearest(table: dict[type[NurtureError], T], exc: NurtureError) -> T | None:
    """The entry of `exc`'s class, or of its nearest base that has one."""
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]  # type: ignore[index]
    return None


def status_of(exc: NurtureError) -> int:
    """The HTTP status the API answers `exc` with (500: a family with no handler)."""
    return _nearest(STATUS, exc) or 500


def _is_page(request: Request) -> bool:
    route = request.scope.get("route")
    response_class = getattr(route, "response_class", None)
    response_class = getattr(response_class, "value", response_class)  # FastAPI's Default(...)
    return isinstance(response_class, type) and issubclass(response_class, HTMLResponse)


def _location(request: Request, field: str) -> str:
    """Where the route took `field` from: `path`, `query`, else `body`."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        for where, params in (
            ("path", route.dependant.path_params),
            ("query", route.dependant.query_params),
        ):
            if any(field in (p.name, p.alias) for p in params):
                return where
    return "body"


def _finding(finding: LintFinding) -> dict[str, Any]:
    if is_dataclass(finding) and not isinstance(finding, type):
        return asdict(finding)
    return {"template": finding.template, "message": finding.message, "fix": finding.fix}


def _detail(request: Request, exc: NurtureError) -> Any:
    if isinstance(exc, ContentLintFailed):
        return {
            "msg": "content lint errors block the start",
            "errors": [_finding(f) for f in exc.errors],
        }
    if isinstance(exc, InvalidInput) and status_of(exc) == 422:
        return [
            {
                "type": "value_error",
                "loc": [_location(request, exc.field), exc.field],
                "msg": exc.reason,
            }
        ]
    if isinstance(exc, InvalidSignature):
        return f"invalid signature: {exc}"
    if isinstance(exc, EspError):
        return f"SendGrid did not take the email: {exc}"
    return str(exc)


async def answer_domain_error(request: Request, exc: Exception) -> Response:
    """The answer to a domain error a route let through (see the module docstring)."""
    if not isinstance(exc, NurtureError):  # registered for NurtureError families only
        raise exc
    if isinstance(exc, InvalidSignature):
        log.warning("signed request refused", problem=exc.problem, path=request.url.path)
    if _is_page(request) and (render := _nearest(PAGES, exc)) is not None:
        return render()
    return JSONResponse(
        {"detail": jsonable_encoder(_detail(request, exc))}, status_code=status_of(exc)
    )


def register_error_handlers(app: FastAPI) -> None:
    """Answer every domain error family in `STATUS` (and the pages in `PAGES`) as above."""
    for cls in {*STATUS, *PAGES}:
        app.add_exception_handler(cls, answer_domain_error)


__all__ = ["PAGES", "STATUS", "answer_domain_error", "register_error_handlers", "status_of"]
