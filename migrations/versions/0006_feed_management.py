"""Feeds organisers manage: origin, pause, removal, rooms, filters and templates per feed, the
changes made to feeds, and each item's categories and the filter rule that held it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every feed stored so far was polled because the configuration listed it.
    with op.batch_alter_table("feed") as batch:
        batch.add_column(sa.Column("name", sa.String(200), nullable=True))
        batch.add_column(
            sa.Column("origin", sa.String(16), nullable=False, server_default="config")
        )
        batch.add_column(sa.Column("added_by", sa.String(255), nullable=True))
        for moment in ("added_at", "paused_at", "removed_at"):
            batch.add_column(sa.Column(moment, UtcDateTime(), nullable=True))
        for actor in ("paused_by", "removed_by"):
            batch.add_column(sa.Column(actor, sa.String(255), nullable=True))
        for setting in ("rooms", "filters", "templates"):
            batch.add_column(sa.Column(setting, sa.JSON(), nullable=True))
    with op.batch_alter_table("feed_item") as batch:
        batch.add_column(sa.Column("categories", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("held_by", sa.String(255), nullable=True))
    op.create_table(
        "feed_change",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "feed_id", sa.Integer(), sa.ForeignKey("feed.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_index("ix_feed_change_feed", "feed_change", ["feed_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_feed_change_feed", table_name="feed_change")
    op.drop_table("feed_change")
    with op.batch_alter_table("feed_item") as batch:
        batch.drop_column("held_by")
        batch.drop_column("categories")
    with op.batch_alter_table("feed") as batch:
        for column in (
            "templates", "filters", "rooms", "removed_by", "paused_by", "removed_at",
            "paused_at", "added_at", "added_by", "origin", "name",
        ):  # fmt: skip
            batch.drop_column(column)
