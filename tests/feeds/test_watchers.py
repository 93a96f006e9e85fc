"""The feed watchers follow the database while they run: a feed added gets a watcher and is
polled, a paused one loses it and is fetched no more, a resumed one is polled again at once."""

from __future__ import annotations

import asyncio
import dataclasses
from urllib.parse import urlsplit

from bot.feeds.changes import FeedChanges
from bot.feeds.watch import FeedWatcher
from bot.feeds.watchers import FeedWatchers
from bot.storage import feed_setup
from bot.storage.feed_setup import COMMAND, FeedSetup
from tests.feeds.conftest import load_feed
from tests.feeds.rig import Rig, database_url, db, postgres_database_url, rig
from tests.polling import until

__all__ = ["database_url", "db", "postgres_database_url", "rig"]

NEWSLETTERS = load_feed("infolettre").decode()
ORGA = "@orga:hub.test"


def fetches(rig: Rig, path: str) -> int:
    """Requests the feed server answered for ``path``."""
    return sum(1 for requested, _ in rig.server.requests if requested == path)


class Followed:
    """The watchers' view of the database, and watchers that poll often (every 50 ms)."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.changes = FeedChanges()

    async def read(self) -> list[FeedSetup]:
        async with self.rig.db.session() as session:
            return await feed_setup.setups(session)

    def build(self, setup: FeedSetup) -> FeedWatcher:
        watcher = self.rig.watcher(urlsplit(setup.url).path)
        watcher.settings = dataclasses.replace(watcher.settings, interval=0.05)
        return watcher

    async def change(self, **values: object) -> None:
        """Change feed 1 in a unit of work that tells the watchers once it commits."""
        async with self.rig.db.session() as session:
            await feed_setup.change(session, 1, **values)
            self.changes.after_commit(session)


async def test_watchers_follow_feeds_added_paused_and_resumed_during_the_run(rig: Rig) -> None:
    """Added while running: polled; paused: its watcher ends and the server hears nothing more;
    resumed: polled again, without any restart."""
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    followed = Followed(rig)
    watchers = FeedWatchers(
        followed=followed.read, build=followed.build, changes=followed.changes, grace=0
    )
    stop = asyncio.Event()
    running = asyncio.create_task(watchers.run(stop))
    try:
        await until(lambda: _true(watchers.ready.is_set()), what="the first look")
        assert watchers.watchers == []
        async with rig.db.session() as session:
            url = rig.server.url("/infolettre.xml")
            await feed_setup.create(
                session, url, name=None, origin=COMMAND, actor=ORGA, now=rig.clock.now()
            )
            followed.changes.after_commit(session)
        await until(lambda: _true(fetches(rig, "/infolettre.xml") >= 2), what="two polls")
        await followed.change(paused_at=rig.clock.now(), paused_by=ORGA)
        await until(lambda: _true(not watchers.watchers), what="the watcher stopped")
        paused_at = fetches(rig, "/infolettre.xml")
        assert await watchers.poll_now() == [] and fetches(rig, "/infolettre.xml") == paused_at
        await followed.change(paused_at=None, paused_by=None)
        await until(lambda: _true(fetches(rig, "/infolettre.xml") > paused_at), what="a new poll")
    finally:
        stop.set()
        await running
    assert len(watchers.tasks) == 0


async def test_a_change_rolled_back_wakes_nobody(rig: Rig) -> None:
    """The watchers hear of a change only once its unit of work commits."""
    changes = FeedChanges()
    try:
        async with rig.db.session() as session:
            changes.after_commit(session)
            raise RuntimeError("the command failed")
    except RuntimeError:
        pass
    assert not changes.event.is_set()
    async with rig.db.session() as session:
        changes.after_commit(session)
        assert not changes.event.is_set()
    assert changes.event.is_set()


async def _true(value: bool) -> bool:
    return value


async def test_a_watcher_told_of_changes_sees_a_pause_committed_by_a_command(rig: Rig) -> None:
    """A watcher that skips reading its feed while nothing changed still sees a pause at its
    very next poll once the change is committed, and fetches nothing."""
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    followed = Followed(rig)
    watcher = rig.watcher("/infolettre.xml")
    watcher.changes = followed.changes
    await watcher.poll_once()
    assert (await watcher.poll_once()).outcome == "not_modified"
    await followed.change(paused_at=rig.clock.now(), paused_by=ORGA)
    assert (await watcher.poll_once()).outcome == "paused"
    assert fetches(rig, "/infolettre.xml") == 2
