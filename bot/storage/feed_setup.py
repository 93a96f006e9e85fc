"""Feeds as organisers manage them: where each comes from, whether it is paused or removed, its
rooms, filters and templates, and the record of every change made to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.feeds.filters import FilterRules
from bot.storage.feeds import FeedState, state_of
from bot.storage.models import FeedChangeRow, FeedRow

CONFIG = "config"  # the origin of feeds listed in the configuration, and the actor of its changes
COMMAND = "command"  # the origin of feeds organisers added by command


@dataclass(frozen=True)
class FeedSetup:
    """A feed as organisers see it; ``id`` is the number they call it by."""

    id: int
    url: str
    name: str | None
    origin: str
    added_by: str | None = None
    added_at: datetime | None = None
    paused_at: datetime | None = None
    paused_by: str | None = None
    removed_at: datetime | None = None
    removed_by: str | None = None
    rooms: tuple[str, ...] | None = None  # None: the hub's rooms
    filters: FilterRules = field(default_factory=FilterRules)
    templates: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How the feed is named in messages and logs."""
        return self.name or self.url

    @property
    def active(self) -> bool:
        """Polled and announcing: neither paused nor removed."""
        return self.paused_at is None and self.removed_at is None


@dataclass(frozen=True)
class FeedChange:
    """One change made to a feed: when, by whom (a Matrix id, or ``CONFIG``), what."""

    feed_id: int
    at: datetime
    actor: str
    action: str
    detail: Mapping[str, Any]


def setup_of(row: FeedRow) -> FeedSetup:
    """A feed row as its setup."""
    return FeedSetup(
        row.id, row.url, row.name, row.origin, row.added_by, row.added_at, row.paused_at,
        row.paused_by, row.removed_at, row.removed_by,
        None if row.rooms is None else tuple(row.rooms), FilterRules.from_data(row.filters),
        dict(row.templates or {}),
    )  # fmt: skip


async def setups(session: AsyncSession, *, removed: bool = False) -> list[FeedSetup]:
    """Every feed in the order it was first known, the removed ones only when asked for."""
    query = select(FeedRow).order_by(FeedRow.id)
    if not removed:
        query = query.where(FeedRow.removed_at.is_(None))
    return [setup_of(row) for row in await session.scalars(query)]


async def find(
    session: AsyncSession, *, number: int | None = None, url: str | None = None
) -> FeedSetup | None:
    """The feed with this number, or at this URL."""
    condition = FeedRow.id == number if number is not None else FeedRow.url == url
    row = await session.scalar(select(FeedRow).where(condition))
    return None if row is None else setup_of(row)


async def watched(session: AsyncSession, url: str) -> tuple[FeedSetup, FeedState] | None:
    """What a poll of ``url`` needs first: the feed's setup and its stored poll state."""
    row = await session.scalar(select(FeedRow).where(FeedRow.url == url))
    return None if row is None else (setup_of(row), state_of(row))


async def create(
    session: AsyncSession, url: str, *, name: str | None, origin: str, actor: str, now: datetime
) -> FeedSetup:
    """A new feed, never polled yet."""
    row = FeedRow(url=url, polls=0, first_poll_done=False, consecutive_failures=0)
    row.largest_size_seen, row.name, row.origin = 0, name, origin
    row.added_by, row.added_at = (None if actor == CONFIG else actor), now
    session.add(row)
    await session.flush()
    return setup_of(row)


async def change(session: AsyncSession, feed_id: int, **values: Any) -> None:
    """Set columns of the feed's row (``rooms``, ``paused_at``...) as given."""
    await session.execute(update(FeedRow).where(FeedRow.id == feed_id).values(**values))


async def record_change(session: AsyncSession, change: FeedChange) -> None:
    """Keep ``change`` in the feed's history."""
    session.add(
        FeedChangeRow(
            feed_id=change.feed_id, at=change.at, actor=change.actor, action=change.action,
            detail=dict(change.detail) or None,
        )
    )  # fmt: skip


async def history(session: AsyncSession, feed_id: int, limit: int = 10) -> list[FeedChange]:
    """The feed's latest changes, newest first."""
    rows = await session.scalars(
        select(FeedChangeRow)
        .where(FeedChangeRow.feed_id == feed_id)
        .order_by(FeedChangeRow.id.desc())
        .limit(limit)
    )
    return [FeedChange(r.feed_id, r.at, r.actor, r.action, r.detail or {}) for r in rows]
