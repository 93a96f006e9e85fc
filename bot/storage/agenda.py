"""The agenda repository: events (from feeds or added by hand), organisers' amendments, newsletters.

An event's id is its public number. Feed events are written by the feed watcher
(``bot.storage.feeds``); amendments live in their own table, which the watcher never touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.feeds.eventtime import EventTime
from bot.storage.models import EventOverrideRow, EventRow, FeedItemRow, FeedRow

MANUAL_WHEN_KEY = "manual"
NEWSLETTER = "newsletter"


@dataclass(frozen=True)
class Override:
    """What organisers changed on an event; None fields keep the event's own value."""

    title: str | None = None
    link: str | None = None
    place: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    hidden: bool = False


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored, with its feed item's summary and the organisers' override."""

    number: int
    title: str
    link: str | None
    time: EventTime
    summary: str
    manual: bool
    created_at: datetime
    override: Override | None


@dataclass(frozen=True)
class NewEvent:
    """An event an organiser adds by hand."""

    title: str
    start: datetime
    time_known: bool
    place: str | None
    link: str | None
    author: str


@dataclass(frozen=True)
class Newsletter:
    """A newsletter seen in a feed."""

    number: int | None
    title: str
    link: str | None
    published: datetime | None


def _override(row: EventOverrideRow | None) -> Override | None:
    if row is None:
        return None
    return Override(row.title, row.link, row.place, row.starts_at, row.ends_at, row.hidden)


def _stored(row: EventRow, override: EventOverrideRow | None, summary: str | None) -> StoredEvent:
    time = EventTime(row.starts_at, row.ends_at, row.all_day, row.time_known, row.place)
    return StoredEvent(
        row.id, row.title, row.link, time, summary or "", row.manual, row.created_at,
        _override(override),
    )  # fmt: skip


# Each event with its organisers' override and its feed item's summary, when it has them.
_JOINED = (
    select(EventRow, EventOverrideRow, FeedItemRow.summary)
    .outerjoin(EventOverrideRow, EventOverrideRow.event_id == EventRow.id)
    .outerjoin(FeedItemRow, FeedItemRow.id == EventRow.feed_item_id)
)


async def events_from(session: AsyncSession, since: datetime) -> list[StoredEvent]:
    """Events that may still be on at ``since`` (by their own or their amended times); those
    of a feed organisers removed are no longer on the agenda."""
    statement = (
        _JOINED.outerjoin(FeedRow, FeedRow.id == FeedItemRow.feed_id)
        .where(FeedRow.removed_at.is_(None))
        .where(
            or_(
                EventRow.starts_at >= since,
                EventRow.ends_at >= since,
                EventOverrideRow.starts_at >= since,
                EventOverrideRow.ends_at >= since,
            )
        )
    )
    rows = await session.execute(statement.order_by(EventRow.starts_at, EventRow.id))
    return [_stored(*row) for row in rows.tuples()]


async def event(session: AsyncSession, number: int) -> StoredEvent | None:
    """The event with public number ``number``."""
    found = (await session.execute(_JOINED.where(EventRow.id == number))).tuples().first()
    return None if found is None else _stored(*found)


async def add_manual(session: AsyncSession, new: NewEvent, now: datetime) -> StoredEvent:
    """Store an event added by hand; its number is given by the database."""
    row = EventRow(
        feed_item_id=None, title=new.title, link=new.link, starts_at=new.start, ends_at=None,
        all_day=False, time_known=new.time_known, place=new.place, when_key=MANUAL_WHEN_KEY,
        created_at=now, updated_at=None, manual=True, author=new.author,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return _stored(row, None, None)


async def amend(
    session: AsyncSession, number: int, changes: dict[str, object], author: str, now: datetime
) -> None:
    """Set fields of the event's override (created on first use)."""
    row = await session.get(EventOverrideRow, number)
    if row is None:
        row = EventOverrideRow(event_id=number, hidden=False)
        session.add(row)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_by, row.updated_at = author, now
    await session.flush()


async def delete_event(session: AsyncSession, number: int) -> None:
    """Forget an event (its override goes with it)."""
    await session.execute(delete(EventOverrideRow).where(EventOverrideRow.event_id == number))
    await session.execute(delete(EventRow).where(EventRow.id == number))


async def latest_newsletter(session: AsyncSession) -> Newsletter | None:
    """The newest numbered newsletter seen in a feed, else the newest newsletter at all."""
    base = select(FeedItemRow).where(FeedItemRow.kind == NEWSLETTER)
    numbered = base.where(FeedItemRow.newsletter_number.is_not(None)).order_by(
        FeedItemRow.newsletter_number.desc(), FeedItemRow.id.desc()
    )
    row = await session.scalar(numbered.limit(1))
    if row is None:
        newest = base.order_by(FeedItemRow.published.desc().nulls_last(), FeedItemRow.id.desc())
        row = await session.scalar(newest.limit(1))
    if row is None:
        return None
    return Newsletter(row.newsletter_number, row.title, row.link, row.published)
