"""The configuration's feeds, seeded into the database at every start.

The database is where the feeds followed live; the configuration file is their seed:
- a feed the file lists and the database lacks is added, "from config" (its first poll is silent);
- a feed the file lists that organisers removed comes back, its first poll silent again;
- an organiser's feed the file now lists becomes "from config";
- a feed from config the file no longer lists is removed (its items and history are kept);
- the file's name for a feed, when it gives one, replaces the stored one.
Pauses, rooms, filters and templates set by command are never touched here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import FeedConfig
from bot.feeds.changes import note
from bot.storage import feed_items, feed_setup
from bot.storage.feed_setup import CONFIG, FeedSetup


async def seed(session: AsyncSession, configured: Sequence[FeedConfig], now: datetime) -> None:
    """Bring the stored feeds in line with the configuration's list, as the module says."""
    stored = {setup.url: setup for setup in await feed_setup.setups(session, removed=True)}
    listed = {feed.url for feed in configured}
    for feed in configured:
        await _seed_one(session, stored.get(feed.url), feed, now)
    for setup in stored.values():
        if setup.origin == CONFIG and setup.url not in listed and setup.removed_at is None:
            await feed_setup.change(session, setup.id, removed_at=now, removed_by=CONFIG)
            await note(session, setup, CONFIG, "dropped", now)


async def _seed_one(
    session: AsyncSession, setup: FeedSetup | None, feed: FeedConfig, now: datetime
) -> None:
    """Add the listed feed, or bring its stored row in line with the file."""
    if setup is None:
        created = await feed_setup.create(
            session, feed.url, name=feed.name, origin=CONFIG, actor=CONFIG, now=now
        )
        await note(session, created, CONFIG, "seeded", now)
        return
    for action, values in _amendments(setup, feed):
        await feed_setup.change(session, setup.id, **values)
        if action == "restored":
            await feed_items.silence_waiting(session, setup.id)
        await note(session, setup, CONFIG, action, now, **_detail(action, feed))


# A feed coming back reads its whole body again, and records it silently, as a first poll.
_AS_NEW = {
    "removed_at": None, "removed_by": None, "first_poll_done": False,
    "etag": None, "last_modified": None, "body_hash": None,
}  # fmt: skip


def _amendments(setup: FeedSetup, feed: FeedConfig) -> list[tuple[str, dict[str, Any]]]:
    """What the file changes on a stored feed, action by action."""
    found: list[tuple[str, dict[str, Any]]] = []
    if setup.origin != CONFIG:
        found.append(("adopted", {"origin": CONFIG}))
    if setup.removed_at is not None:
        found.append(("restored", _AS_NEW))
    if feed.name is not None and feed.name != setup.name:
        found.append(("renamed", {"name": feed.name}))
    return found


def _detail(action: str, feed: FeedConfig) -> dict[str, Any]:
    return {"name": feed.name} if action == "renamed" else {}
