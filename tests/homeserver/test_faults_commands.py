"""Members' commands while the bot's process is killed with SIGKILL at random points around
their handling (before the answer's PUT, between it and the commit, before the mark): after the
restarts every command has exactly one answer in the room, as the homeserver stores it."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from nio import RoomMessagesResponse

from bot.config.schema import SendingConfig
from bot.matrix.member import Member
from bot.sandbox.synapse import LocalSynapse
from tests.homeserver.faults import KillPlan, fault_rng
from tests.homeserver.harness import bot_config_text, member, register
from tests.homeserver.process import BotProcess

pytestmark = pytest.mark.homeserver

KILLS = 4
ANSWER_TIMEOUT = 90.0


async def answers_on_server(who: Member, room_id: str, bot: str) -> Counter[str]:
    """How many of the bot's messages in the room's timeline reply to each event."""
    response = await who.client.room_messages(room_id, limit=200)
    assert isinstance(response, RoomMessagesResponse), response
    replies: Counter[str] = Counter()
    for event in response.chunk:
        if event.sender != bot:
            continue
        relation = (event.source.get("content") or {}).get("m.relates_to") or {}
        answered = (relation.get("m.in_reply_to") or {}).get("event_id")
        if answered:
            replies[answered] += 1
    return replies


async def test_commands_are_answered_once_across_sigkills(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """A member's ``!ping``, each followed by a SIGKILL a random fraction of a second later,
    then more while the bot is down: once it is back, each has one answer, never two."""
    rng, seed = fault_rng()
    plan = KillPlan(seed)
    bot, password = await register(synapse, "bot")
    alice_user, _ = await register(synapse, "alice")
    alice = await member(synapse, alice_user, tmp_path)
    room_id = await alice.create_room(invite=[bot.user_id], encrypted=False)
    text = bot_config_text(
        synapse, bot, password, tmp_path / "bot", rooms=[room_id], organisers=[],
        pace_seconds=SendingConfig().pace_seconds,
    )  # fmt: skip
    process = BotProcess(text, tmp_path / "process")
    commands: list[str] = []
    try:
        for _ in range(KILLS):
            process.start()
            live = await alice.send_text(room_id, "!ping")
            commands.append(live)
            await alice.wait_for_reply(room_id, live, timeout=ANSWER_TIMEOUT)
            commands.append(await alice.send_text(room_id, "!ping"))
            delay = rng.uniform(0.0, 0.3)
            await asyncio.sleep(delay)  # the fault's own timing: where the kill falls
            await process.kill()
            plan.points.append(f"{delay:.2f} s after a command")
            commands.append(await alice.send_text(room_id, "!ping"))  # while it is down
        process.start()
        for event_id in commands:
            await alice.wait_for_reply(room_id, event_id, timeout=ANSWER_TIMEOUT)
        assert await process.stop() == 0, process.log_tail()  # nothing is sent after this
        replies = await answers_on_server(alice, room_id, bot.user_id)
        assert {event_id: replies[event_id] for event_id in commands} == dict.fromkeys(
            commands, 1
        ), plan.report(process)
    finally:
        await process.stop()
        await alice.stop()
