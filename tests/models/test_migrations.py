"""Alembic migrations: build the schema the models describe, and upgrade older databases."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import models.tables  # noqa: F401
from models.db import alembic_config, get_engine, upgrade


def revisions_oldest_first(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_migrations_build_exactly_the_schema_the_models_describe(database_url):
    engine = get_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models and migrations disagree; add a migration: {diff}"


def test_a_database_made_by_the_first_version_upgrades_with_its_data(empty_database_url):
    revisions = revisions_oldest_first(empty_database_url)
    upgrade(empty_database_url, revisions[0])
    engine = get_engine(empty_database_url)
    contact_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO contact (id, email, custom, created_at, updated_at) "
                "VALUES (:id, :email, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {
                "id": contact_id.hex if engine.dialect.name == "sqlite" else str(contact_id),
                "email": "old@example.com",
            },
        )
        # An event as version 0001 stored it: no ESP event id.
        conn.execute(
            sa.text(
                "INSERT INTO event (kind, occurred_at, received_at, details, late) "
                "VALUES ('open', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '{}', false)"
            )
        )
    for revision in revisions[1:]:
        upgrade(empty_database_url, revision)
    upgrade(empty_database_url)
    with engine.connect() as conn:
        emails = conn.execute(sa.text("SELECT email FROM contact")).scalars().all()
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        event = conn.execute(sa.text("SELECT esp_event_id, esp_type, kind FROM event")).one()
    assert emails == ["old@example.com"]
    assert event.esp_event_id.startswith("legacy-")
    assert event.esp_type == "open"
    assert event.kind == "open"
    assert version == revisions[-1]


def test_upgrading_twice_is_harmless(database_url):
    upgrade(database_url)
    with get_engine(database_url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM contact")).scalar_one() == 0
