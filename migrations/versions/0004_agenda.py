"""Agenda: manual events, organisers' amendments, never-reused event numbers, automatic posts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    # The event id is the number members type: on SQLite, AUTOINCREMENT keeps a deleted
    # event's number from coming back (PostgreSQL sequences never reuse one).
    with op.batch_alter_table(
        "event",
        recreate="always" if _is_sqlite() else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch:
        batch.add_column(
            sa.Column("manual", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("author", sa.String(255), nullable=True))
    _event_override()
    _auto_post()


def _event_override() -> None:
    op.create_table(
        "event_override",
        sa.Column(
            "event_id",
            sa.Integer(),
            sa.ForeignKey("event.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("starts_at", UtcDateTime(), nullable=True),
        sa.Column("ends_at", UtcDateTime(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )


def _auto_post() -> None:
    op.create_table(
        "auto_post",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("slot", UtcDateTime(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=True),
        sa.Column("posted_at", UtcDateTime(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("missed", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("kind", "subject", "room_id", name="uq_auto_post"),
    )


def downgrade() -> None:
    op.drop_table("auto_post")
    op.drop_table("event_override")
    with op.batch_alter_table("event") as batch:
        batch.drop_column("author")
        batch.drop_column("manual")
