"""Reminders: the reminders organisers set, and each occurrence fired or reported once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("public_id", sa.String(16), nullable=False, unique=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("cron", sa.JSON(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("mention_room", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_fired_at", UtcDateTime(), nullable=True),
        sa.Column("last_outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=True),
    )
    op.create_index("ix_reminder_status_at", "reminder", ["status", "at"])
    op.create_table(
        "reminder_firing",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "reminder_id",
            sa.Integer(),
            sa.ForeignKey("reminder.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("occurrence", UtcDateTime(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id"), nullable=True),
        sa.Column("fired_at", UtcDateTime(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("missed", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("reminder_id", "occurrence", name="uq_reminder_firing_occurrence"),
    )


def downgrade() -> None:
    op.drop_table("reminder_firing")
    op.drop_index("ix_reminder_status_at", table_name="reminder")
    op.drop_table("reminder")
