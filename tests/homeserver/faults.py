"""Fault injection for the homeserver tier: SIGKILL the bot's process at random points."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nio import RoomMessage, RoomMessagesResponse

from bot.matrix.member import Member
from tests.homeserver.process import BotProcess
from tests.polling import until

log = logging.getLogger(__name__)
DELIVERY_TIMEOUT = 120.0  # seconds the bot has to deliver everything after its last restart


def fault_rng() -> tuple[random.Random, int]:
    """A random source for kill points, and its seed: ``BOT_FAULT_SEED`` replays a run."""
    seed = int(os.environ.get("BOT_FAULT_SEED") or secrets.randbits(32))
    log.info("fault injection seed %d (BOT_FAULT_SEED=%d replays it)", seed, seed)
    return random.Random(seed), seed


@dataclass
class KillPlan:
    """Where the kills fell: seconds after a start, or after how many messages had arrived."""

    seed: int
    points: list[str] = field(default_factory=list)

    def report(self, bot: BotProcess) -> str:
        """What a failing test prints: the seed, the kill points, the end of the bot's log."""
        return (
            f"BOT_FAULT_SEED={self.seed}; kills: {'; '.join(self.points)}\n"
            f"--- bot log ---\n{bot.log_tail()}"
        )


async def kill_at_random_points(
    bot: BotProcess,
    delivered: Callable[[], int],
    total: int,
    rng: random.Random,
    plan: KillPlan,
    *,
    work_began: Callable[[], Awaitable[None]],
    kills: int = 3,
    first_within: float = 0.6,
) -> None:
    """Start the bot and SIGKILL it ``kills`` times, then start it for good.

    The first kill falls a random time, within ``first_within`` seconds, after ``work_began``
    returns (the feed answered the bot's poll: it parses, commits, begins to send); each later
    one once a random number of the ``total`` messages has arrived, plus a random fraction of
    a second (between a PUT and its row marked sent, or anywhere else). These waits are the
    fault's own timing: the moment of the kill is what is drawn at random.
    """
    bot.start()
    await work_began()
    delay = rng.uniform(0.0, first_within)
    await asyncio.sleep(delay)
    await _kill(bot, plan, f"{delay:.2f} s after the poll's answer", delivered)
    for _ in range(kills - 1):
        if delivered() >= total - 1:
            break
        target = rng.randint(delivered() + 1, total - 1)
        bot.start()
        await until(_at_least(delivered, target), DELIVERY_TIMEOUT, "messages before a kill")
        extra = rng.uniform(0.0, 0.25)
        await asyncio.sleep(extra)
        await _kill(bot, plan, f"{target}/{total} arrived + {extra:.2f} s", delivered)
    bot.start()


async def _kill(bot: BotProcess, plan: KillPlan, where: str, delivered: Callable[[], int]) -> None:
    await bot.kill()
    plan.points.append(f"{where} ({delivered()} seen when killed)")
    log.info("SIGKILL: %s", plan.points[-1])


def _at_least(count: Callable[[], int], target: int) -> Callable[[], Awaitable[bool]]:
    async def reached() -> bool:
        return count() >= target

    return reached


async def bodies_from(client: Member, room_id: str, sender: str) -> list[str]:
    """The bodies of ``sender``'s messages in the room's timeline on the server, oldest first
    (its state events, such as joining, are not messages; an undecryptable one has no body)."""
    response = await client.client.room_messages(room_id, limit=200)
    assert isinstance(response, RoomMessagesResponse), response
    events = [event for event in reversed(response.chunk) if event.sender == sender]
    return [getattr(event, "body", "") for event in events if isinstance(event, RoomMessage)]
