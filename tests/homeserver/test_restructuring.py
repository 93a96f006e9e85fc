"""The site's restructuring end to end: old items back in the feeds never reach the room."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from bot.messages import Message
from bot.sandbox.synapse import LocalSynapse
from bot.storage import feeds
from tests.feeds.feedserver import FeedServer, feed_server
from tests.feeds.layouts import (
    EVENTS,
    NEWSLETTERS,
    old_event_feed,
    old_newsletter_feed,
    with_newsletter,
)
from tests.homeserver.harness import bot_config, member, poll, register, started

pytestmark = pytest.mark.homeserver

HEADLINE = "📰 Nouvelle infolettre n°27 — Bilan de l’année"
PROBE = "fin de l’essai"


def feeds_config(server: FeedServer) -> str:
    """The two feeds of the hub as production watches them (no automatic poll in the test)."""
    return (
        "feeds:\n"
        f"  - {{url: {server.url('/infolettre.xml')}, interval: 3600, name: Infolettre}}\n"
        f"  - {{url: {server.url('/event.xml')}, interval: 3600, name: Événements,"
        " default_kind: event}\n"
    )


async def first_polls_done(app: App, server: FeedServer) -> bool:
    async with app.db.session() as session:
        states = [
            await feeds.find_feed(session, server.url(p)) for p in ("/event.xml", "/infolettre.xml")
        ]
    return all(state is not None and state.first_poll_done for state in states)


async def probe(app: App, room_id: str) -> None:
    """Queue a last message, so that everything the bot queued before has reached the room."""
    assert app.dispatcher is not None
    async with app.db.session() as session:
        await app.dispatcher.services.postbox.post(session, Message(room_id=room_id, text=PROBE))


async def test_restructured_site_then_a_new_newsletter_posts_only_the_newsletter(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """Old layout, then new layout with four past events and two old newsletters back, then a
    new newsletter: the room shows exactly one message from the bot, the new newsletter."""
    bot_user, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    orga = await member(synapse, orga_user, tmp_path)
    room_id = await orga.create_room(invite=[bot_user.user_id])
    async with feed_server() as server:
        server.serve("/event.xml", old_event_feed())
        server.serve("/infolettre.xml", old_newsletter_feed())
        config = bot_config(
            synapse, bot_user, password, tmp_path / "bot", rooms=[room_id],
            organisers=[orga.user_id], extra=feeds_config(server),
        )  # fmt: skip
        app = await started(config)
        try:
            await orga.wait_for_member(room_id, bot_user.user_id, timeout=30)
            await poll(lambda: first_polls_done(app, server))
            assert app.feeds is not None
            server.serve("/event.xml", EVENTS)
            server.serve("/infolettre.xml", NEWSLETTERS)
            restructured = await app.feeds.poll_now()
            assert [(r.new, r.old, r.announced) for r in restructured] == [(2, 2, []), (4, 4, [])]
            fresh = with_newsletter(NEWSLETTERS, 27, app.clock.now(), "Bilan de l’année")
            server.serve("/infolettre.xml", fresh)
            await app.feeds.poll_now()
            await probe(app, room_id)
            await orga.wait_for(lambda s: s.room_id == room_id and s.body == PROBE, timeout=30)
        finally:
            await app.stop()
            await orga.stop()
    from_bot = [s.body for s in orga.seen if s.room_id == room_id and s.sender == bot_user.user_id]
    assert [body.splitlines()[0] for body in from_bot] == [HEADLINE, PROBE]
