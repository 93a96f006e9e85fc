"""A newsletter to 50 real subscribers by encrypted DM, the bot killed midway: one message each."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from nio import RoomMessagesResponse
from sqlalchemy import func, select

from bot.app import App
from bot.clock import SystemClock
from bot.config import Config
from bot.matrix.member import Member
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from bot.storage import feeds, outbox
from bot.storage import subscriptions as store
from bot.storage.models import NewsletterDmRow, OutboxRow
from bot.storage.subscriptions import TCHAP, Contact
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import FeedServer, feed_server, items, newest_dated_lately, with_items
from tests.homeserver.harness import bot_config, member, poll, register, started

pytestmark = pytest.mark.homeserver

SUBSCRIBERS = 50
CRASH_AFTER = 20  # PUTs that go through before the process "dies" (after its 21st PUT)
# Its two newest items published lately: older ones would be too old to announce now.
NEWSLETTERS = newest_dated_lately(load_feed("infolettre").decode(), 2, SystemClock().now())
HEADLINE = "📰 Nouvelle infolettre n°26 — Le prix de statistiques indépendantes"


class Crash(BaseException):
    """Stands for the process dying: nothing in the bot catches it."""


class CrashMidway:
    """PUTs ``after`` events, then PUTs one more and dies before it can be marked sent."""

    def __init__(self, inner: Any, after: int) -> None:
        self.inner = inner
        self.left = after
        self.crashed = False

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        if self.crashed:
            raise Crash
        event_id = await self.inner.send(room_id, event_type, content, txn_id)
        self.left -= 1
        if self.left < 0:
            self.crashed = True
            raise Crash
        return str(event_id)

    async def find_sent(self, room_id: str, txn_id: str) -> str | None:
        return await self.inner.find_sent(room_id, txn_id)  # type: ignore[no-any-return]


def config(synapse: LocalSynapse, bot: SynapseUser, password: str, data: Path, hub: str,
           server: FeedServer) -> Config:  # fmt: skip
    extra = (
        f"feeds:\n  - url: {server.url('/infolettre.xml')}\n    interval: 3600\n"
        "subscriptions:\n  dm_pace_seconds: 0\n  progress_interval_seconds: 0.5\n"
    )
    return bot_config(synapse, bot, password, data, rooms=[hub], organisers=[], extra=extra)


async def subscriber_with_dm(
    synapse: LocalSynapse, bot: SynapseUser, tmp_path: Path, n: int
) -> tuple[Member, str]:
    """A member who opened an encrypted DM with the bot; the member and the DM."""
    user, _ = await register(synapse, f"abonne{n}")
    client = await member(synapse, user, tmp_path)
    dm = await client.create_room(invite=[bot.user_id], direct=True)
    await client.wait_for_member(dm, bot.user_id, timeout=60)
    return client, dm


async def subscribe_all(app: App, pairs: list[tuple[Member, str]]) -> None:
    async with app.db.session() as session:
        for n, (client, dm) in enumerate(pairs):
            contact = Contact(f"abonne{n}@insee.fr", f"Abonné {n}", "insee.fr")
            await store.add(
                session, contact=contact, source=TCHAP, now=app.clock.now(),
                user_id=client.user_id, consent_version="v1", dm_room_id=dm,
            )  # fmt: skip


async def dm_counts(app: App) -> dict[str, int]:
    """The newsletter DMs' outbox rows by status."""
    async with app.db.session() as session:
        rows = await session.execute(
            select(OutboxRow.status, func.count())
            .join(NewsletterDmRow, NewsletterDmRow.outbox_id == OutboxRow.id)
            .group_by(OutboxRow.status)
        )
        return {status: int(count) for status, count in rows.tuples()}


async def newsletters_in(client: Member, dm: str) -> int:
    """How many newsletter messages the DM's timeline holds on the server, decrypted."""
    response = await client.client.room_messages(dm, limit=100)
    assert isinstance(response, RoomMessagesResponse)
    return sum(getattr(event, "body", "").startswith(HEADLINE) for event in response.chunk)


async def test_fanout_to_50_subscribers_survives_a_crash_midway(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """Killed after 21 of 50 PUTs and restarted, the bot leaves each DM exactly one newsletter."""
    bot, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    orga = await member(synapse, orga_user, tmp_path)
    hub = await orga.create_room(invite=[bot.user_id])
    async with feed_server() as server:
        server.serve("/infolettre.xml", with_items(NEWSLETTERS, items(NEWSLETTERS)[1:]))
        settings = config(synapse, bot, password, tmp_path / "bot", hub, server)
        app = await started(settings)
        pairs: list[tuple[Member, str]] = []
        try:
            pairs = await subscribers_with_dms(synapse, bot, tmp_path)
            await subscribe_all(app, pairs)
            app = await crash_midway_and_restart(app, settings, server, pairs)
            await poll(lambda: _all_sent(app), timeout=90)
            await each_got_one(pairs)
            await orga.wait_for_member(hub, bot.user_id, timeout=30)
            asked = await orga.send_text(hub, "!flux")
            answer = await orga.wait_for_reply(hub, asked, timeout=30)
            assert f"{SUBSCRIBERS} envoyée(s) sur {SUBSCRIBERS}, 0 en échec" in answer.body
        finally:
            await app.stop()
            await asyncio.gather(*(client.stop() for client, _ in pairs), orga.stop())


async def subscribers_with_dms(
    synapse: LocalSynapse, bot: SynapseUser, tmp_path: Path
) -> list[tuple[Member, str]]:
    """Every subscriber's member client and DM, ten at a time."""
    pairs: list[tuple[Member, str]] = []
    for first in range(0, SUBSCRIBERS, 10):
        batch = range(first, min(first + 10, SUBSCRIBERS))
        pairs += await asyncio.gather(
            *(subscriber_with_dm(synapse, bot, tmp_path, n) for n in batch)
        )
    return pairs


async def each_got_one(pairs: list[tuple[Member, str]]) -> None:
    """Each member decrypts the newsletter in its DM, whose timeline holds it exactly once."""
    for client, dm in pairs:
        await client.wait_for(lambda s, dm=dm: s.room_id == dm and s.body.startswith(HEADLINE))
    counts = [await newsletters_in(client, dm) for client, dm in pairs]
    assert counts == [1] * SUBSCRIBERS


async def crash_midway_and_restart(
    app: App, settings: Config, server: FeedServer, pairs: list[tuple[Member, str]]
) -> App:
    """Let the bot know every subscriber's devices, publish, crash after 21 PUTs, restart."""
    await poll(lambda: _first_poll_done(app, server), timeout=30)
    await poll(lambda: _devices_known(app, pairs), timeout=60)
    assert app.sender is not None
    crashing = CrashMidway(app.sender.transport, CRASH_AFTER)
    app.sender.transport = crashing
    server.serve("/infolettre.xml", NEWSLETTERS)
    assert app.feeds is not None
    await app.feeds.poll_now()
    await poll(lambda: _true(crashing.crashed), timeout=60)
    assert (await dm_counts(app)).get("pending", 0) >= SUBSCRIBERS - CRASH_AFTER
    await app.stop()
    return await started(settings)


async def _true(value: bool) -> bool:
    return value


async def _first_poll_done(app: App, server: FeedServer) -> bool:
    async with app.db.session() as session:
        state = await feeds.find_feed(session, server.url("/infolettre.xml"))
    return state is not None and state.first_poll_done


async def _devices_known(app: App, pairs: list[tuple[Member, str]]) -> bool:
    assert app.gateway is not None
    store_ = app.gateway.client.device_store
    return all(list(store_.active_user_devices(client.user_id)) for client, _ in pairs)


async def _all_sent(app: App) -> bool:
    return await dm_counts(app) == {"sent": SUBSCRIBERS}


async def test_two_messages_to_sign_up_one_to_leave_and_one_newsletter_in_between(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """Signed up with !abonner and « oui », a member gets the next newsletter once in that DM;
    after !desabonner, the one after is not sent there."""
    bot, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    orga = await member(synapse, orga_user, tmp_path)
    hub = await orga.create_room(invite=[bot.user_id])
    user = await synapse.register(f"camille.durand{uuid4().hex[:6]}-insee.fr", uuid4().hex)
    camille = await member(synapse, user, tmp_path)
    camille.accept_invites()
    blocks = items(NEWSLETTERS)
    async with feed_server() as server:
        server.serve("/infolettre.xml", with_items(NEWSLETTERS, blocks[2:]))
        app = await started(config(synapse, bot, password, tmp_path / "bot", hub, server))
        try:
            await orga.client.room_invite(hub, user.user_id)
            await camille.join(hub)
            await camille.wait_for_member(hub, bot.user_id, timeout=30)
            await poll(lambda: _first_poll_done(app, server), timeout=30)
            dm = await sign_up(camille, hub, bot.user_id)
            server.serve("/infolettre.xml", with_items(NEWSLETTERS, blocks[1:]))
            assert app.feeds is not None
            await app.feeds.poll_now()
            await camille.wait_for(lambda s: s.room_id == dm and "Des agents en folie" in s.body)
            left = await camille.send_text(hub, "!desabonner")
            await camille.wait_for_reply(hub, left, timeout=30)
            server.serve("/infolettre.xml", NEWSLETTERS)
            await app.feeds.poll_now()
            await camille.wait_for(lambda s: s.room_id == hub and s.body.startswith(HEADLINE))
            await poll(lambda: _nothing_pending(app), timeout=30)
            bodies = [b for b in await _bodies(camille, dm) if b.startswith("📰")]
            assert len(bodies) == 1 and "Des agents en folie" in bodies[0]
        finally:
            await app.stop()
            await asyncio.gather(camille.stop(), orga.stop())


async def sign_up(who: Member, hub: str, bot: str) -> str:
    """!abonner in the room, « oui » in the DM the bot opens; the DM."""
    await who.send_text(hub, "!abonner")
    offer = await who.wait_for(lambda s: s.sender == bot and s.room_id != hub, timeout=30)
    answer = await who.send_text(offer.room_id, "oui")
    done = await who.wait_for_reply(offer.room_id, answer, timeout=30)
    assert done.body.startswith("C’est fait")
    return offer.room_id


async def _bodies(who: Member, room_id: str) -> list[str]:
    response = await who.client.room_messages(room_id, limit=100)
    assert isinstance(response, RoomMessagesResponse)
    return [getattr(event, "body", "") for event in response.chunk]


async def _nothing_pending(app: App) -> bool:
    async with app.db.session() as session:
        return await outbox.depth(session) == 0
