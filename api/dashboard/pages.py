"""The dashboard's routes: login and logout, and the pages behind them (cohorts, a cohort's
funnel, senders, recent events, a contact's timeline). Each parses, calls a query, renders."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from activities.deliverability.senders import SenderService
from api.dashboard.queries import MAX_EVENTS, DashboardQueries
from api.dashboard.session import (
    COOKIE_NAME,
    SESSION_SECONDS,
    require_dashboard_access,
    safe_next,
    session_cookie,
    token_matches,
)
from api.dashboard.views import environment, funnel_view, temporal_workflow_url
from models.events import EventKind
from models.settings import Settings

router = APIRouter(tags=["dashboard"], include_in_schema=False)
pages = APIRouter(dependencies=[Depends(require_dashboard_access)])

_env = environment()

#: Pages show personal data: never cached, never framed, nothing loaded from elsewhere.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    settings: Settings = request.app.state.settings

    def temporal_link(workflow_id: str) -> str:
        return temporal_workflow_url(
            settings.temporal_ui_url, settings.temporal_namespace, workflow_id
        )

    html = _env.get_template(template).render(
        path=request.url.path, temporal_link=temporal_link, **context
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def queries(request: Request) -> DashboardQueries:
    return DashboardQueries(request.app.state.engine)


# -- login ----------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    settings: Settings = request.app.state.settings
    return render(
        request, "login.html", next=safe_next(next), error=None, closed=not settings.api_token
    )


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    settings: Settings = request.app.state.settings
    if not token_matches(settings, token.strip()):
        return render(
            request,
            "login.html",
            status_code=401,
            next=safe_next(next),
            error="That token is not the API token.",
            closed=not settings.api_token,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        session_cookie(settings),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


# -- pages ----------------------------------------------------------------------------------------


@pages.get("/", response_class=HTMLResponse)
async def cohorts_page(request: Request) -> HTMLResponse:
    cohorts = await run_in_threadpool(queries(request).cohorts)
    return render(request, "cohorts.html", cohorts=cohorts)


@pages.get("/cohorts/{cohort_id}", response_class=HTMLResponse)
async def cohort_page(cohort_id: str, request: Request) -> HTMLResponse:
    detail = await run_in_threadpool(queries(request).cohort, cohort_id)
    if detail is None:
        return render(request, "not_found.html", status_code=404, what="cohort", name=cohort_id)
    return render(request, "cohort.html", detail=detail, view=funnel_view(detail.funnel.steps))


@pages.get("/senders", response_class=HTMLResponse)
async def senders_page(request: Request) -> HTMLResponse:
    service: SenderService = request.app.state.services.senders
    settings: Settings = request.app.state.settings
    senders = await run_in_threadpool(service.list)
    return render(
        request,
        "senders.html",
        senders=senders,
        max_complaint_rate=settings.max_complaint_rate,
        max_hard_bounce_rate=settings.max_hard_bounce_rate,
    )


@pages.get("/events", response_class=HTMLResponse)
async def events_page(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 100,
    kind: EventKind | None = None,
) -> HTMLResponse:
    events = await run_in_threadpool(
        queries(request).events, limit, kind.value if kind is not None else None
    )
    return render(
        request,
        "events.html",
        events=events,
        limit=limit,
        kind=kind.value if kind is not None else None,
        kinds=[k.value for k in EventKind],
    )


@pages.get("/contacts/{contact_id}", response_class=HTMLResponse)
async def contact_page(contact_id: UUID, request: Request) -> HTMLResponse:
    timeline = await run_in_threadpool(queries(request).contact, contact_id)
    if timeline is None:
        return render(
            request, "not_found.html", status_code=404, what="contact", name=str(contact_id)
        )
    return render(request, "contact.html", timeline=timeline)


router.include_router(pages)

__all__ = ["router"]
