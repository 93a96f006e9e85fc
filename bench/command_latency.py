"""Command round trip: a member sends !ping to the bot, against the floor of a plain echo client.

Both run on the same local Synapse (relaxed rate limits), in the same process and the same run,
interleaved ping by ping so machine drift hits both alike. The floor is a bare Matrix client
answering every message at once: what any bot costs at least, mostly Synapse storing events.

    python bench/command_latency.py [--pings 200] [--encrypted]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

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
commands: {{rate_limit: {{burst: 100000, per_seconds: 1}}}}
sending: {{pace_seconds: 0}}
"""
    return App(parse_config(text, source="bench", environ={}))


async def measure(pings: int, encrypted: bool, base: Path) -> dict[str, list[float]]:
    async with LocalSynapse(base / "synapse", relaxed_rate_limits=True) as synapse:
        bot = await synapse.register("bench-bot", "bench-bot")
        alice = client(synapse, await synapse.register("alice", "alice"), base)
        echo = client(synapse, await synapse.register("echo", "echo"), base)
        echo.answer_every_text("pong")
        await alice.start()
        await echo.start()
        bot_room = await alice.create_room(invite=[bot.user_id], encrypted=encrypted)
        floor_room = await alice.create_room(invite=[echo.user_id], encrypted=encrypted)
        await echo.join(floor_room)
        app = bot_app(synapse, bot, bot_room, base)
        await app.start()
        try:
            await alice.wait_for_member(bot_room, bot.user_id)
            await alice.wait_for_member(floor_room, echo.user_id)
            for _ in range(10):  # warm-up: caches, key sharing, first queries
                await round_trip(alice, bot_room, "!ping")
                await round_trip(alice, floor_room, "ping")
            results: dict[str, list[float]] = {"bot": [], "floor": []}
            for _ in range(pings):
                results["bot"].append(await round_trip(alice, bot_room, "!ping"))
                results["floor"].append(await round_trip(alice, floor_room, "ping"))
            return results
        finally:
            await app.stop()
            await alice.stop()
            await echo.stop()


def report(results: dict[str, list[float]], encrypted: bool) -> None:
    print(
        f"command round trip, {len(results['bot'])} pings each, "
        f"{'encrypted' if encrypted else 'unencrypted'} rooms (milliseconds)"
    )
    print(f"{'':8}{'p50':>8}{'p95':>8}{'p99':>8}{'mean':>8}")
    for name, values in results.items():
        cells = [percentile(values, q) for q in (50, 95, 99)] + [statistics.fmean(values)]
        print(f"{name:8}" + "".join(f"{v:8.1f}" for v in cells))
    ratio = percentile(results["bot"], 50) / percentile(results["floor"], 50)
    print(f"p50 ratio bot/floor: {ratio:.2f} (target <= 1.15)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=200)
    parser.add_argument("--encrypted", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ssphub-bench-") as tmp:
        results = asyncio.run(measure(args.pings, args.encrypted, Path(tmp)))
    report(results, args.encrypted)


if __name__ == "__main__":
    main()
