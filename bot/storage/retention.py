"""What the database may forget, table by table, and the small batches it forgets them in.

Each rule says which rows are done with; ``prune_batch`` deletes at most ``limit`` of them in
the caller's unit of work, so a pass is many short transactions and a crash loses nothing.
Rows something still points at (an announcement's outbox row, a reminder's last message) stay
until what points at them goes; a message still to send is never chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import autoposts
from bot.storage.models import (
    AddressCheckRow,
    AutoPostRow,
    DeliveryRow,
    FeedChangeRow,
    HandledEvent,
    NewsletterDmRow,
    NewsletterFanoutRow,
    OutboxRow,
    ReminderFiringRow,
    ReminderRow,
    SubscriptionOfferRow,
)
from bot.storage.outbox import FAILED, PENDING, SENT
from bot.storage.reminders import ACTIVE

OFFER_LIFETIME = timedelta(days=7)
"""An offer of addresses not answered within this is gone (the service refuses it already)."""


@dataclass(frozen=True)
class Cutoffs:
    """Rows older than these moments may go (each rule adds what else must hold)."""

    now: datetime
    sent_messages: datetime
    failed_messages: datetime
    handled_events: datetime
    history: datetime
    feed_changes: datetime
    agenda_checked: datetime | None = None  # automatic posts handled up to here


@dataclass(frozen=True)
class Rule:
    """One table's rule: its rows (by key) that are done with, given the cutoffs."""

    table: str
    key: Any
    done: Callable[[Cutoffs], ColumnElement[bool]]


def _referenced(column: Any) -> ColumnElement[bool]:
    return exists().where(column == OutboxRow.id)


def _outbox_done(cut: Cutoffs) -> ColumnElement[bool]:
    """Sent after the transaction window, or refused long ago; nothing points at it."""
    sent = (OutboxRow.status == SENT) & (OutboxRow.sent_at < cut.sent_messages)
    failed = (OutboxRow.status == FAILED) & (OutboxRow.created_at < cut.failed_messages)
    pointers = (
        DeliveryRow.outbox_id, NewsletterDmRow.outbox_id, ReminderRow.last_outbox_id,
        ReminderFiringRow.outbox_id, AutoPostRow.outbox_id, SubscriptionOfferRow.outbox_id,
    )  # fmt: skip
    free = ~or_(*(_referenced(column) for column in pointers))
    return (OutboxRow.status != PENDING) & or_(sent, failed) & free


def _firing_done(cut: Cutoffs) -> ColumnElement[bool]:
    """An occurrence long past that its reminder can never fire again (it moved past it)."""
    reminder = ReminderRow.id == ReminderFiringRow.reminder_id
    moved_on = exists().where(
        reminder, (ReminderRow.status != ACTIVE) | (ReminderRow.at > ReminderFiringRow.occurrence)
    )
    return (ReminderFiringRow.occurrence < cut.history) & moved_on


def _reminder_done(cut: Cutoffs) -> ColumnElement[bool]:
    """Ended (done, cancelled, missed) long ago, its last message not waiting to be sent."""
    last_message = OutboxRow.id == ReminderRow.last_outbox_id
    waiting = exists().where(last_message, OutboxRow.status == PENDING)
    last = ReminderRow.last_fired_at.is_(None) | (ReminderRow.last_fired_at < cut.history)
    ended = (ReminderRow.status != ACTIVE) & (ReminderRow.at < cut.history)
    return ended & (ReminderRow.created_at < cut.history) & last & ~waiting


def _autopost_done(cut: Cutoffs) -> ColumnElement[bool]:
    """Due long ago and before the moment automatic posts were checked up to (never due again)."""
    if cut.agenda_checked is None:
        return AutoPostRow.id.is_(None)  # nothing: the catch-up has not run yet
    return (AutoPostRow.slot < cut.history) & (AutoPostRow.slot < cut.agenda_checked)


def _fanout_dm_done(cut: Cutoffs) -> ColumnElement[bool]:
    return exists().where(
        NewsletterFanoutRow.item_id == NewsletterDmRow.item_id, _fanout_finished(cut)
    )


def _fanout_finished(cut: Cutoffs) -> ColumnElement[bool]:
    """A delivery by DM that ended long ago."""
    return NewsletterFanoutRow.finished_at.is_not(None) & (
        NewsletterFanoutRow.finished_at < cut.history
    )


def _fanout_done(cut: Cutoffs) -> ColumnElement[bool]:
    """Finished long ago, and its messages' records gone first."""
    left = exists().where(NewsletterDmRow.item_id == NewsletterFanoutRow.item_id)
    return _fanout_finished(cut) & ~left


def _offer_done(cut: Cutoffs) -> ColumnElement[bool]:
    return SubscriptionOfferRow.created_at < cut.now - OFFER_LIFETIME


def _check_done(cut: Cutoffs) -> ColumnElement[bool]:
    return AddressCheckRow.expires_at < cut.now


def _claim_done(cut: Cutoffs) -> ColumnElement[bool]:
    return HandledEvent.handled_at < cut.handled_events


def _change_done(cut: Cutoffs) -> ColumnElement[bool]:
    return FeedChangeRow.at < cut.feed_changes


RULES: tuple[Rule, ...] = (
    # What points at outbox rows goes first, so the same pass frees those rows.
    Rule("reminder_firing", ReminderFiringRow.id, _firing_done),
    Rule("reminder", ReminderRow.id, _reminder_done),
    Rule("auto_post", AutoPostRow.id, _autopost_done),
    Rule("newsletter_dm", NewsletterDmRow.id, _fanout_dm_done),
    Rule("newsletter_fanout", NewsletterFanoutRow.item_id, _fanout_done),
    Rule("subscription_offer", SubscriptionOfferRow.user_id, _offer_done),
    Rule("address_check", AddressCheckRow.user_id, _check_done),
    Rule("handled_event", HandledEvent.event_id, _claim_done),
    Rule("feed_change", FeedChangeRow.id, _change_done),
    Rule("outbox", OutboxRow.id, _outbox_done),
)


async def prune_batch(session: AsyncSession, rule: Rule, cut: Cutoffs, limit: int) -> int:
    """Delete at most ``limit`` rows ``rule`` says are done with; how many went."""
    chosen = select(rule.key).where(rule.done(cut)).limit(limit)
    keys = list((await session.scalars(chosen)).all())
    if not keys:
        return 0
    # The rule again: what changed since the choice (a row sent, a row pointed at) stays.
    done = delete(rule.key.class_).where(rule.key.in_(keys), rule.done(cut))
    result = await session.execute(done)
    return int(getattr(result, "rowcount", 0) or 0)


async def agenda_checked(session: AsyncSession) -> datetime | None:
    """Up to when automatic agenda posts were handled (older slots are never due again)."""
    return await autoposts.watermark(session)
