"""The bot's own tables: the outbox, handled events, named values, room upgrades."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, UtcDateTime


class OutboxRow(Base):
    """A message to send: written first, sent with its own transaction id, then marked."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_room", "status", "room_id", "id"),
        Index("ix_outbox_status_sent", "status", "sent_at"),  # the prune of sent rows
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(String(64), unique=True)
    room_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    event_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Bulk rows (newsletters by DM) also obey a global pace, across rooms.
    bulk: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The member whose private data the row carries: it goes only to that member's true DM,
    # and once sent, refused or erased it keeps neither its content nor this id.
    private_for: Mapped[str | None] = mapped_column(String(255), index=True)


class HandledEvent(Base):
    """An incoming event the bot has acted on, so a replayed sync never acts twice."""

    __tablename__ = "handled_event"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class BotState(Base):
    """Small named values the bot keeps between runs (the sync token)."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RoomRedirect(Base):
    """A room that was upgraded: messages for ``old_room_id`` go to ``new_room_id``."""

    __tablename__ = "room_redirect"

    old_room_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    new_room_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
