"""`/u/{token}`: the unsubscribe page (GET: confirm; link scanners must not unsubscribe anyone)
and the unsubscribe itself (POST: the page's button, or RFC 8058 one-click from the mailbox —
no cookie, no redirect, effective at once). A token naming no message we sent gets the "link
not valid" page (`api.errors`), which still says how to stop the emails."""

from __future__ import annotations

import asyncio
import html

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep, limit_links
from api.link_pages import page

#: Rate-limited per client address (NURTURE_LINK_RATE_LIMIT): a 429 page says when to retry.
router = APIRouter(tags=["unsubscribe"], dependencies=[Depends(limit_links)])

ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"


@router.get("/u/{token}", response_class=HTMLResponse)
def confirm_page(token: str, services: ServicesDep) -> HTMLResponse:
    target = services.unsubscribe.target(token)
    who = html.escape(target.masked_email) if target.masked_email else "this address"
    return page(
        "Unsubscribe",
        f"<p>Stop emails to <strong>{who}</strong>?</p>"
        f'<form method=post action="/u/{html.escape(token)}">'
        "<input type=hidden name=confirm value=yes>"
        "<button type=submit>Unsubscribe</button></form>",
    )


@router.post("/u/{token}", response_class=HTMLResponse)
async def unsubscribe(token: str, request: Request, services: ServicesDep) -> HTMLResponse:
    one_click = ONE_CLICK_BODY in await request.body()
    await asyncio.to_thread(services.unsubscribe.unsubscribe, token, one_click=one_click)
    services.forwarder.wake()
    return page("You are unsubscribed", "<p>You will not receive these emails any more.</p>")
