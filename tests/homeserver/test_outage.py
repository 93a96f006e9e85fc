"""The homeserver down for 60 s while the bot keeps queueing messages: once it is back, every
queued message is delivered exactly once, in order, and the bot syncs and answers again."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from bot import markup
from bot.app import App
from bot.clock import SystemClock
from bot.matrix.member import Member
from bot.messages import Message
from bot.sandbox.synapse import LocalSynapse
from bot.storage import feeds
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import FeedServer, feed_server, items, newest_dated_lately, with_items
from tests.homeserver.faults import bodies_from
from tests.homeserver.harness import bot_config, member, outbox_counts, poll, register, started

pytestmark = pytest.mark.homeserver

OUTAGE_SECONDS = 60.0
QUEUED = 12  # messages the bot queues while the homeserver is down, one every 5 s
# Its newest item published today: one of June 2026 would be too old to announce now.
NEWSLETTERS = newest_dated_lately(load_feed("infolettre").decode(), 1, SystemClock().now())
HEADLINE = "📰 Nouvelle infolettre n°26"
PONG = "pong"


async def queue_through_the_outage(app: App, room_id: str, server: FeedServer) -> list[str]:
    """For the whole outage, one message every few seconds, and halfway a feed announcement;
    what the room should show afterwards, in order. The waits are the outage's own length."""
    expected: list[str] = []
    postbox = app.dispatcher.services.postbox if app.dispatcher else None
    assert postbox is not None and app.feeds is not None
    for n in range(1, QUEUED + 1):
        await asyncio.sleep(OUTAGE_SECONDS / QUEUED)
        text = f"Message n°{n} pendant la panne"
        async with app.db.session() as session:
            await postbox.post(session, Message(room_id, text, markup.lines(text)))
        expected.append(text)
        if n == QUEUED // 2:
            server.serve("/infolettre.xml", NEWSLETTERS)
            await app.feeds.poll_now()
            expected.append(HEADLINE)
    return expected


async def first_poll_done(app: App, server: FeedServer) -> bool:
    async with app.db.session() as session:
        state = await feeds.find_feed(session, server.url("/infolettre.xml"))
    return state is not None and state.first_poll_done


async def test_sixty_seconds_without_homeserver_lose_nothing(tmp_path: Path) -> None:
    """Twelve messages and one announcement queued during a 60 s outage all reach the room
    once, in the order they were queued; then a member's !ping is answered."""
    async with LocalSynapse(tmp_path / "synapse") as synapse, feed_server() as server:
        bot, password = await register(synapse, "bot")
        orga_user, _ = await register(synapse, "orga")
        orga = await member(synapse, orga_user, tmp_path)
        # Unencrypted: the member's own client, asleep in its retry loop after the outage,
        # would get the room key late, and what is checked here is delivery and order.
        room_id = await orga.create_room(invite=[bot.user_id], encrypted=False)
        server.serve("/infolettre.xml", with_items(NEWSLETTERS, items(NEWSLETTERS)[1:]))
        extra = f"feeds:\n  - url: {server.url('/infolettre.xml')}\n    interval: 3600\n"
        app = await started(bot_config(
            synapse, bot, password, tmp_path / "bot", rooms=[room_id],
            organisers=[orga.user_id], extra=extra, max_backoff_seconds=5,
        ))  # fmt: skip
        try:
            await orga.wait_for_member(room_id, bot.user_id, timeout=60)
            await poll(lambda: first_poll_done(app, server), timeout=30)
            await synapse.stop()
            expected = await queue_through_the_outage(app, room_id, server)
            assert (await outbox_counts(app.db)).get("pending") == len(expected)
            await synapse.start()
            back_at = app.clock.now()
            await poll(lambda: _all_sent(app), timeout=90)
            bodies = await bodies_from(orga, room_id, bot.user_id)
            assert [_label(body) for body in bodies] == expected
            await poll(lambda: _synced_since(app, back_at), timeout=60)
            await orga.send_text(room_id, "!ping")
            await poll(lambda: _answered(orga, room_id, bot.user_id), timeout=60)
        finally:
            await app.stop()
            await orga.stop()


def _label(body: str) -> str:
    return HEADLINE if body.startswith(HEADLINE) else body


async def _all_sent(app: App) -> bool:
    counts = await outbox_counts(app.db)
    return not counts.get("pending") and not counts.get("failed")


async def _synced_since(app: App, moment: datetime) -> bool:
    last = app.last_sync_at
    return last is not None and last > moment


async def _answered(orga: Member, room_id: str, bot: str) -> bool:
    """Whether the bot's pong is in the room's timeline on the server."""
    return any(body.startswith(PONG) for body in await bodies_from(orga, room_id, bot))
