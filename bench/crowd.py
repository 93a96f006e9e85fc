"""Members taking turns under the bot's shipped defaults, and bursts of commands at one instant.

With the shipped defaults a member may send a burst of 5 commands, then one every 6 s, and each
room is paced at one message a second once its burst is spent. A benchmark that keeps those
defaults spaces its commands (``SPACING``) and rotates enough members that none of them outruns
the per-member limit; a burst is every member sending at the same instant.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence

from bot.config.schema import RateLimitConfig, SendingConfig
from bot.matrix.member import Member

RATE = RateLimitConfig()
SENDING = SendingConfig()
SPACING = 1.1  # seconds from one command to the bot to the next: above the sustained pace
BURST = 5  # members sending a command at the same instant
# After a burst: the room's bucket and each member's tokens are back before the next one.
BURST_REST = max(SENDING.room_burst * SENDING.pace_seconds, RATE.per_seconds / RATE.burst) + 1.0


def shipped_defaults() -> str:
    """The line a benchmark prints to say it ran with the defaults the bot ships with."""
    return (
        f"shipped defaults, nothing lifted: sending.pace_seconds {SENDING.pace_seconds:g}, "
        f"room_burst {SENDING.room_burst}, burst {SENDING.burst}; commands.rate_limit "
        f"{RATE.burst} per {RATE.per_seconds:g} s per member"
    )


def members_needed(spacing: float = SPACING) -> int:
    """How many members taking turns every ``spacing`` seconds stay within the member limit,
    and at least enough for a burst."""
    return max(BURST, math.ceil(RATE.per_seconds / RATE.burst / spacing))


async def spaced(
    rounds: int, step: Callable[[int], Awaitable[None]], spacing: float = SPACING
) -> None:
    """Run ``step(n)`` for each round, each round starting ``spacing`` seconds after the last
    (later when a round takes longer)."""
    for n in range(rounds):
        began = time.perf_counter()
        await step(n)
        await asyncio.sleep(max(0.0, spacing - (time.perf_counter() - began)))


async def burst(
    members: Sequence[Member],
    room_id: str,
    body: str,
    answered: Callable[[Member, str], Awaitable[None]],
) -> float:
    """Every member sends ``body`` at the same instant; milliseconds until the last answer,
    ``answered(member, event_id)`` returning once that member has seen its answer."""
    start = time.perf_counter()
    sent = await asyncio.gather(*(who.send_text(room_id, body) for who in members))
    await asyncio.gather(*(answered(who, event) for who, event in zip(members, sent, strict=True)))
    return (time.perf_counter() - start) * 1000


async def gather_in(owner: Member, room_id: str, members: Sequence[Member]) -> None:
    """``owner`` invites each member into its room, and each joins."""
    for who in members:
        await owner.client.room_invite(room_id, who.user_id)
        await who.join(room_id)
