"""Pacing with the shipped defaults on a real Synapse: answers at once, the bot's bursts paced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import App
from bot.config.schema import SendingConfig
from bot.matrix.member import Member, Seen
from bot.messages import Message
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from tests.homeserver.harness import bot_config, member, register, started

pytestmark = pytest.mark.homeserver

SHIPPED = SendingConfig()


@dataclass
class Room:
    """An unencrypted room with a member and the bot running with the shipped pacing."""

    room_id: str
    alice: Member
    bot: SynapseUser
    app: App

    def from_bot(self, prefix: str) -> list[Seen]:
        """The bot's messages in the room whose text starts with ``prefix``, as received."""
        return [
            seen
            for seen in self.alice.seen
            if seen.room_id == self.room_id
            and seen.sender == self.bot.user_id
            and seen.body.startswith(prefix)
        ]


@pytest_asyncio.fixture(loop_scope="session")
async def room(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[Room]:
    bot_user, password = await register(synapse, "bot")
    alice_user, _ = await register(synapse, "alice")
    alice = await member(synapse, alice_user, tmp_path)
    room_id = await alice.create_room(invite=[bot_user.user_id], encrypted=False)
    config = bot_config(
        synapse, bot_user, password, tmp_path / "bot", rooms=[room_id], organisers=[],
        pace_seconds=SHIPPED.pace_seconds,
    )  # fmt: skip
    assert (config.sending.room_burst, config.sending.burst) == (SHIPPED.room_burst, SHIPPED.burst)
    app = await started(config)
    try:
        await alice.wait_for_member(room_id, bot_user.user_id, timeout=30)
        yield Room(room_id, alice, bot_user, app)
    finally:
        await app.stop()
        await alice.stop()


def span_ms(seen: list[Seen]) -> int:
    """Milliseconds between the first and the last of these events, by the homeserver's clock."""
    stamps = [s.server_ts for s in seen]
    return max(stamps) - min(stamps)


async def test_a_member_s_back_to_back_commands_are_answered_without_the_pace(room: Room) -> None:
    """Five commands sent at once are all answered at once: with a fixed 1 s spacing the
    answers would span at least 4 s, here they span well under half of that."""
    sent = await asyncio.gather(*(room.alice.send_text(room.room_id, "!ping") for _ in range(5)))
    answers = [await room.alice.wait_for_reply(room.room_id, event_id) for event_id in sent]
    assert all(answer.server_ts > 0 for answer in answers)
    assert span_ms(answers) < 2000


async def test_a_burst_of_announcements_is_paced_and_an_answer_overtakes_it(room: Room) -> None:
    """Ten announcements at once: half the room's burst goes at once, then one per second,
    in order; a member's command sent meanwhile is answered before the rest of them."""
    assert room.app.dispatcher is not None
    postbox = room.app.dispatcher.services.postbox
    async with room.app.db.session() as session:
        for n in range(10):
            await postbox.post(session, Message(room.room_id, f"annonce {n}"))
    await room.alice.wait_for(lambda seen: seen.body == "annonce 2", timeout=30)
    command = await room.alice.send_text(room.room_id, "!ping")
    answer = await room.alice.wait_for_reply(room.room_id, command, timeout=30)
    await room.alice.wait_for(lambda seen: seen.body == "annonce 9", timeout=60)
    announced = room.from_bot("annonce ")
    assert [seen.body for seen in announced] == [f"annonce {n}" for n in range(10)]
    assert answer.server_ts < announced[-1].server_ts
    # Seven announcements after the first three, one per second: about 7 s, never a burst.
    assert span_ms(announced[2:]) >= 6000
