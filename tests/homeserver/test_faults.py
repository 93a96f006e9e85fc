"""The bot's process killed with SIGKILL at random points, then restarted, while it announces new
newsletters in two rooms and while it sends one to subscribers' encrypted DMs: every room and
every DM ends with each message exactly once, in order, and nothing is left unsent."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.config import parse_config
from bot.matrix.member import Member
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from bot.storage import feeds, outbox
from bot.storage import subscriptions as store
from bot.storage.db import Database
from bot.storage.subscriptions import TCHAP, Contact
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import FeedServer, feed_server, items, newest_dated_lately, with_items
from tests.homeserver.faults import KillPlan, bodies_from, fault_rng, kill_at_random_points
from tests.homeserver.harness import bot_config_text, member, poll, register
from tests.homeserver.process import BotProcess
from tests.polling import until

pytestmark = pytest.mark.homeserver

NEW = 6  # newsletters published at once, announced in each of two rooms
# Dated over the last NEW days: newsletters of 2025-2026 would be too old to announce now.
NEWSLETTERS = newest_dated_lately(load_feed("infolettre").decode(), NEW, SystemClock().now())
SUBSCRIBERS = 20
FEED_PATH = "/infolettre.xml"
_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


def title(block: str) -> str:
    found = _TITLE.search(block)
    assert found is not None
    return html.unescape(found[1]).strip()


def config_text(synapse: LocalSynapse, bot: SynapseUser, password: str, data: Path,
                rooms: list[str], organiser: str, server: FeedServer) -> str:  # fmt: skip
    extra = (
        f"feeds:\n  - url: {server.url(FEED_PATH)}\n    interval: 10\n    max_per_poll: {NEW}\n"
        "subscriptions:\n  dm_pace_seconds: 0.15\n  progress_interval_seconds: 1\n"
    )
    return bot_config_text(
        synapse, bot, password, data, rooms=rooms, organisers=[organiser], extra=extra,
        pace_seconds=0.2,
    )  # fmt: skip


@asynccontextmanager
async def bot_database(text: str) -> AsyncIterator[Database]:
    """The killed bot's own database, opened by the test beside it."""
    db = Database(parse_config(text, source="bot.yaml", environ={}).database_url_or_default)
    try:
        yield db
    finally:
        await db.dispose()


async def first_poll_recorded(db: Database, server: FeedServer) -> bool:
    async with db.session() as session:
        state = await feeds.find_feed(session, server.url(FEED_PATH))
    return state is not None and state.first_poll_done


def next_answer(server: FeedServer) -> Callable[[], Awaitable[None]]:
    """Waits for the feed server's next full answer (200) to the bot's poll."""
    answered = len(server.requests)

    async def began() -> None:
        await until(lambda: _answered(server, answered), 30, "the bot's next poll")

    return began


async def _answered(server: FeedServer, after: int) -> bool:
    return any(status == 200 for _, status in server.requests[after:])


async def outbox_settled(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return await outbox.counts(session)


def distinct(watchers: list[Member], bot: str, rooms: set[str], start: str) -> int:
    """How many distinct (room, text) messages of the bot starting with ``start`` arrived."""
    return len({
        (seen.room_id, seen.body.split("\n", 1)[0])
        for watcher in watchers for seen in watcher.seen
        if seen.sender == bot and seen.room_id in rooms and seen.body.startswith(start)
    })  # fmt: skip


async def test_announcements_survive_sigkill_at_random_points(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """Six new newsletters in two rooms (one encrypted), the process killed three times at
    random points: each room shows the six announcements once each, oldest first."""
    rng, seed = fault_rng()
    bot, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    orga = await member(synapse, orga_user, tmp_path)
    rooms = [
        await orga.create_room(invite=[bot.user_id]),
        await orga.create_room(invite=[bot.user_id], encrypted=False),
    ]
    blocks = items(NEWSLETTERS)
    expected = [title(block) for block in reversed(blocks[:NEW])]
    async with feed_server() as server:
        server.serve(FEED_PATH, with_items(NEWSLETTERS, blocks[NEW:]))
        text = config_text(synapse, bot, password, tmp_path / "bot", rooms, orga.user_id, server)
        process = BotProcess(text, tmp_path / "process")
        plan = KillPlan(seed)
        try:
            async with bot_database(text) as db:
                process.start()
                for room_id in rooms:
                    await orga.wait_for_member(room_id, bot.user_id, timeout=60)
                await poll(lambda: first_poll_recorded(db, server), timeout=60)
                assert await process.stop() == 0, process.log_tail()
                server.serve(FEED_PATH, NEWSLETTERS)

                def arrived() -> int:
                    return distinct([orga], bot.user_id, set(rooms), "📰")

                total = NEW * len(rooms)
                await kill_at_random_points(
                    process, arrived, total, rng, plan, work_began=next_answer(server)
                )
                await poll(lambda: _all_sent(db, total), timeout=120)
            for room_id in rooms:
                bodies = [b for b in await bodies_from(orga, room_id, bot.user_id) if "📰" in b]
                shown = [next((t for t in expected if t in b), b) for b in bodies]
                assert shown == expected, plan.report(process)
        except BaseException:
            print(plan.report(process))
            raise
        finally:
            await process.stop()
            await orga.stop()


async def _all_sent(db: Database, total: int) -> bool:
    counts = await outbox_settled(db)
    return counts.get("sent", 0) >= total and not counts.get("pending")


async def subscriber(synapse: LocalSynapse, bot: str, tmp_path: Path, n: int) -> tuple[Member, str]:
    """A member with an encrypted DM with the bot, whose devices the bot has encrypted for."""
    user, _ = await register(synapse, f"abonne{n}")
    client = await member(synapse, user, tmp_path)
    dm = await client.create_room(invite=[bot], direct=True)
    await client.wait_for_member(dm, bot, timeout=60)
    asked = await client.send_text(dm, "!ping")
    answer = await client.wait_for_reply(dm, asked, timeout=60)
    assert answer.decrypted  # so the bot's store knows this member's device for the newsletter
    return client, dm


async def subscribe(db: Database, pairs: list[tuple[Member, str]]) -> None:
    """Every member subscribed with delivery by DM, written while the bot is stopped."""
    async with db.session() as session:
        for n, (client, dm) in enumerate(pairs):
            await store.add(
                session, contact=Contact(f"abonne{n}@insee.fr", f"Abonné {n}", "insee.fr"),
                source=TCHAP, now=SystemClock().now(), user_id=client.user_id, consent_version="v1",
                dm_room_id=dm,
            )  # fmt: skip


async def test_newsletter_fanout_by_dm_survives_sigkill_at_random_points(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """One newsletter to 20 subscribers' encrypted DMs and the hub, the process killed three
    times at random points: each DM and the hub hold it exactly once, none failed."""
    rng, seed = fault_rng()
    bot, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    orga = await member(synapse, orga_user, tmp_path)
    hub = await orga.create_room(invite=[bot.user_id])
    headline = title(items(NEWSLETTERS)[0])
    pairs: list[tuple[Member, str]] = []
    async with feed_server() as server:
        server.serve(FEED_PATH, with_items(NEWSLETTERS, items(NEWSLETTERS)[1:]))
        text = config_text(synapse, bot, password, tmp_path / "bot", [hub], orga.user_id, server)
        process = BotProcess(text, tmp_path / "process")
        plan = KillPlan(seed)
        try:
            async with bot_database(text) as db:
                process.start()
                await orga.wait_for_member(hub, bot.user_id, timeout=60)
                for first in range(0, SUBSCRIBERS, 10):
                    pairs += await asyncio.gather(*(
                        subscriber(synapse, bot.user_id, tmp_path, n)
                        for n in range(first, min(first + 10, SUBSCRIBERS))
                    ))  # fmt: skip
                await poll(lambda: first_poll_recorded(db, server), timeout=60)
                assert await process.stop() == 0, process.log_tail()
                await subscribe(db, pairs)
                server.serve(FEED_PATH, NEWSLETTERS)
                members = [client for client, _ in pairs]
                dms = {dm for _, dm in pairs}

                def arrived() -> int:
                    return distinct(members, bot.user_id, dms, "📰")

                await kill_at_random_points(
                    process, arrived, SUBSCRIBERS, rng, plan, work_began=next_answer(server)
                )
                await poll(lambda: _all_sent(db, SUBSCRIBERS + 1), timeout=120)
                assert not (await outbox_settled(db)).get("failed"), plan.report(process)
            counts = [
                sum(headline in body for body in await bodies_from(client, dm, bot.user_id))
                for client, dm in [(orga, hub), *pairs]
            ]
            assert counts == [1] * (SUBSCRIBERS + 1), plan.report(process)
        except BaseException:
            print(plan.report(process))
            raise
        finally:
            await process.stop()
            await asyncio.gather(orga.stop(), *(client.stop() for client, _ in pairs))
