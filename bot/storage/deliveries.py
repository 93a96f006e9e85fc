"""Deliveries of feed announcements: one per item and room, tied to its outbox row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.feeds import ItemRecord, record_of, when_key
from bot.storage.models import DeliveryRow, EventRow, FeedItemRow, FeedRow, OutboxRow


@dataclass(frozen=True)
class DeliveryView:
    """One room's announcement of an item: its outbox state and, once sent, its event id."""

    id: int
    room_id: str
    outbox_id: int
    status: str
    event_id: str | None
    when_key: str | None
    edits: int


async def add_deliveries(
    session: AsyncSession, item: ItemRecord, outbox_ids: dict[str, int], now: datetime
) -> None:
    """Record that the item's announcement to each room is the given outbox row."""
    key = when_key(item.event)
    rows = [
        {"item_id": item.id, "room_id": room_id, "outbox_id": outbox_id, "when_key": key,
         "edits": 0, "created_at": now}
        for room_id, outbox_id in outbox_ids.items()
    ]  # fmt: skip
    if rows:
        await session.execute(insert(cast(Table, DeliveryRow.__table__)), rows)


def _view(delivery: DeliveryRow, row: OutboxRow) -> DeliveryView:
    return DeliveryView(
        delivery.id, delivery.room_id, delivery.outbox_id, row.status, row.event_id,
        delivery.when_key, delivery.edits,
    )  # fmt: skip


async def deliveries_of(session: AsyncSession, item_id: int) -> list[DeliveryView]:
    """Where the item was announced, with each announcement's outbox state."""
    rows = await session.execute(
        select(DeliveryRow, OutboxRow)
        .join(OutboxRow, OutboxRow.id == DeliveryRow.outbox_id)
        .where(DeliveryRow.item_id == item_id)
        .order_by(DeliveryRow.id)
    )
    return [_view(delivery, row) for delivery, row in rows.tuples()]


async def stale_deliveries(
    session: AsyncSession, feed_id: int
) -> list[tuple[DeliveryView, ItemRecord]]:
    """Announcements (sent or pending) of events whose time changed since they were queued."""
    rows = await session.execute(
        select(DeliveryRow, OutboxRow, FeedItemRow, EventRow)
        .join(OutboxRow, OutboxRow.id == DeliveryRow.outbox_id)
        .join(FeedItemRow, FeedItemRow.id == DeliveryRow.item_id)
        .join(EventRow, EventRow.feed_item_id == FeedItemRow.id)
        .where(
            FeedItemRow.feed_id == feed_id,
            OutboxRow.status != "failed",
            DeliveryRow.when_key.is_not(None),
            DeliveryRow.when_key != EventRow.when_key,
        )
        .order_by(DeliveryRow.id)
    )
    return [(_view(d, o), record_of(i, e)) for d, o, i, e in rows.tuples()]


async def mark_edited(session: AsyncSession, delivery_id: int, key: str | None) -> None:
    """The room was sent an edit showing the event time ``key``."""
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(when_key=key, edits=DeliveryRow.edits + 1)
    )


# --- explaining ----------------------------------------------------------------------------------


async def items_matching(
    session: AsyncSession, identities: Sequence[str], link: str
) -> list[tuple[ItemRecord, str]]:
    """Items whose identity is one of ``identities`` or whose link is ``link``, with feed URLs."""
    rows = await session.execute(
        select(FeedItemRow, EventRow, FeedRow.url)
        .join(FeedRow, FeedRow.id == FeedItemRow.feed_id)
        .outerjoin(EventRow, EventRow.feed_item_id == FeedItemRow.id)
        .where(FeedItemRow.identity.in_(list(identities)) | (FeedItemRow.link == link))
        .order_by(FeedItemRow.id)
    )
    return [(record_of(item, event), url) for item, event, url in rows.tuples()]
