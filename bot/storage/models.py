"""Typed SQLAlchemy models; Alembic migrations in ``migrations/`` are the schema's only author."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store times in UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class OutboxRow(Base):
    """A message to send: written first, sent with its own transaction id, then marked."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_room", "status", "room_id", "id"),)

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


class FeedRow(Base):
    """A watched feed: its HTTP validators, poll history, errors and backoff."""

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
    __table_args__ = (UniqueConstraint("item_id", "room_id", name="uq_delivery_item_room"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("feed_item.id", ondelete="CASCADE"))
    room_id: Mapped[str] = mapped_column(String(255))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    when_key: Mapped[str | None] = mapped_column(String(160))
    edits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReminderRow(Base):
    """A reminder an organiser set: where, what, and when it fires next (UTC)."""

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_status_at", "status", "at"),)

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
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reminder_id: Mapped[int] = mapped_column(ForeignKey("reminder.id", ondelete="CASCADE"))
    occurrence: Mapped[datetime] = mapped_column(UtcDateTime())
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    missed: Mapped[bool] = mapped_column(Boolean, default=False)


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


class AutoPostRow(Base):
    """One automatic agenda post (event reminder or digest) to one room, posted or missed once."""

    __tablename__ = "auto_post"
    __table_args__ = (UniqueConstraint("kind", "subject", "room_id", name="uq_auto_post"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    room_id: Mapped[str] = mapped_column(String(255))
    slot: Mapped[datetime] = mapped_column(UtcDateTime())
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    missed: Mapped[bool] = mapped_column(Boolean, default=False)


class SubscriberRow(Base):
    """A newsletter subscriber; unsubscribing empties every personal field, the dates stay."""

    __tablename__ = "subscriber"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    domain: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16))
    consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    consent_version: Mapped[str | None] = mapped_column(String(32))
    dm_delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    dm_room_id: Mapped[str | None] = mapped_column(String(255))
    dm_unreachable_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    subscribed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SubscriptionOfferRow(Base):
    """The addresses proposed to a member in their DM, waiting for a yes, a number or a 👍."""

    __tablename__ = "subscription_offer"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    candidates: Mapped[list[str]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class NewsletterFanoutRow(Base):
    """One newsletter's delivery by DM: how many were queued, skipped, and when it ended."""

    __tablename__ = "newsletter_fanout"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("feed_item.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(Text)
    queued: Mapped[int] = mapped_column(Integer)
    unreachable: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class NewsletterDmRow(Base):
    """A newsletter sent to one subscriber's DM: its outbox row, and whether a failure was seen."""

    __tablename__ = "newsletter_dm"
    __table_args__ = (
        UniqueConstraint("item_id", "subscriber_id", name="uq_newsletter_dm"),
        Index("ix_newsletter_dm_outbox", "outbox_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("newsletter_fanout.item_id", ondelete="CASCADE")
    )
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL")
    )
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    failure_seen: Mapped[bool] = mapped_column(Boolean, default=False)
