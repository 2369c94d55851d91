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

from activities.contacts.double_opt_in import OptInResult
from activities.contacts.importing import ImportReport, import_file, import_rows, iter_records
from api.deps import EngineDep, OptInServiceDep, limit_links, require_api_token
from api.link_pages import page
from models.errors import InvalidInput, SenderNotFound

#: Larger import bodies get 413: split the file.
MAX_IMPORT_BYTES = 20_000_000

router = APIRouter(
    prefix="/api/contacts", tags=["contacts"], dependencies=[Depends(require_api_token)]
)
confirm_router = APIRouter(tags=["double opt-in"], dependencies=[Depends(limit_links)])


@router.post("", response_model=ImportReport)
def add_contacts(
    rows: Annotated[list[dict[str, Any]], Body()],
    engine: EngineDep,
    check_mx: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import a JSON array of contact rows (the columns of `nurture contacts import`, external_id
    included); `rejected[].row_number` is the row's 1-based index (`nurture contacts add` imports
    its one row the same way)."""
    return import_rows(engine, list(iter_records(rows)), check_mx=check_mx, dry_run=dry_run)


@router.post("/import", response_model=ImportReport)
async def import_contacts(
    request: Request, engine: EngineDep, check_mx: bool = False, dry_run: bool = False
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
    return await run_in_threadpool(
        import_file, engine, body, filename=filename, check_mx=check_mx, dry_run=dry_run
    )


@router.post("/{contact_id}/opt-in", response_model=OptInResult)
def request_opt_in(
    contact_id: UUID,
    service: OptInServiceDep,
    sender_id: Annotated[str | None, Query(max_length=64)] = None,
) -> OptInResult:
    """Email the contact a double opt-in link (200 `already_confirmed` sends nothing)."""
    try:
        return service.request(contact_id, sender_id=sender_id)
    except SenderNotFound as exc:
        # The sender is named by the request, not by the path: bad input, not a missing resource.
        raise InvalidInput("sender_id", str(exc)) from exc


@confirm_router.get("/c/{token}", response_class=HTMLResponse)
def confirm_page(token: str, service: OptInServiceDep) -> HTMLResponse:
    service.contact_for(token)  # InvalidToken: the "link not valid" page
    return page(
        "Confirm your subscription",
        "<p>Do you want to receive these emails?</p>"
        f'<form method=post action="/c/{html.escape(token)}">'
        "<button type=submit>Yes, confirm</button></form>",
    )


@confirm_router.post("/c/{token}", response_class=HTMLResponse)
def confirm(token: str, service: OptInServiceDep) -> HTMLResponse:
    service.confirm(token)  # InvalidToken, ConsentWithdrawn: their pages (api.errors)
    return page("Thank you", "<p>You confirmed: you will receive our emails.</p>")


__all__ = ["MAX_IMPORT_BYTES", "confirm_router", "router"]
