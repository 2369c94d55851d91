"""Builds the FastAPI application from settings."""

from __future__ import annotations

from fastapi import FastAPI

from api import health
from models.db import get_engine
from models.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="nurture", version="0.1.0")
    app.state.settings = settings
    app.state.engine = get_engine(settings.effective_database_url)
    app.include_router(health.router)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory api.app:app_from_env`."""
    return create_app()
