"""Command round trip: members send !ping to the bot, against the floor of a plain echo client.

Both run on the same local Synapse (relaxed rate limits), in the same process and the same run,
interleaved ping by ping so machine drift hits both alike. The floor is a bare Matrix client
answering every message at once: what any bot costs at least, mostly Synapse storing events.
The bot runs with the defaults it ships with (pacing and per-member rate limit), so the pings
are spaced a little over a second apart and members take turns (``crowd.py``). Then the burst:
five members send a command at the same instant, and the time to the last answer is compared
with the same burst sent to the floor.

    python bench/command_latency.py [--pings 200] [--bursts 10] [--encrypted]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from crowd import BURST, BURST_REST, burst, members_needed, shipped_defaults, spaced

from bot.app import App
from bot.config import parse_config
from bot.matrix.member import Member
from bot.sandbox.synapse import LocalSynapse, SynapseUser


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def client(synapse: LocalSynapse, user: SynapseUser, base: Path) -> Member:
    return Member(
        synapse.url, user.user_id, user.device_id, user.access_token, base / user.localpart
    )


async def round_trip(who: Member, room_id: str, body: str) -> float:
    """Milliseconds from sending ``body`` to seeing the reply to it."""
    start = time.perf_counter()
    event_id = await who.send_text(room_id, body)
    await who.wait_for_reply(room_id, event_id, timeout=30)
    return (time.perf_counter() - start) * 1000


def bot_app(synapse: LocalSynapse, bot: SynapseUser, room_id: str, base: Path) -> App:
    text = f"""\
matrix: {{homeserver: "{synapse.url}", user_id: "{bot.user_id}", password: "bench-bot"}}
rooms: ["{room_id}"]
data_dir: {base / "bot"}
web: {{port: 0}}
"""
    return App(parse_config(text, source="bench", environ={}))


async def measure(pings: int, bursts: int, encrypted: bool, base: Path) -> dict[str, list[float]]:
    async with LocalSynapse(base / "synapse", relaxed_rate_limits=True) as synapse:
        bot = await synapse.register("bench-bot", "bench-bot")
        echo = client(synapse, await synapse.register("echo", "echo"), base)
        crowd = [
            client(synapse, await synapse.register(f"member{n}", f"member{n}"), base)
            for n in range(members_needed())
        ]
        echo.answer_every_text("pong")
        for who in [echo, *crowd]:
            await who.start()
        invited = [who.user_id for who in crowd[1:]]
        bot_room = await crowd[0].create_room(invite=[bot.user_id, *invited], encrypted=encrypted)
        floor_room = await crowd[0].create_room(
            invite=[echo.user_id, *invited], encrypted=encrypted
        )
        await echo.join(floor_room)
        for who in crowd[1:]:
            await who.join(bot_room)
            await who.join(floor_room)
        app = bot_app(synapse, bot, bot_room, base)
        await app.start()
        try:
            for who in crowd:
                await who.wait_for_member(bot_room, bot.user_id)
                await who.wait_for_member(floor_room, echo.user_id)
            return await rounds(crowd, bot_room, floor_room, pings, bursts)
        finally:
            await app.stop()
            for who in [echo, *crowd]:
                await who.stop()


async def rounds(
    crowd: list[Member], bot_room: str, floor_room: str, pings: int, bursts: int
) -> dict[str, list[float]]:
    """Spaced pings to the bot and the floor, members in turn; then bursts of five."""
    results: dict[str, list[float]] = {"bot": [], "floor": [], "bot burst": [], "floor burst": []}

    async def warm_up(n: int) -> None:  # caches, key sharing, first queries
        await round_trip(crowd[n % len(crowd)], bot_room, "!ping")
        await round_trip(crowd[n % len(crowd)], floor_room, "ping")

    async def ping(n: int) -> None:
        who = crowd[n % len(crowd)]
        results["bot"].append(await round_trip(who, bot_room, "!ping"))
        results["floor"].append(await round_trip(who, floor_room, "ping"))

    await spaced(len(crowd), warm_up)
    await spaced(pings, ping)
    await asyncio.sleep(BURST_REST)
    five = crowd[:BURST]

    async def answered(who: Member, event_id: str, room_id: str = bot_room) -> None:
        await who.wait_for_reply(room_id, event_id, timeout=30)

    async def floor_answered(who: Member, event_id: str) -> None:
        await answered(who, event_id, floor_room)

    for _ in range(bursts):
        results["bot burst"].append(await burst(five, bot_room, "!ping", answered))
        results["floor burst"].append(await burst(five, floor_room, "ping", floor_answered))
        await asyncio.sleep(BURST_REST)
    return results


def report(results: dict[str, list[float]], encrypted: bool) -> None:
    print(shipped_defaults())
    print(
        f"command round trip, {len(results['bot'])} spaced pings each, "
        f"{'encrypted' if encrypted else 'unencrypted'} rooms (milliseconds)"
    )
    print(f"{'':12}{'p50':>8}{'p95':>8}{'p99':>8}{'mean':>8}")
    for name in ("bot", "floor"):
        values = results[name]
        cells = [percentile(values, q) for q in (50, 95, 99)] + [statistics.fmean(values)]
        print(f"{name:12}" + "".join(f"{v:8.1f}" for v in cells))
    for q, target in ((50, 1.05), (95, 1.10)):
        ratio = percentile(results["bot"], q) / percentile(results["floor"], q)
        print(f"p{q} ratio bot/floor: {ratio:.2f} (target <= {target:.2f})")
    bursts = results["bot burst"]
    if not bursts:
        return
    print(f"burst: {BURST} members send at the same instant, time to the last answer, "
          f"{len(bursts)} bursts (milliseconds)")  # fmt: skip
    print(f"{'':12}{'p50':>8}{'max':>8}{'mean':>8}")
    for name in ("bot burst", "floor burst"):
        values = results[name]
        cells = [percentile(values, 50), max(values), statistics.fmean(values)]
        print(f"{name:12}" + "".join(f"{v:8.1f}" for v in cells))
    for against in ("floor burst", "floor"):
        floor = percentile(results[against], 50)
        print(f"burst, last answer over the {against} p50 ({floor:.1f} ms): "
              f"p50 {percentile(bursts, 50) / floor:.2f}, max {max(bursts) / floor:.2f} "
              "(target <= 2.00)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument("--bursts", type=int, default=10, help="bursts of five (0: none)")
    parser.add_argument("--encrypted", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ssphub-bench-") as tmp:
        results = asyncio.run(measure(args.pings, args.bursts, args.encrypted, Path(tmp)))
    report(results, args.encrypted)


if __name__ == "__main__":
    main()
