"""Retention: indexes for the housekeeping's prune queries (sent rows by age, the rows pointing
at outbox rows; PostgreSQL and SQLite check these pointers on every outbox row deleted).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_outbox_status_sent", "outbox", ["status", "sent_at"]),
    ("ix_delivery_outbox", "delivery", ["outbox_id"]),
    ("ix_reminder_last_outbox", "reminder", ["last_outbox_id"]),
    ("ix_reminder_firing_outbox", "reminder_firing", ["outbox_id"]),
    ("ix_auto_post_outbox", "auto_post", ["outbox_id"]),
    ("ix_subscription_offer_outbox", "subscription_offer", ["outbox_id"]),
    ("ix_feed_change_at", "feed_change", ["at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
