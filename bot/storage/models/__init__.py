"""Typed SQLAlchemy models; Alembic migrations in ``migrations/`` are the schema's only author.

Importing this package declares every table on ``Base.metadata``."""

from bot.storage.models.base import Base, UtcDateTime
from bot.storage.models.core import BotState, HandledEvent, OutboxRow, RoomRedirect
from bot.storage.models.feeds import (
    DeliveryRow,
    EventOverrideRow,
    EventRow,
    FeedChangeRow,
    FeedItemRow,
    FeedRow,
)
from bot.storage.models.schedules import AutoPostRow, ReminderFiringRow, ReminderRow
from bot.storage.models.subscribers import (
    AddressCheckRow,
    NewsletterDmRow,
    NewsletterFanoutRow,
    SubscriberRow,
    SubscriptionOfferRow,
)

__all__ = [
    "AddressCheckRow",
    "AutoPostRow",
    "Base",
    "BotState",
    "DeliveryRow",
    "EventOverrideRow",
    "EventRow",
    "FeedChangeRow",
    "FeedItemRow",
    "FeedRow",
    "HandledEvent",
    "NewsletterDmRow",
    "NewsletterFanoutRow",
    "OutboxRow",
    "ReminderFiringRow",
    "ReminderRow",
    "RoomRedirect",
    "SubscriberRow",
    "SubscriptionOfferRow",
    "UtcDateTime",
]
