"""The feeds' tables: feeds, their changes, items, their events and organisers' amendments,
deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models.base import Base, UtcDateTime


class FeedRow(Base):
    """A feed: where it comes from and what organisers set on it (paused or removed, rooms,
    filters, templates), then its HTTP validators, poll history, errors and backoff."""

    __tablename__ = "feed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    first_poll_done: Mapped[bool] = mapped_column(Boolean, default=False)
    last_poll_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_kind: Mapped[str | None] = mapped_column(String(32))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(128))
    body_hash: Mapped[str | None] = mapped_column(String(128))
    largest_size_seen: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str | None] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(16), default="config", server_default="config")
    added_by: Mapped[str | None] = mapped_column(String(255))
    added_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    paused_by: Mapped[str | None] = mapped_column(String(255))
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    removed_by: Mapped[str | None] = mapped_column(String(255))
    rooms: Mapped[list[str] | None] = mapped_column(JSON)  # None: the hub's rooms
    filters: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    templates: Mapped[dict[str, str] | None] = mapped_column(JSON)


class FeedChangeRow(Base):
    """One change made to a feed, by an organiser (their Matrix id) or by the configuration."""

    __tablename__ = "feed_change"
    __table_args__ = (
        Index("ix_feed_change_feed", "feed_id", "id"),
        Index("ix_feed_change_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feed.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class FeedItemRow(Base):
    """An item seen in a feed, known by its identity, and what the bot did about it."""

    __tablename__ = "feed_item"
    __table_args__ = (
        UniqueConstraint("feed_id", "identity", name="uq_feed_item_identity"),
        Index("ix_feed_item_feed_status", "feed_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feed.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(600))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(UtcDateTime())
    newsletter_number: Mapped[int | None] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    first_seen_poll: Mapped[int] = mapped_column(Integer)
    last_seen_poll: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    categories: Mapped[list[str] | None] = mapped_column(JSON)
    held_by: Mapped[str | None] = mapped_column(String(255))  # the filter rule that held it


class EventRow(Base):
    """When and where an event happens; feed events point at their item, the agenda reads all."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("feed_item_id", name="uq_event_feed_item"),
        Index("ix_event_starts_at", "starts_at"),
        {"sqlite_autoincrement": True},  # the id is the event's public number: never reused
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("feed_item.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    time_known: Mapped[bool] = mapped_column(Boolean, default=False)
    place: Mapped[str | None] = mapped_column(Text)
    when_key: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    manual: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    author: Mapped[str | None] = mapped_column(String(255))


class DeliveryRow(Base):
    """A feed item's announcement to one room: its outbox row, and the event time it showed."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("item_id", "room_id", name="uq_delivery_item_room"),
        Index("ix_delivery_outbox", "outbox_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("feed_item.id", ondelete="CASCADE"))
    room_id: Mapped[str] = mapped_column(String(255))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    when_key: Mapped[str | None] = mapped_column(String(160))
    edits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class EventOverrideRow(Base):
    """What organisers changed on an event; kept across feed updates, it wins when shown."""

    __tablename__ = "event_override"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
