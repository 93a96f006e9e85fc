"""Feed announcements end to end: a new item reaches each configured room exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.app import App
from bot.clock import SystemClock
from bot.config import Config
from bot.matrix.member import Member, Seen
from bot.messages import Message
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from bot.storage import feeds, outbox
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import FeedServer, feed_server, items, newest_dated_lately, with_items
from tests.homeserver.harness import bot_config, member, outbox_counts, poll, register, started

pytestmark = pytest.mark.homeserver

# Its newest item published today: one of June 2026 would be too old to announce now.
NEWSLETTERS = newest_dated_lately(load_feed("infolettre").decode(), 1, SystemClock().now())
HEADLINE = "📰 Nouvelle infolettre n°26 — Le prix de statistiques indépendantes"


PROBE = "fin de l’essai"


def shows(room_id: str, start: str) -> Callable[[Seen], bool]:
    """A test for a message in ``room_id`` whose text starts with ``start``."""
    return lambda seen: seen.room_id == room_id and seen.body.startswith(start)


class Crash(BaseException):
    """Stands for the process dying: nothing in the bot catches it."""


class DiesBeforePut:
    """A transport that dies before reaching the homeserver: rows stay pending."""

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        raise Crash

    async def find_sent(self, room_id: str, txn_id: str) -> str | None:
        raise Crash


@dataclass
class Hub:
    """Two rooms (one encrypted) created by an organiser, a feed server, and the running bot."""

    synapse: LocalSynapse
    orga: Member
    rooms: list[str]
    bot_user: SynapseUser
    password: str
    data_dir: Path
    server: FeedServer
    app: App

    @property
    def feed_url(self) -> str:
        return self.server.url("/infolettre.xml")

    def config(self) -> Config:
        extra = f"feeds:\n  - url: {self.feed_url}\n    interval: 10\n"
        return bot_config(
            self.synapse, self.bot_user, self.password, self.data_dir,
            rooms=self.rooms, organisers=[self.orga.user_id], extra=extra,
        )  # fmt: skip

    async def restart(self) -> App:
        await self.app.stop()
        self.app = await started(self.config())
        return self.app

    async def first_poll_done(self) -> bool:
        async with self.app.db.session() as session:
            state = await feeds.find_feed(session, self.feed_url)
        return state is not None and state.first_poll_done

    def announcements(self, room_id: str) -> int:
        return sum(s.room_id == room_id and s.body.startswith(HEADLINE) for s in self.orga.seen)

    async def wait_for_announcements(self) -> None:
        """Each room shows the announcement, and nothing more arrives before a later probe."""
        for room_id in self.rooms:
            await self.orga.wait_for(shows(room_id, HEADLINE), timeout=30)
        assert self.app.dispatcher is not None
        async with self.app.db.session() as session:
            for room_id in self.rooms:
                await self.app.dispatcher.services.postbox.post(
                    session, Message(room_id=room_id, text=PROBE)
                )
        for room_id in self.rooms:
            await self.orga.wait_for(shows(room_id, PROBE), timeout=30)


@pytest_asyncio.fixture(loop_scope="session")
async def hub(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[Hub]:
    """The bot watching a newsletter feed whose newest item is not published yet."""
    bot_user, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    orga = await member(synapse, orga_user, tmp_path)
    rooms = [
        await orga.create_room(invite=[bot_user.user_id]),
        await orga.create_room(invite=[bot_user.user_id], encrypted=False),
    ]
    async with feed_server() as server:
        server.serve("/infolettre.xml", with_items(NEWSLETTERS, items(NEWSLETTERS)[1:]))
        hub = Hub(synapse, orga, rooms, bot_user, password, tmp_path / "bot", server, None)  # type: ignore[arg-type]
        hub.app = await started(hub.config())
        try:
            for room_id in rooms:
                await orga.wait_for_member(room_id, bot_user.user_id, timeout=30)
            await poll(hub.first_poll_done)
            yield hub
        finally:
            await hub.app.stop()
            await orga.stop()


async def test_new_item_is_announced_once_in_each_room(hub: Hub) -> None:
    """A newsletter published after the first poll shows up once in each of the two rooms."""
    hub.server.serve("/infolettre.xml", NEWSLETTERS)
    assert hub.app.feeds is not None
    (report,) = await hub.app.feeds.poll_now()
    assert len(report.announced) == 1
    await hub.wait_for_announcements()
    assert [hub.announcements(room_id) for room_id in hub.rooms] == [1, 1]


async def test_bot_stopped_right_after_the_poll_announces_once_after_restart(hub: Hub) -> None:
    """Killed after the poll committed but before any send, the restarted bot announces once."""
    assert hub.app.sender is not None and hub.app.feeds is not None
    hub.app.sender.transport = DiesBeforePut()
    hub.server.serve("/infolettre.xml", NEWSLETTERS)
    (report,) = await hub.app.feeds.poll_now()
    assert len(report.announced) == 1
    assert (await outbox_counts(hub.app.db)).get(outbox.PENDING) == 2
    app = await hub.restart()
    assert app.feeds is not None
    (again,) = await app.feeds.poll_now()
    assert (again.outcome, again.announced) == ("not_modified", [])
    await hub.wait_for_announcements()
    assert [hub.announcements(room_id) for room_id in hub.rooms] == [1, 1]
