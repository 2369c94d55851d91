"""The dashboard's routes: login and logout, and the pages behind them (cohorts, a cohort's
funnel, senders, recent events, recent business events, the replies inbox and one reply, a
contact's timeline). Each parses,
calls a query, renders."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from activities.replies.inbox import MAX_LISTED, ReplyInbox
from api.auth import accepted_token
from api.dashboard.business_events import BusinessEventQueries
from api.dashboard.queries import MAX_EVENTS, DashboardQueries
from api.dashboard.session import (
    COOKIE_NAME,
    SESSION_SECONDS,
    require_dashboard_access,
    safe_next,
    session_cookie,
)
from api.dashboard.views import environment, funnel_view, temporal_workflow_url
from api.deps import EngineDep, SenderServiceDep, SettingsDep, limit_login
from models.business_events import EVENT_NAME_MAX
from models.errors import ReplyNotFound
from models.events import EventKind
from models.replies import ReplyIntent
from models.settings import Settings

router = APIRouter(tags=["dashboard"], include_in_schema=False)
pages = APIRouter(dependencies=[Depends(require_dashboard_access)])

_env = environment()


def dashboard_queries(engine: EngineDep) -> DashboardQueries:
    return DashboardQueries(engine)


DashboardQueriesDep = Annotated[DashboardQueries, Depends(dashboard_queries)]

#: Pages show personal data: never cached, never framed, nothing loaded from elsewhere.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


def render(
    request: Request,
    settings: Settings,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    def temporal_link(workflow_id: str) -> str:
        return temporal_workflow_url(
            settings.temporal_ui_url, settings.temporal_namespace, workflow_id
        )

    html = _env.get_template(template).render(
        path=request.url.path, temporal_link=temporal_link, **context
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


# Plain `def` routes: FastAPI runs them on its thread pool, where the database reads belong.


# -- login ----------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep, next: str = "/") -> HTMLResponse:
    return render(
        request,
        settings,
        "login.html",
        next=safe_next(next),
        error=None,
        closed=not settings.accepted_api_tokens,
    )


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(limit_login)])
def login(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    issued_under = accepted_token(settings, token.strip())
    if issued_under is None:
        return render(
            request,
            settings,
            "login.html",
            status_code=401,
            next=safe_next(next),
            error="That token is not accepted.",
            closed=not settings.accepted_api_tokens,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        session_cookie(settings, issued_under),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


# -- pages ----------------------------------------------------------------------------------------


@pages.get("/", response_class=HTMLResponse)
def cohorts_page(
    request: Request, settings: SettingsDep, queries: DashboardQueriesDep
) -> HTMLResponse:
    return render(request, settings, "cohorts.html", cohorts=queries.cohorts())


@pages.get("/cohorts/{cohort_id}", response_class=HTMLResponse)
def cohort_page(
    cohort_id: str, request: Request, settings: SettingsDep, queries: DashboardQueriesDep
) -> HTMLResponse:
    detail = queries.cohort(cohort_id)
    if detail is None:
        return render(
            request, settings, "not_found.html", status_code=404, what="cohort", name=cohort_id
        )
    return render(
        request, settings, "cohort.html", detail=detail, view=funnel_view(detail.funnel.steps)
    )


@pages.get("/senders", response_class=HTMLResponse)
def senders_page(
    request: Request, settings: SettingsDep, senders: SenderServiceDep
) -> HTMLResponse:
    return render(
        request,
        settings,
        "senders.html",
        senders=senders.list(),
        max_complaint_rate=settings.max_complaint_rate,
        max_hard_bounce_rate=settings.max_hard_bounce_rate,
    )


@pages.get("/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    settings: SettingsDep,
    queries: DashboardQueriesDep,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 100,
    kind: EventKind | None = None,
) -> HTMLResponse:
    chosen = kind.value if kind is not None else None
    return render(
        request,
        settings,
        "events.html",
        events=queries.events(limit, chosen),
        limit=limit,
        kind=chosen,
        kinds=[k.value for k in EventKind],
    )


@pages.get("/business-events", response_class=HTMLResponse)
def business_events_page(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS)] = 100,
    name: Annotated[str, Query(max_length=EVENT_NAME_MAX)] = "",
) -> HTMLResponse:
    chosen = name.strip() or None  # the form's empty field: every name
    return render(
        request,
        settings,
        "business_events.html",
        events=BusinessEventQueries(engine).recent(limit, chosen),
        limit=limit,
        name=chosen,
    )


@pages.get("/replies", response_class=HTMLResponse)
def replies_page(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
    intent: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    chosen = _member(ReplyIntent, intent.strip())  # the form's empty choice: every intent
    return render(
        request,
        settings,
        "replies.html",
        replies=ReplyInbox(engine).list(intent=chosen, limit=limit),
        limit=limit,
        intent=chosen.value if chosen else None,
        intents=[i.value for i in ReplyIntent],
    )


@pages.get("/replies/{reply_id}", response_class=HTMLResponse)
def reply_page(
    reply_id: int, request: Request, settings: SettingsDep, engine: EngineDep
) -> HTMLResponse:
    try:
        reply = ReplyInbox(engine).get(reply_id)
    except ReplyNotFound:
        return render(
            request, settings, "not_found.html", status_code=404, what="reply", name=str(reply_id)
        )
    return render(request, settings, "reply.html", reply=reply)


def _member(enum: type[ReplyIntent], value: str) -> ReplyIntent | None:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


@pages.get("/contacts/{contact_id}", response_class=HTMLResponse)
def contact_page(
    contact_id: UUID, request: Request, settings: SettingsDep, queries: DashboardQueriesDep
) -> HTMLResponse:
    timeline = queries.contact(contact_id)
    if timeline is None:
        return render(
            request,
            settings,
            "not_found.html",
            status_code=404,
            what="contact",
            name=str(contact_id),
        )
    return render(request, settings, "contact.html", timeline=timeline)


router.include_router(pages)

__all__ = ["router"]
