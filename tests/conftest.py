"""Shared fixtures: databases (SQLite always, PostgreSQL when NURTURE_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

# The tests run nurture as a local stack (built-in secrets, the simulator): every process they start
# inherits this, and NURTURE_ENV defaults to production, which refuses that configuration.
os.environ["NURTURE_ENV"] = "dev"

from cli.processes import free_port, temporal_dev_server
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
def backend(request: pytest.FixtureRequest) -> str:
    """Each database backend a test runs on: `sqlite`, and `postgresql` when configured."""
    return str(request.param)


@pytest.fixture
def empty_database_url(backend: str, tmp_path) -> Iterator[str]:
    """URL of an empty database with no schema, on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'nurture.db'}"
        return
    url, admin = _fresh_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(url, admin)


class MigratedTemplates:
    """One database per backend migrated to the newest schema, made once per test session; each
    test gets its own copy (a file copy for SQLite, `CREATE DATABASE … TEMPLATE` for PostgreSQL),
    instead of running every migration again — a quarter of a second a test."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite: Path | None = None
        self._postgres: tuple[str, sa.Engine] | None = None

    def sqlite_copy(self, target: Path) -> str:
        if self._sqlite is None:
            migrated = self._directory / "migrated.db"
            upgrade(f"sqlite:///{migrated}")
            get_engine.cache_clear()
            template = self._directory / "template.db"
            # One self-contained file (nothing left in a -wal beside it) to copy.
            with sqlite3.connect(migrated) as source, sqlite3.connect(template) as copy:
                source.backup(copy)
            self._sqlite = template
        shutil.copyfile(self._sqlite, target)
        return f"sqlite:///{target}"

    def postgres_copy(self) -> tuple[str, sa.Engine]:
        if self._postgres is None:
            url, admin = _fresh_postgres_database()
            upgrade(url)
            get_engine(url).dispose()  # a template must have no connections when copied
            self._postgres = (url, admin)
        template_url, admin = self._postgres
        name = f"nurture_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(
                sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template_url.rsplit("/", 1)[1]}"')
            )
        return template_url.rsplit("/", 1)[0] + f"/{name}", admin

    def close(self) -> None:
        if self._postgres is not None:
            _drop_postgres_database(*self._postgres)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("migrated-templates"))
    try:
        yield templates
    finally:
        templates.close()


@pytest.fixture
def database_url(backend: str, tmp_path, migrated_templates: MigratedTemplates) -> Iterator[str]:
    """URL of a database migrated to the newest schema, on each backend: the test's own copy."""
    if backend == "sqlite":
        yield migrated_templates.sqlite_copy(tmp_path / "nurture.db")
        return
    url, admin = migrated_templates.postgres_copy()
    try:
        yield url
    finally:
        _drop_postgres_database(url, admin)


@pytest.fixture
def postgres_database_url(migrated_templates: MigratedTemplates) -> Iterator[str]:
    """A migrated PostgreSQL database of the test's own, for tests that need several processes
    writing at once; skipped without NURTURE_TEST_POSTGRES_URL."""
    if not POSTGRES_URL:
        pytest.skip("needs PostgreSQL: set NURTURE_TEST_POSTGRES_URL (CI does)")
    url, admin = migrated_templates.postgres_copy()
    try:
        yield url
    finally:
        _drop_postgres_database(url, admin)


@pytest.fixture
def sqlite_database_url(tmp_path) -> str:
    """A migrated SQLite database, for tests that need one backend only."""
    url = f"sqlite:///{tmp_path / 'nurture.db'}"
    upgrade(url)
    return url


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    return get_engine(database_url)


@pytest.fixture(scope="session")
def dev_server_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Address of an in-memory Temporal dev server, one per test session (started on first use)."""
    port = free_port()
    server = temporal_dev_server(
        tmp_path_factory.mktemp("temporal-logs"), db_file=None, port=port, ui_port=None
    ).start()
    try:
        server.wait_for_port(port, timeout=60)
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


# The ESP simulator fixtures (a real HTTP server the real `sendgrid` client talks to).
pytest_plugins = ["tests.sim_fixtures"]
