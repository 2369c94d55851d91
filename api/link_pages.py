"""The pages a recipient reaches from a link in an email (`/u/…` unsubscribe, `/c/…` opt-in
confirmation): one plain, escaped HTML shell, never cached, no referrer, no cookie, never framed,
nothing loaded from elsewhere."""

from __future__ import annotations

import html

from fastapi.responses import HTMLResponse

#: Inline style only; the one form posts back here; no frame may show the page.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A page titled `title` (escaped here); `body` is HTML the caller has escaped."""
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}"
        "button{font-size:1rem;padding:.6rem 1.2rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers=HEADERS,
    )


def unsubscribe_link_not_valid() -> HTMLResponse:
    """An unsubscribe link that names no message we sent: still say how to stop the emails."""
    return page(
        "Link not valid",
        "<p>This unsubscribe link is not valid. Please use the link in the email you received, "
        "or reply to it and ask us to stop.</p>",
        status=404,
    )


def link_not_valid() -> HTMLResponse:
    """Any other signed link that is forged, malformed or names nobody we hold."""
    return page(
        "Link not valid",
        "<p>This link is not valid. Please use the link in the email you received.</p>",
        status=404,
    )


def consent_withdrawn() -> HTMLResponse:
    """A confirmation link clicked after its recipient unsubscribed: it cannot re-grant consent."""
    return page(
        "Link no longer valid",
        "<p>You unsubscribed from these emails after this link was sent, so it no longer "
        "works. Reply to any of our emails if you want to hear from us again.</p>",
        status=410,
    )


__all__ = ["consent_withdrawn", "link_not_valid", "page", "unsubscribe_link_not_valid"]
