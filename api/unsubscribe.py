"""`/u/{token}`: the unsubscribe page (GET: confirm; link scanners must not unsubscribe anyone)
and the unsubscribe itself (POST: the page's button, or RFC 8058 one-click from the mailbox —
no cookie, no redirect, effective at once)."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.services import ApiServices
from models.errors import UnknownUnsubscribeToken

router = APIRouter(tags=["unsubscribe"])

ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}"
        "button{font-size:1rem;padding:.6rem 1.2rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def not_found() -> HTMLResponse:
    return page(
        "Link not valid",
        "<p>This unsubscribe link is not valid. Please use the link in the email you received, "
        "or reply to it and ask us to stop.</p>",
        status=404,
    )


@router.get("/u/{token}", response_class=HTMLResponse)
async def confirm_page(token: str, request: Request) -> HTMLResponse:
    services: ApiServices = request.app.state.services
    try:
        target = await run_in_threadpool(services.unsubscribe.target, token)
    except UnknownUnsubscribeToken:
        return not_found()
    who = html.escape(target.masked_email) if target.masked_email else "this address"
    return page(
        "Unsubscribe",
        f"<p>Stop emails to <strong>{who}</strong>?</p>"
        f'<form method=post action="/u/{html.escape(token)}">'
        "<input type=hidden name=confirm value=yes>"
        "<button type=submit>Unsubscribe</button></form>",
    )


@router.post("/u/{token}", response_class=HTMLResponse)
async def unsubscribe(token: str, request: Request) -> HTMLResponse:
    services: ApiServices = request.app.state.services
    body = await request.body()
    one_click = ONE_CLICK_BODY in body
    try:
        await run_in_threadpool(services.unsubscribe.unsubscribe, token, one_click=one_click)
    except UnknownUnsubscribeToken:
        return not_found()
    services.forwarder.wake()
    return page("You are unsubscribed", "<p>You will not receive these emails any more.</p>")
