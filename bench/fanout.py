"""Newsletter fan-out: one new newsletter to N subscribers by DM, through the bot's real outbox.

A local Synapse (relaxed rate limits) with N members, each with uploaded device keys and an
(encrypted, unless --plain) DM with the bot; the bot runs in-process with SQLite, as in
production, watching a local feed. Publishing the newsletter queues one bulk outbox row per
subscriber in the poll's unit of work; the sender drains them at the configured DM pace.
Prints the setup time, the queueing time, the total time, the achieved pace against the
configured one, and the duplicates and losses counted in every DM's timeline on the server.

    python bench/fanout.py [--subscribers 1000] [--pace 0] [--plain]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from nio import AsyncClient, AsyncClientConfig, RoomCreateResponse
from processes import http_server
from sqlalchemy import select

from bot.app import App
from bot.clock import SystemClock
from bot.config import parse_config
from bot.matrix.dm import ENCRYPTION_STATE
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from bot.storage import feeds
from bot.storage import subscriptions as store
from bot.storage.models import NewsletterDmRow, OutboxRow
from bot.storage.subscriptions import TCHAP, Contact

FEED = Path(__file__).resolve().parents[1] / "bot" / "sandbox" / "feeds" / "infolettre.xml"
PARALLEL = 16  # members set up at once
_ITEM = re.compile(r"<item>.*?</item>", re.DOTALL)


class Feed:
    """The newsletter feed on 127.0.0.1, first without its newest item (published today)."""

    def __init__(self, xml: str) -> None:
        today = format_datetime(SystemClock().now(), usegmt=True)
        self.full = re.sub("<pubDate>.*?</pubDate>", f"<pubDate>{today}</pubDate>", xml, count=1)
        newest = _ITEM.search(xml)
        assert newest is not None
        self.body = xml[: newest.start()] + xml[newest.end() :]
        self.url = ""

    def publish(self) -> None:
        self.body = self.full

    async def handle(self, request: web.Request) -> web.Response:
        return web.Response(text=self.body, content_type="application/rss+xml")


@asynccontextmanager
async def served(feed: Feed) -> AsyncIterator[Feed]:
    """The feed on a free loopback port."""
    async with http_server("/infolettre.xml", feed.handle) as base:
        feed.url = f"{base}/infolettre.xml"
        yield feed


@dataclass(frozen=True)
class Figures:
    subscribers: int
    encrypted: bool
    pace: float
    setup: float
    queueing: float
    total: float
    intervals: list[float]
    per_dm: list[int]
    retries: int


async def subscriber(
    synapse: LocalSynapse, bot: str, n: int, base: Path, encrypted: bool
) -> tuple[str, str]:
    """Register member ``n``, upload its device keys, open a DM with the bot: (user, room)."""
    user = await synapse.register(f"abonne{n}", f"abonne{n}")
    config = AsyncClientConfig(encryption_enabled=encrypted, store_sync_tokens=False)
    store_dir = base / "members" / user.localpart
    store_dir.mkdir(parents=True)
    client = AsyncClient(synapse.url, user.user_id, user.device_id, str(store_dir), config)
    client.restore_login(user.user_id, user.device_id, user.access_token)
    try:
        if encrypted:
            await client.keys_upload()
        state = [ENCRYPTION_STATE] if encrypted else []
        response = await client.room_create(invite=[bot], is_direct=True, initial_state=state)
        assert isinstance(response, RoomCreateResponse), response
        return user.user_id, str(response.room_id)
    finally:
        await client.close()


async def members(
    synapse: LocalSynapse, bot: str, count: int, base: Path, encrypted: bool
) -> list[tuple[str, str]]:
    gate = asyncio.Semaphore(PARALLEL)

    async def one(n: int) -> tuple[str, str]:
        async with gate:
            return await subscriber(synapse, bot, n, base, encrypted)

    return list(await asyncio.gather(*(one(n) for n in range(count))))


def feed_app(synapse: LocalSynapse, bot: SynapseUser, hub: str, feed_url: str, base: Path,
             pace: float) -> App:  # fmt: skip
    text = f"""\
matrix: {{homeserver: "{synapse.url}", user_id: "{bot.user_id}", password: "bench-bot"}}
rooms: ["{hub}"]
data_dir: {base / "bot"}
web: {{port: 0}}
sending: {{pace_seconds: 0}}
feeds: [{{url: "{feed_url}", interval: 3600}}]
fetch: {{allow_private: ["127.0.0.1"]}}
subscriptions: {{dm_pace_seconds: {pace}, progress_interval_seconds: 5}}
"""
    return App(parse_config(text, source="bench", environ={}))


async def until(condition: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout} s")
        await asyncio.sleep(0.2)


async def dm_rows(app: App) -> list[OutboxRow]:
    async with app.db.session() as session:
        rows = await session.scalars(
            select(OutboxRow)
            .join(NewsletterDmRow, NewsletterDmRow.outbox_id == OutboxRow.id)
            .order_by(OutboxRow.sent_at)
        )
        return list(rows)


async def bot_events(http: aiohttp.ClientSession, url: str, token: str, room: str, bot: str) -> int:
    """Messages the bot left in ``room``, read from the server's timeline."""
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(
        f"{url}/_matrix/client/v3/rooms/{room}/messages", params={"dir": "b", "limit": "50"},
        headers=headers,
    ) as response:  # fmt: skip
        chunk = (await response.json())["chunk"]
    kinds = ("m.room.message", "m.room.encrypted")
    return sum(event["sender"] == bot and event["type"] in kinds for event in chunk)


async def per_dm_counts(synapse: LocalSynapse, bot: SynapseUser, rooms: list[str]) -> list[int]:
    gate = asyncio.Semaphore(PARALLEL)
    async with aiohttp.ClientSession() as http:

        async def one(room: str) -> int:
            async with gate:
                return await bot_events(http, synapse.url, bot.access_token, room, bot.user_id)

        return list(await asyncio.gather(*(one(room) for room in rooms)))


async def measure(count: int, pace: float, encrypted: bool, base: Path) -> Figures:
    async with LocalSynapse(base / "synapse", relaxed_rate_limits=True) as synapse:
        bot = await synapse.register("bench-bot", "bench-bot")
        orga = await synapse.register("orga", "orga")
        async with served(Feed(FEED.read_text("utf-8"))) as feed:
            hub = await room_of(synapse, orga, bot.user_id)
            app = feed_app(synapse, bot, hub, feed.url, base, pace)
            await app.start()
            try:
                return await run(app, synapse, bot, feed, count, encrypted, base)
            finally:
                await app.stop()


async def room_of(synapse: LocalSynapse, owner: SynapseUser, bot: str) -> str:
    client = AsyncClient(synapse.url, owner.user_id, owner.device_id)
    client.restore_login(owner.user_id, owner.device_id, owner.access_token)
    try:
        response = await client.room_create(invite=[bot])
        assert isinstance(response, RoomCreateResponse), response
        return str(response.room_id)
    finally:
        await client.close()


async def run(app: App, synapse: LocalSynapse, bot: SynapseUser, feed: Feed, count: int,
              encrypted: bool, base: Path) -> Figures:  # fmt: skip
    assert app.gateway is not None and app.feeds is not None
    gateway = app.gateway
    started = time.perf_counter()
    pairs = await members(synapse, bot.user_id, count, base, encrypted)

    async def ready() -> bool:
        rooms = gateway.client.rooms
        devices = gateway.client.device_store
        known = not encrypted or all(list(devices.active_user_devices(u)) for u, _ in pairs)
        return known and all(room in rooms for _, room in pairs)

    await until(ready, 600, "the bot in every DM")
    await until(lambda: first_poll_done(app, feed.url), 60, "first poll")
    async with app.db.session() as session:
        for n, (user_id, room) in enumerate(pairs):
            await store.add(
                session, contact=Contact(f"abonne{n}@insee.fr", f"Abonné {n}", "insee.fr"),
                source=TCHAP, now=app.clock.now(), user_id=user_id, consent_version="bench",
                dm_room_id=room,
            )  # fmt: skip
    setup = time.perf_counter() - started
    feed.publish()
    published = time.perf_counter()
    await app.feeds.poll_now()
    queueing = time.perf_counter() - published

    async def all_sent() -> bool:
        rows = await dm_rows(app)
        return len(rows) == count and all(row.status == "sent" for row in rows)

    await until(all_sent, 3600, "every DM sent")
    total = time.perf_counter() - published
    rows = await dm_rows(app)
    moments = sorted(row.sent_at for row in rows if row.sent_at)
    intervals = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
    per_dm = await per_dm_counts(synapse, bot, [room for _, room in pairs])
    retries = sum(row.attempts for row in rows)
    pace = app.config.subscriptions.dm_pace_seconds
    return Figures(count, encrypted, pace, setup, queueing, total, intervals, per_dm, retries)


async def first_poll_done(app: App, url: str) -> bool:
    async with app.db.session() as session:
        state = await feeds.find_feed(session, url)
    return state is not None and state.first_poll_done


def report(f: Figures) -> None:
    sent_span = sum(f.intervals)
    mean = statistics.fmean(f.intervals) if f.intervals else 0.0
    kind = "encrypted" if f.encrypted else "unencrypted"
    print(f"newsletter fan-out to {f.subscribers} subscribers ({kind} DMs)")
    print(f"  setup (members, keys, DMs)      {f.setup:8.1f} s")
    print(f"  queueing (poll's unit of work)  {f.queueing:8.2f} s")
    print(f"  publish -> last DM sent         {f.total:8.1f} s")
    print(f"  first -> last DM sent           {sent_span:8.1f} s")
    print(f"  achieved rate                   {f.subscribers / f.total:8.1f} DMs/s")
    print(f"  mean interval between DMs       {mean * 1000:8.1f} ms "
          f"(configured pace {f.pace * 1000:.0f} ms)")  # fmt: skip
    if f.pace > 0 and f.intervals:
        print(f"  shortest interval               {min(f.intervals) * 1000:8.1f} ms")
    print(f"  retries                         {f.retries:8d}")
    print(f"  duplicates                      {sum(max(0, c - 1) for c in f.per_dm):8d}")
    print(f"  missing                         {sum(c == 0 for c in f.per_dm):8d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between DMs")
    parser.add_argument("--plain", action="store_true", help="unencrypted DMs")
    args = parser.parse_args()
    logging.getLogger("nio").setLevel(logging.ERROR)  # "missing session" before each key claim
    with tempfile.TemporaryDirectory(prefix="ssphub-bench-") as tmp:
        figures = asyncio.run(measure(args.subscribers, args.pace, not args.plain, Path(tmp)))
    report(figures)


if __name__ == "__main__":
    main()
