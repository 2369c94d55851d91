"""Shared fixtures: databases (SQLite always, PostgreSQL when NURTURE_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from models.db import get_engine, normalise_url, upgrade

POSTGRES_URL = os.environ.get("NURTURE_TEST_POSTGRES_URL")

DB_BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _fresh_postgres_database() -> tuple[str, sa.Engine]:
    """Create an empty, uniquely named database next to the test one; return its URL."""
    assert POSTGRES_URL
    admin = sa.create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    name = f"nurture_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = normalise_url(POSTGRES_URL).rsplit("/", 1)[0] + f"/{name}"
    return url, admin


def _drop_postgres_database(url: str, admin: sa.Engine) -> None:
    get_engine(url).dispose()
    get_engine.cache_clear()
    name = url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=DB_BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """URL of an empty database with no schema, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nurture.db'}"
        return
    url, admin = _fresh_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(url, admin)


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """URL of a database migrated to the newest schema, on each backend."""
    upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def sqlite_database_url(tmp_path) -> str:
    """A migrated SQLite database, for tests that need one backend only."""
    url = f"sqlite:///{tmp_path / 'nurture.db'}"
    upgrade(url)
    return url


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    return get_engine(database_url)


# The ESP simulator fixtures (a real HTTP server the real `sendgrid` client talks to).
pytest_plugins = ["tests.sim_fixtures"]
