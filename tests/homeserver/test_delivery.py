"""Exactly-once delivery and no replay, proven against a real Synapse."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from nio import RoomMessagesResponse

from bot.matrix.member import Member
from bot.messages import Message
from bot.sandbox.synapse import LocalSynapse
from bot.storage import outbox
from tests.homeserver.conftest import Community
from tests.homeserver.harness import bot_config, member, outbox_counts, poll, register, started

pytestmark = pytest.mark.homeserver


class Crash(BaseException):
    """Stands for the process dying: nothing in the bot catches it."""


class CrashAfterPut:
    """A transport that really PUTs the event, then dies before the row can be marked sent."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.event_ids: list[str] = []

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        self.event_ids.append(await self.inner.send(room_id, event_type, content, txn_id))
        raise Crash

    async def find_sent(self, room_id: str, txn_id: str) -> str | None:
        return await self.inner.find_sent(room_id, txn_id)


async def _timeline_bodies(who: Member, room_id: str) -> list[str]:
    response = await who.client.room_messages(room_id, limit=100)
    assert isinstance(response, RoomMessagesResponse)
    return [getattr(event, "body", "") for event in response.chunk]


async def _post(community: Community, text: str) -> int:
    app = community.app
    assert app.dispatcher is not None
    async with app.db.session() as session:
        return await app.dispatcher.services.postbox.post(
            session, Message(room_id=community.room_id, text=text)
        )


async def test_crash_between_put_and_mark_sends_once(community: Community) -> None:
    """Killed after the PUT but before the mark, the bot resends the same txn id: one event."""
    app = community.app
    assert app.sender is not None
    crashing = CrashAfterPut(app.sender.transport)
    app.sender.transport = crashing
    row_id = await _post(community, "Annonce unique")
    await poll(lambda: _has(crashing.event_ids))
    async with app.db.session() as session:
        assert (await outbox.get(session, row_id)).status == outbox.PENDING  # type: ignore[union-attr]
    app = await community.restart()
    await poll(lambda: _sent(app, row_id))
    async with app.db.session() as session:
        row = await outbox.get(session, row_id)
    assert row is not None and row.event_id == crashing.event_ids[0]
    await community.alice.wait_for(lambda seen: seen.body == "Annonce unique")
    bodies = await _timeline_bodies(community.alice, community.room_id)
    assert bodies.count("Annonce unique") == 1


async def _has(items: list[str]) -> bool:
    return bool(items)


async def _sent(app: Any, row_id: int) -> bool:
    async with app.db.session() as session:
        row = await outbox.get(session, row_id)
    return row is not None and row.status == outbox.SENT


async def test_no_replay_after_restart(community: Community) -> None:
    """A command answered before a restart is not answered again after it."""
    first = await community.alice.send_text(community.room_id, "!ping")
    await community.alice.wait_for_reply(community.room_id, first)
    await community.restart()
    probe = await community.alice.send_text(community.room_id, "!ping")
    await community.alice.wait_for_reply(community.room_id, probe)
    replies = [seen for seen in community.alice.seen if seen.in_reply_to == first]
    assert len(replies) == 1


async def test_command_sent_while_down_is_answered_within_grace(community: Community) -> None:
    """A command sent while the bot was stopped is answered once it is back, once."""
    await community.app.stop()
    waiting = await community.alice.send_text(community.room_id, "!ping")
    community.app = await started(community.config())
    await community.alice.wait_for_reply(community.room_id, waiting, timeout=30)
    probe = await community.alice.send_text(community.room_id, "!ping")
    await community.alice.wait_for_reply(community.room_id, probe)
    assert len([s for s in community.alice.seen if s.in_reply_to == waiting]) == 1


async def test_command_older_than_grace_is_ignored(community: Community) -> None:
    """With no grace, a command sent while the bot was down is never answered."""
    await community.app.stop()
    stale = await community.alice.send_text(community.room_id, "!ping")
    community.app = await started(community.config(grace=0))
    probe = await community.alice.send_text(community.room_id, "!ping")
    await community.alice.wait_for_reply(community.room_id, probe)
    assert not [s for s in community.alice.seen if s.in_reply_to == stale]


async def test_invites_only_from_allowed_inviters(synapse: LocalSynapse, tmp_path: Path) -> None:
    """The bot joins a room an organiser invites it to and declines a stranger's invitation."""
    bot_user, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    stranger_user, _ = await register(synapse, "stranger")
    orga = await member(synapse, orga_user, tmp_path)
    stranger = await member(synapse, stranger_user, tmp_path)
    config = bot_config(
        synapse,
        bot_user,
        password,
        tmp_path / "bot",
        rooms=["#none:localhost"],
        organisers=[orga_user.user_id],
        extra="invites:\n  allowed_servers: ['*.tchap.gouv.fr']\n",
    )
    app = await started(config)
    try:
        welcome = await orga.create_room(invite=[bot_user.user_id], encrypted=False)
        unwelcome = await stranger.create_room(invite=[bot_user.user_id], encrypted=False)
        await orga.wait_for_member(welcome, bot_user.user_id, timeout=30)
        await poll(lambda: _left(stranger, unwelcome, bot_user.user_id), timeout=30)
    finally:
        await app.stop()
        await orga.stop()
        await stranger.stop()


async def _left(who: Member, room_id: str, user_id: str) -> bool:
    response = await who.client.joined_members(room_id)
    room = who.client.rooms.get(room_id)
    invited = room is not None and user_id in room.invited_users
    joined = any(m.user_id == user_id for m in getattr(response, "members", []))
    return not invited and not joined


async def test_rate_limited_sends_all_arrive_once_in_order(tmp_path: Path) -> None:
    """Against Synapse's default limits, a burst of 13 notices all arrive, once each, in order."""
    async with LocalSynapse(tmp_path / "strict", relaxed_rate_limits=False) as strict:
        bot_user, password = await register(strict, "bot")
        orga_user, _ = await register(strict, "orga")
        orga = await member(strict, orga_user, tmp_path)
        room_id = await orga.create_room(invite=[bot_user.user_id], encrypted=False)
        app = await started(
            bot_config(
                strict,
                bot_user,
                password,
                tmp_path / "bot",
                rooms=[room_id],
                organisers=[orga_user.user_id],
            )
        )
        try:
            await orga.wait_for_member(room_id, bot_user.user_id, timeout=30)
            assert app.dispatcher is not None
            async with app.db.session() as session:
                for n in range(13):
                    await app.dispatcher.services.postbox.post(
                        session, Message(room_id=room_id, text=f"annonce {n}")
                    )
            await poll(lambda: _all_sent(app), timeout=90)
            await orga.wait_for(lambda seen: seen.body == "annonce 12", timeout=30)
            bodies = [s.body for s in orga.seen if s.body.startswith("annonce ")]
            assert bodies == [f"annonce {n}" for n in range(13)]
        finally:
            await app.stop()
            await orga.stop()


async def _all_sent(app: Any) -> bool:
    counts = await outbox_counts(app.db)
    return counts.get(outbox.PENDING, 0) == 0 and counts.get(outbox.SENT, 0) >= 13


async def test_lost_crypto_store_gives_a_new_device_not_a_deaf_bot(community: Community) -> None:
    """When the crypto store is lost, the bot logs in as a new device and still reads commands."""
    assert community.app.gateway is not None
    old_device = community.app.gateway.client.device_id
    await community.app.stop()
    shutil.rmtree(community.data_dir / "crypto")
    community.app = await started(community.config())
    assert community.app.gateway is not None
    new_device = community.app.gateway.client.device_id
    assert new_device != old_device
    alice = community.alice
    await alice.wait_until(
        lambda: new_device in alice.client.device_store[community.bot_user.user_id], timeout=30
    )
    event_id = await alice.send_text(community.room_id, "!ping")
    answer = await alice.wait_for_reply(community.room_id, event_id, timeout=30)
    assert answer.decrypted and answer.body == "pong 🏓"
