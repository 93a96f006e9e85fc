"""Feeds: watched feeds, their items, feed events, and deliveries of announcements.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2048), nullable=False, unique=True),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("first_poll_done", sa.Boolean(), nullable=False),
        sa.Column("last_poll_at", UtcDateTime(), nullable=True),
        sa.Column("last_success_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_kind", sa.String(32), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", UtcDateTime(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.String(128), nullable=True),
        sa.Column("body_hash", sa.String(128), nullable=True),
        sa.Column("largest_size_seen", sa.Integer(), nullable=False),
    )
    _feed_item()
    _event()
    _delivery()


def _feed_item() -> None:
    op.create_table(
        "feed_item",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "feed_id", sa.Integer(), sa.ForeignKey("feed.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("identity", sa.String(600), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("published", UtcDateTime(), nullable=True),
        sa.Column("newsletter_number", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("first_seen_at", UtcDateTime(), nullable=False),
        sa.Column("first_seen_poll", sa.Integer(), nullable=False),
        sa.Column("last_seen_poll", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("feed_id", "identity", name="uq_feed_item_identity"),
    )
    op.create_index("ix_feed_item_feed_status", "feed_item", ["feed_id", "status"])


def _event() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "feed_item_id",
            sa.Integer(),
            sa.ForeignKey("feed_item.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("ends_at", UtcDateTime(), nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("time_known", sa.Boolean(), nullable=False),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("when_key", sa.String(160), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("feed_item_id", name="uq_event_feed_item"),
    )
    op.create_index("ix_event_starts_at", "event", ["starts_at"])


def _delivery() -> None:
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("feed_item.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=False),
        sa.Column("when_key", sa.String(160), nullable=True),
        sa.Column("edits", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("item_id", "room_id", name="uq_delivery_item_room"),
    )


def downgrade() -> None:
    op.drop_table("delivery")
    op.drop_index("ix_event_starts_at", table_name="event")
    op.drop_table("event")
    op.drop_index("ix_feed_item_feed_status", table_name="feed_item")
    op.drop_table("feed_item")
    op.drop_table("feed")
