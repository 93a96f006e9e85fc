"""Newsletter subscriptions: subscribers, address offers, deliveries by DM, bulk outbox rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("bulk", sa.Boolean(), nullable=False, server_default=sa.false()))
    _subscriber()
    _offer()
    _fanout()


def _subscriber() -> None:
    op.create_table(
        "subscriber",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(255), nullable=True, unique=True),
        sa.Column("email", sa.String(320), nullable=True, unique=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("domain", sa.String(255), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("consent_at", UtcDateTime(), nullable=True),
        sa.Column("consent_version", sa.String(32), nullable=True),
        sa.Column("dm_delivery", sa.Boolean(), nullable=False),
        sa.Column("dm_room_id", sa.String(255), nullable=True),
        sa.Column("dm_unreachable_at", UtcDateTime(), nullable=True),
        sa.Column("subscribed_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        sa.Column("unsubscribed_at", UtcDateTime(), nullable=True),
    )


def _offer() -> None:
    op.create_table(
        "subscription_offer",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )


def _fanout() -> None:
    op.create_table(
        "newsletter_fanout",
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("feed_item.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("unreachable", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
    )
    op.create_table(
        "newsletter_dm",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "item_id",
            sa.Integer(),
            sa.ForeignKey("newsletter_fanout.item_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "subscriber_id",
            sa.Integer(),
            sa.ForeignKey("subscriber.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=False),
        sa.Column("failure_seen", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("item_id", "subscriber_id", name="uq_newsletter_dm"),
    )
    op.create_index("ix_newsletter_dm_outbox", "newsletter_dm", ["outbox_id"])


def downgrade() -> None:
    op.drop_table("newsletter_dm")
    op.drop_table("newsletter_fanout")
    op.drop_table("subscription_offer")
    op.drop_table("subscriber")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("bulk")
