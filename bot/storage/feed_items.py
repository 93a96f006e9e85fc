"""Writing feed items: new ones with their event times, edits, statuses, and forgetting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.feeds.normalise import FeedItem
from bot.feeds.plan import ItemStatus
from bot.storage.feeds import DEFERRED, ItemRecord, when_key
from bot.storage.models import EventRow, FeedItemRow


async def add_items(
    session: AsyncSession,
    feed_id: int,
    items: Sequence[tuple[FeedItem, str]],
    *,
    now: datetime,
    poll: int,
    holds: Mapping[str, str] | None = None,
) -> list[ItemRecord]:
    """Store new items with their status (and, by identity, the filter rule that held them),
    and their event times, in two bulk statements."""
    if not items:
        return []
    held = holds or {}
    values = [
        _item_values(feed_id, item, status, now, poll) | {"held_by": held.get(item.identity)}
        for item, status in items
    ]
    # Rows come back in any order (asking for parameter order makes SQLite insert one by one):
    # identities are unique within a feed, so they tell which id is whose.
    table = cast(Table, FeedItemRow.__table__)
    returned = await session.execute(insert(table).returning(table.c.identity, table.c.id), values)
    id_of: dict[str, int] = dict(returned.tuples().all())
    ids = [id_of[item.identity] for item, _ in items]
    events = [_event_values(id_, item, now) for id_, (item, _) in zip(ids, items, strict=True)]
    if any(events):
        events_table = cast(Table, EventRow.__table__)
        await session.execute(insert(events_table), [event for event in events if event])
    pairs = zip(ids, values, items, strict=True)
    return [_new_record(id_, item, row) for id_, row, (item, _) in pairs]


def _new_record(item_id: int, item: FeedItem, row: Mapping[str, Any]) -> ItemRecord:
    return ItemRecord(
        item_id, row["feed_id"], item.identity, str(item.kind), item.title, item.link,
        item.summary, item.published, item.newsletter_number, item.fingerprint, row["status"],
        row["first_seen_at"], row["first_seen_poll"], item.event, item.categories, row["held_by"],
    )  # fmt: skip


def _item_values(
    feed_id: int, item: FeedItem, status: str, now: datetime, poll: int
) -> dict[str, object]:
    return {
        "feed_id": feed_id, "identity": item.identity, "kind": str(item.kind),
        "title": item.title, "link": item.link, "summary": item.summary,
        "published": item.published, "newsletter_number": item.newsletter_number,
        "fingerprint": item.fingerprint, "status": status, "first_seen_at": now,
        "first_seen_poll": poll, "last_seen_poll": poll, "updated_at": None,
        "categories": list(item.categories) or None,
    }  # fmt: skip


def _event_values(item_id: int, item: FeedItem, now: datetime) -> dict[str, object] | None:
    event = item.event
    if event is None:
        return None
    return {
        "feed_item_id": item_id, "title": item.title, "link": item.link,
        "starts_at": event.start, "ends_at": event.end, "all_day": event.all_day,
        "time_known": event.time_known, "place": event.place, "when_key": when_key(event),
        "created_at": now, "updated_at": None,
    }  # fmt: skip


async def update_item(session: AsyncSession, item_id: int, item: FeedItem, now: datetime) -> None:
    """Take an edited item's new title, link, summary and dates; its event follows."""
    row = await session.get(FeedItemRow, item_id)
    assert row is not None
    row.title, row.link, row.summary = item.title, item.link, item.summary
    row.published, row.newsletter_number = item.published, item.newsletter_number
    row.kind, row.fingerprint, row.updated_at = str(item.kind), item.fingerprint, now
    row.categories = list(item.categories) or None
    event = await session.scalar(select(EventRow).where(EventRow.feed_item_id == item_id))
    if event is None:
        fresh = _event_values(item_id, item, now)
        if fresh is not None:
            session.add(EventRow(**fresh))
    elif item.event is not None:
        _copy_event(event, item, now)


def _copy_event(row: EventRow, item: FeedItem, now: datetime) -> None:
    event = item.event
    assert event is not None
    row.title, row.link, row.starts_at, row.ends_at = item.title, item.link, event.start, event.end
    row.all_day, row.time_known, row.place = event.all_day, event.time_known, event.place
    row.when_key, row.updated_at = when_key(event) or "", now


async def set_status(
    session: AsyncSession, item_ids: Sequence[int], status: str, held_by: str | None = None
) -> None:
    """Give items a new status (and the filter rule that held them, for "filtered")."""
    if item_ids:
        await session.execute(
            update(FeedItemRow)
            .where(FeedItemRow.id.in_(item_ids))
            .values(status=status, held_by=held_by)
        )


async def silence_waiting(session: AsyncSession, feed_id: int) -> None:
    """The feed's items still waiting for an announcement slot are recorded silently instead
    (a feed followed again announces nothing it had before)."""
    await session.execute(
        update(FeedItemRow)
        .where(FeedItemRow.feed_id == feed_id, FeedItemRow.status == DEFERRED)
        .values(status=ItemStatus.RECORDED_SILENTLY)
    )


async def touch(session: AsyncSession, item_ids: Sequence[int], poll: int) -> None:
    """Mark items as seen in poll ``poll`` (pruning forgets the least recently seen first)."""
    if item_ids:
        await session.execute(
            update(FeedItemRow).where(FeedItemRow.id.in_(item_ids)).values(last_seen_poll=poll)
        )


async def delete_items(session: AsyncSession, item_ids: Sequence[int]) -> None:
    """Forget items: their deliveries go with them, their agenda events stay (unlinked)."""
    if item_ids:
        await session.execute(delete(FeedItemRow).where(FeedItemRow.id.in_(item_ids)))
