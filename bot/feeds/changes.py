"""Changes to the feeds followed: each one logged and kept with who made it, and a signal that
wakes the watchers once the unit of work that made it has committed."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session as SyncSession

from bot.storage import feed_setup
from bot.storage.feed_setup import FeedChange, FeedSetup

log = logging.getLogger(__name__)
_PENDING = "ssphub.feeds.changed"


class FeedChanges:
    """Wakes the feed watchers when feeds were added, removed, paused or resumed."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.generation = 0  # counts the changes: a watcher reads its feed again when it moved

    def notify(self) -> None:
        """Feeds changed: the watchers look again."""
        self.generation += 1
        self.event.set()

    def after_commit(self, session: AsyncSession) -> None:
        """Notify once ``session``'s unit of work commits (never if it rolls back)."""
        if session.info.get(_PENDING):
            return
        session.info[_PENDING] = True

        def committed(sync_session: SyncSession) -> None:
            sync_session.info.pop(_PENDING, None)
            self.notify()

        def rolled_back(sync_session: SyncSession, _previous: object) -> None:
            sync_session.info.pop(_PENDING, None)

        event.listen(session.sync_session, "after_commit", committed, once=True)
        event.listen(session.sync_session, "after_soft_rollback", rolled_back, once=True)

    async def record(
        self, session: AsyncSession, feed: FeedSetup, actor: str, action: str, now: datetime,
        **detail: Any,
    ) -> None:  # fmt: skip
        """``note`` the change, and wake the watchers once ``session`` commits."""
        await note(session, feed, actor, action, now, **detail)
        self.after_commit(session)


async def note(
    session: AsyncSession,
    feed: FeedSetup,
    actor: str,
    action: str,
    now: datetime,
    **detail: Any,
) -> None:
    """Log a change made to ``feed`` by ``actor`` and keep it in the feed's history."""
    said = "".join(f", {key}={value!r}" for key, value in detail.items())
    log.info("feed %d (%s): %s by %s%s", feed.id, feed.url, action, actor, said)
    await feed_setup.record_change(session, FeedChange(feed.id, now, actor, action, detail))
