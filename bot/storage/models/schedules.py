"""Timed posts: reminders and their firings, the agenda's automatic posts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, UtcDateTime


class ReminderRow(Base):
    """A reminder an organiser set: where, what, and when it fires next (UTC)."""

    __tablename__ = "reminder"
    __table_args__ = (
        Index("ix_reminder_status_at", "status", "at"),
        Index("ix_reminder_last_outbox", "last_outbox_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    room_id: Mapped[str] = mapped_column(String(255))
    author: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    cron: Mapped[dict[str, str] | None] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    mention_room: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


class ReminderFiringRow(Base):
    """One occurrence of a reminder, posted (perhaps late) or reported as missed, exactly once."""

    __tablename__ = "reminder_firing"
    __table_args__ = (
        UniqueConstraint("reminder_id", "occurrence", name="uq_reminder_firing_occurrence"),
        Index("ix_reminder_firing_outbox", "outbox_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminder.id", ondelete="CASCADE"))
    occurrence: Mapped[datetime] = mapped_column(UtcDateTime())
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    missed: Mapped[bool] = mapped_column(Boolean, default=False)


class AutoPostRow(Base):
    """One automatic agenda post (event reminder or digest) to one room, posted or missed once."""

    __tablename__ = "auto_post"
    __table_args__ = (
        UniqueConstraint("kind", "subject", "room_id", name="uq_auto_post"),
        Index("ix_auto_post_outbox", "outbox_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    room_id: Mapped[str] = mapped_column(String(255))
    slot: Mapped[datetime] = mapped_column(UtcDateTime())
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    missed: Mapped[bool] = mapped_column(Boolean, default=False)
