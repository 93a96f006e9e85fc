"""Members on Element's crypto engine (matrix-js-sdk, Rust crypto), in both device isolation
modes — Element's default, and "exclude insecure devices" (MSC4153) — in an encrypted room and
an encrypted DM: the bot reads their commands, and its answers and announcements decrypt with
no shield. Members whose clients keep their keys from the bot are told why, once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.app import App
from bot.clock import SystemClock
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from bot.storage import feeds
from bot.storage import subscriptions as store
from bot.storage.models import OutboxRow
from bot.storage.subscriptions import TCHAP, Contact
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import (
    FeedServer,
    feed_server,
    items,
    newest_dated_lately,
    with_items,
)
from tests.homeserver.harness import bot_config, poll, register, started
from tests.homeserver.identity_rig import (
    assert_no_secret,
    identity_made_in_tchap,
    js_members,
    secrets_in,
    trust_of,
)
from tests.homeserver.jsmember import ALL_DEVICES, ONLY_SIGNED, JsMember, Shown, install_client

pytestmark = pytest.mark.homeserver

# Its newest item published today: an old one is recorded, never announced.
NEWSLETTERS = newest_dated_lately(load_feed("infolettre").decode(), 1, SystemClock().now())
HEADLINE = "📰 Nouvelle infolettre n°26"


@pytest.fixture(scope="module", autouse=True)
def _js_client() -> None:
    install_client()


@dataclass
class Stage:
    """A member on Element's crypto with a room and a DM shared with the running bot."""

    app: App
    member: JsMember
    room: str
    dm: str
    bot: SynapseUser
    server: FeedServer

    def place(self, name: str) -> str:
        return self.room if name == "room" else self.dm


async def subscribe(app: App, user_id: str, dm: str) -> None:
    """The member takes the newsletter by DM (as after !abonner and « oui »)."""
    async with app.db.session() as session:
        contact = Contact("camille.durand@insee.fr", "Camille Durand", "insee.fr")
        await store.add(
            session, contact=contact, source=TCHAP, now=app.clock.now(),
            user_id=user_id, consent_version="v1", dm_room_id=dm,
        )  # fmt: skip


async def first_poll_done(app: App, server: FeedServer) -> bool:
    async with app.db.session() as session:
        state = await feeds.find_feed(session, server.url("/infolettre.xml"))
    return state is not None and state.first_poll_done


@pytest_asyncio.fixture(loop_scope="session", params=[ALL_DEVICES, ONLY_SIGNED])
async def stage(
    request: pytest.FixtureRequest, synapse: LocalSynapse, tmp_path: Path
) -> AsyncIterator[Stage]:
    """The bot with its fresh identity; the member in the isolation mode of the parameter."""
    bot, password = await register(synapse, "bot")
    user, _ = await register(synapse, "camille")
    async with js_members(synapse, tmp_path) as start, feed_server() as server:
        member = await start(user, request.param)
        room = await member.create_room([bot.user_id])
        server.serve("/infolettre.xml", with_items(NEWSLETTERS, items(NEWSLETTERS)[1:]))
        extra = f"feeds:\n  - url: {server.url('/infolettre.xml')}\n    interval: 3600\n"
        extra += "subscriptions:\n  dm_pace_seconds: 0\n"
        config = bot_config(
            synapse, bot, password, tmp_path / "bot", rooms=[room], organisers=[], extra=extra
        )
        app = await started(config)
        try:
            dm = await member.create_room([bot.user_id], direct=True)
            for shared in (room, dm):
                await member.wait_for_member(shared, bot.user_id)
            await poll(lambda: first_poll_done(app, server))
            yield Stage(app, member, room, dm, bot, server)
        finally:
            await app.stop()


@pytest.mark.parametrize("place", ["room", "dm"])
async def test_commands_and_announcements_decrypt_with_no_shield(
    stage: Stage, place: str, caplog: pytest.LogCaptureFixture
) -> None:
    """!ping and !agenda are read and answered, and the newsletter announced (in the room) or
    sent (by DM): each message decrypts in the member's client with no shield at all."""
    caplog.set_level(logging.DEBUG)
    where = stage.place(place)
    for command, expected in (("!ping", "pong"), ("!agenda", "")):
        asked = await stage.member.send_text(where, command)
        answer = await stage.member.wait_reply(where, asked)
        assert answer.decrypted and answer.body and expected in answer.body
        assert (answer.shield, answer.shield_reason) == ("NONE", None)
    await subscribe(stage.app, stage.member.user_id, stage.dm)
    stage.server.serve("/infolettre.xml", NEWSLETTERS)
    assert stage.app.feeds is not None
    await stage.app.feeds.poll_now()
    announced = await stage.member.wait_message(where, stage.bot.user_id, HEADLINE)
    assert announced.decrypted and announced.shield == "NONE"
    assert "undecryptable" not in caplog.text and "withheld" not in caplog.text
    assert_no_secret([caplog.text], secrets_in(stage.app.config.data_dir, stage.bot.user_id))


async def test_member_sending_only_to_verified_devices_is_told_once(
    synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A member whose client sends keys only to devices they verified: the bot logs the
    withheld key (room, sender, device), counts it, and says why in a DM — once, even when
    keys are withheld again in another room; the DM decrypts with no shield."""
    caplog.set_level(logging.INFO)
    bot, password = await register(synapse, "bot")
    user, _ = await register(synapse, "dominique")
    async with js_members(synapse, tmp_path) as start:
        member = await start(user)
        await member.call("setOnlyVerified", value=True)
        room, other = [await member.create_room([bot.user_id]) for _ in range(2)]
        config = bot_config(synapse, bot, password, tmp_path / "bot", rooms=[room], organisers=[])
        app = await started(config)
        try:
            for shared in (room, other):
                await member.wait_for_member(shared, bot.user_id)
            dm, told = await _withheld_then_told(member, bot, room)
            assert told.decrypted and told.shield == "NONE" and told.body is not None
            assert "vérifiés vous-même" in told.body
            await member.send_text(other, "!agenda")
            await poll(lambda: _withheld_count(app, 2))
            assert await _bot_messages(member, dm, bot) == 1
        finally:
            await app.stop()
    lines = [r.getMessage() for r in caplog.records if "withheld from the bot" in r.getMessage()]
    assert any(room in line and user.user_id in line and user.device_id in line for line in lines)


async def _withheld_then_told(member: JsMember, bot: SynapseUser, room: str) -> tuple[str, Shown]:
    """A command the bot cannot read; the DM it opens to explain, and its explanation."""
    await member.send_text(room, "!ping")
    return await member.wait_elsewhere(bot.user_id, "Bonjour", room)


async def _withheld_count(app: App, at_least: int) -> bool:
    exposition = app.metrics.exposition(None)[0].decode()
    for line in exposition.splitlines():
        if line.startswith('ssphub_room_keys_withheld_total{code="m.unverified"}'):
            return float(line.split()[-1]) >= at_least
    return False


async def _bot_messages(member: JsMember, room: str, bot: SynapseUser) -> int:
    return await member.count_messages(room, bot.user_id)


async def test_members_excluding_insecure_devices_explain_an_unsigned_bot(
    synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot unable to sign (an identity made in Tchap, no recovery key given): a member who
    excludes insecure devices withholds the key of its !ping, which the bot logs and counts;
    its DM says the bot's own device is not verified yet, though that member's client cannot
    read it (sender device not signed), as the operator's log and !statut explain."""
    caplog.set_level(logging.INFO)
    bot, password = await register(synapse, "bot")
    user, _ = await register(synapse, "eden")
    async with js_members(synapse, tmp_path) as start:
        await identity_made_in_tchap(synapse, bot, password, start)
        member = await start(user, ONLY_SIGNED)
        room = await member.create_room([bot.user_id])
        config = bot_config(synapse, bot, password, tmp_path / "bot", rooms=[room], organisers=[])
        app = await started(config)
        try:
            assert not trust_of(app).signed
            await member.wait_for_member(room, bot.user_id)
            dm, shown = await _withheld_then_told(member, bot, room)
            assert shown.failure == "UNSIGNED_SENDER_DEVICE"
            assert await _withheld_count(app, 1)
            assert "le mien ne l’est pas encore" in await _last_text_to(app, dm)
        finally:
            await app.stop()


async def _last_text_to(app: App, room_id: str) -> str:
    """The text of the last message the bot queued for ``room_id``."""
    async with app.db.session() as session:
        rows = await session.execute(
            select(OutboxRow.content).where(OutboxRow.room_id == room_id).order_by(OutboxRow.id)
        )
        return str(rows.scalars().all()[-1]["body"])
