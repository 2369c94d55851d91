"""event outbox: events become the forwarding outbox (signal, payload, attempts, lease) and
know their contact; every event has an id to deduplicate on.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:08:46
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows written by 0001 may lack an ESP event id: give them a stable one before NOT NULL.
    op.execute("UPDATE event SET esp_event_id = 'legacy-' || id WHERE esp_event_id IS NULL")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("esp_type", sa.String(length=64), nullable=False, server_default="unknown")
        )
        batch_op.add_column(sa.Column("contact_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "signal", sa.String(length=32), nullable=False, server_default="engagement_event"
            )
        )
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("forward_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("forward_error", sa.String(), nullable=True))
        batch_op.add_column(
            sa.Column("claimed_until", models.tables.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.alter_column("esp_event_id", existing_type=sa.VARCHAR(length=200), nullable=False)
        batch_op.alter_column("kind", existing_type=sa.VARCHAR(length=32), nullable=True)
        batch_op.create_index(batch_op.f("ix_event_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_forwarded_at"), ["forwarded_at"], unique=False)
        batch_op.create_foreign_key(
            "fk_event_contact_id_contact", "contact", ["contact_id"], ["id"], ondelete="CASCADE"
        )
    op.execute("UPDATE event SET esp_type = kind WHERE kind IS NOT NULL")
    with op.batch_alter_table("event", schema=None) as batch_op:
        # The defaults only served existing rows; the models set these values.
        batch_op.alter_column("esp_type", server_default=None)
        batch_op.alter_column("signal", server_default=None)
        batch_op.alter_column("forward_attempts", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_constraint("fk_event_contact_id_contact", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_event_forwarded_at"))
        batch_op.drop_index(batch_op.f("ix_event_contact_id"))
        batch_op.alter_column("kind", existing_type=sa.VARCHAR(length=32), nullable=False)
        batch_op.alter_column("esp_event_id", existing_type=sa.VARCHAR(length=200), nullable=True)
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("forward_error")
        batch_op.drop_column("forward_attempts")
        batch_op.drop_column("payload")
        batch_op.drop_column("signal")
        batch_op.drop_column("contact_id")
        batch_op.drop_column("esp_type")
