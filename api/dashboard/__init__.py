"""The dashboard: server-rendered pages for ops (cohorts and their funnel, senders, events, a
contact's timeline), behind the API token or a login cookie."""

from api.dashboard.pages import router

__all__ = ["router"]
