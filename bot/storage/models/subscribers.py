"""Newsletter subscribers, pending address offers, newsletters sent by DM."""

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


class SubscriberRow(Base):
    """A newsletter subscriber; unsubscribing empties every personal field, the dates stay.

    Two rows may hold one address (a member's unconfirmed claim beside its confirmed holder):
    the bot never tells a member that an address is already known."""

    __tablename__ = "subscriber"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    # How the address is known: tchap (the Tchap id encodes it), code (confirmed by a code
    # mailed to it), unconfirmed (neither), import (from the hub's contact table).
    address_status: Mapped[str | None] = mapped_column(String(16))
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
    __table_args__ = (Index("ix_subscription_offer_outbox", "outbox_id"),)

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    candidates: Mapped[list[str]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AddressCheckRow(Base):
    """An address a member gave that their Tchap id does not encode, waiting for the code that
    was mailed to it (only a salted hash of the code is kept)."""

    __tablename__ = "address_check"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


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
