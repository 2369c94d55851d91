"""`/api/contacts` (bearer token): import contacts as JSON rows or a CSV/JSON body, ask one for
double opt-in; and the public `/c/{token}` confirmation page (GET shows a button, POST confirms —
no cookie, no redirect, so link scanners confirm nobody)."""

from __future__ import annotations

import html
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from activities.contacts.double_opt_in import OptInResult, OptInService
from activities.contacts.importing import ImportReport, import_file, import_rows, iter_records
from api.auth import require_api_token
from api.unsubscribe import page
from models.errors import (
    ConsentWithdrawn,
    ContactNotFound,
    ContactSuppressed,
    EspError,
    InvalidInput,
    InvalidToken,
    SenderNotFound,
)

#: Larger import bodies get 413: split the file.
MAX_IMPORT_BYTES = 20_000_000

router = APIRouter(
    prefix="/api/contacts", tags=["contacts"], dependencies=[Depends(require_api_token)]
)
confirm_router = APIRouter(tags=["double opt-in"])


def opt_in_service(request: Request) -> OptInService:
    service: OptInService = request.app.state.services.opt_in
    return service


def _invalid(exc: InvalidInput, where: str = "body") -> HTTPException:
    return HTTPException(
        422, [{"loc": [where, exc.field], "msg": exc.reason, "type": "value_error"}]
    )


@router.post("", response_model=ImportReport)
async def add_contacts(
    request: Request,
    rows: Annotated[list[dict[str, Any]], Body()],
    check_mx: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import a JSON array of contact rows; `rejected[].row_number` is the row's 1-based index."""
    engine = request.app.state.services.engine
    return await run_in_threadpool(
        import_rows, engine, list(iter_records(rows)), check_mx=check_mx, dry_run=dry_run
    )


@router.post("/import", response_model=ImportReport)
async def import_contacts(
    request: Request, check_mx: bool = False, dry_run: bool = False
) -> ImportReport:
    """Import a CSV (`text/csv`), JSON array or JSON Lines body, as `nurture contacts import`."""
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"import bodies are limited to {MAX_IMPORT_BYTES} bytes")
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    filename = {
        "text/csv": "body.csv",
        "application/json": "body.json",
        "application/x-ndjson": "body.jsonl",
        "application/jsonl": "body.jsonl",
    }.get(media)
    engine = request.app.state.services.engine
    try:
        return await run_in_threadpool(
            import_file, engine, body, filename=filename, check_mx=check_mx, dry_run=dry_run
        )
    except InvalidInput as exc:
        raise _invalid(exc) from exc


@router.post("/{contact_id}/opt-in", response_model=OptInResult)
async def request_opt_in(
    contact_id: UUID,
    service: Annotated[OptInService, Depends(opt_in_service)],
    sender_id: Annotated[str | None, Query(max_length=64)] = None,
) -> OptInResult:
    """Email the contact a double opt-in link (200 `already_confirmed` sends nothing)."""
    try:
        return await run_in_threadpool(service.request, contact_id, sender_id=sender_id)
    except ContactNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except SenderNotFound as exc:
        raise _invalid(InvalidInput("sender_id", str(exc)), "query") from exc
    except (ConsentWithdrawn, ContactSuppressed) as exc:
        raise HTTPException(409, str(exc)) from exc
    except EspError as exc:
        raise HTTPException(502, f"SendGrid did not take the confirmation email: {exc}") from exc


def _not_found() -> HTMLResponse:
    return page(
        "Link not valid",
        "<p>This confirmation link is not valid. Please use the link in the email you "
        "received.</p>",
        status=404,
    )


def _withdrawn() -> HTMLResponse:
    return page(
        "Link no longer valid",
        "<p>You unsubscribed from these emails after this link was sent, so it no longer "
        "works. Reply to any of our emails if you want to hear from us again.</p>",
        status=410,
    )


@confirm_router.get("/c/{token}", response_class=HTMLResponse)
async def confirm_page(
    token: str, service: Annotated[OptInService, Depends(opt_in_service)]
) -> HTMLResponse:
    try:
        await run_in_threadpool(service.contact_for, token)
    except InvalidToken:
        return _not_found()
    return page(
        "Confirm your subscription",
        "<p>Do you want to receive these emails?</p>"
        f'<form method=post action="/c/{html.escape(token)}">'
        "<button type=submit>Yes, confirm</button></form>",
    )


@confirm_router.post("/c/{token}", response_class=HTMLResponse)
async def confirm(
    token: str, service: Annotated[OptInService, Depends(opt_in_service)]
) -> HTMLResponse:
    try:
        await run_in_threadpool(service.confirm, token)
    except InvalidToken:
        return _not_found()
    except ConsentWithdrawn:
        return _withdrawn()
    return page("Thank you", "<p>You confirmed: you will receive our emails.</p>")


__all__ = ["MAX_IMPORT_BYTES", "confirm_router", "opt_in_service", "router"]
