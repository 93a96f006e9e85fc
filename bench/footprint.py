"""Footprint of ``ssphub-bot run``: start to the first handled sync, and memory when idle.

The bot runs as a real subprocess (``ssphub-bot run --config FILE``, SQLite in a temporary data
directory, end-to-end encryption on as in production) against a local Synapse.

Start to the first handled sync. Right before each spawn a member sends ``!ping`` in a room the
bot has already joined. The bot's first sync (the initial sync on a cold start, the sync from its
stored token on a warm one) is the one that carries that ping, and the bot acts on an event only
once it has received the sync that brought it: the member seeing the reply is the first moment
anyone outside can tell that a sync was handled. It lags that moment by one reply (the bot's unit
of work for the command, its PUT and the member's long poll returning: 0.1 to 0.2 s here, the
first command of a fresh process included). The ping is answered because it is younger than
``matrix.command_grace_seconds`` (default 300 s), as is a member's command sent to a restarting
bot; no reply within the time limit fails the run. Three earlier milestones are printed beside
it: the "logged in" log line, the "cross-signed" log line that ends the identity step (cold: the
identity made, published and the device signed; warm: one keys query), and the first 200 of
``/healthz`` (the first sync response applied; polled every 10 ms from the login line on, not
before, to leave the start itself alone). Cold:
new account, fresh data directory, first login with a password (a new device, its keys
uploaded). Warm: the same data directory again (session, crypto store and sync token reused).
"Cold" is the process, not the disk: the page cache is warm.

The peer, matrix-reminder-bot 0.4.0 (installed once by bench/peerbot.py, as for peer.py), is
started the same way in the same run, alternating with ours: a member sends ``!help`` (its
cheapest command) right before the spawn, in a room its account has joined; its answer is its
next message in that room. Cold: a new account and a fresh store; warm: the same store again.
It logs in with its password at every start (it keeps no session), and its nio client keeps
the sync token in its store, so its first sync on a warm start also carries the command. Its
"logged in" log line is printed beside the answer; it has no identity step and no probe.

Both run as installed from PyPI or in the image: the peer from its own environment, ours from
an environment with its runtime dependencies only, the bot built from a source tree as a wheel
(bench/runtime.py; ``--tree`` names another tree, to measure another version the same way).
An editable install in the development environment would differ twice: its modules compiled
from source at every start where ``PYTHONDONTWRITEBYTECODE`` is set, and pycryptodome going
through the cffi that Synapse brings in.

Memory when idle. The bot starts on a database holding N feed items, written beforehand through
the bot's own migrations and repositories into the feed it watches; every fifth item is an
event, so the agenda holds about N/5 events, over the past and the next year. A local server serves
that feed (its 20 real items are among the stored ones: nothing is announced, nothing pruned),
then answers 304 to the ETag. Once the bot has answered a ping and polled the feed twice (every
10 s, the minimum), it idles a few seconds and VmRSS is sampled from /proc; VmHWM is the peak
since the spawn. The same follows with an empty database (the first poll records the 20 items
silently), and the RSS of Synapse itself, the floor of any deployment on this homeserver.

    python bench/footprint.py [--runs 5] [--items 10000] [--venv DIR] [--tree DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import signal
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from peerbot import PEER, PEER_PASSWORD, PEER_VERSION, default_venv, peer_process, peer_venv
from peerbot import restarted as peer_restarted
from processes import (
    SAMPLES,
    Bot,
    Memory,
    Process,
    cpu_seconds,
    http_server,
    member,
    memory,
    new_bot,
    reply_seen,
    room_with,
    sampled,
    stopped,
    synapse_pid,
)
from runtime import TREE, installed_bot

from bot.clock import SystemClock
from bot.config import Config
from bot.feeds.eventtime import EventTime
from bot.feeds.normalise import FeedItem, ItemKind
from bot.feeds.plan import ItemStatus
from bot.feeds.settings import FeedSettings
from bot.feeds.watch import read_batch
from bot.matrix.member import Member
from bot.sandbox.synapse import LocalSynapse
from bot.storage import feed_items, feeds, migrate
from bot.storage.db import Database

ROOT = Path(__file__).resolve().parents[1]
FEED = ROOT / "bot" / "sandbox" / "feeds" / "infolettre.xml"
START_TIMEOUT = 60.0
HEALTH_POLL = 0.01
FEED_INTERVAL = 10  # seconds, the shortest the configuration accepts
IDLE_POLLS = 2
EVENT_EVERY = 5


@dataclass(frozen=True)
class StartTimes:
    """Seconds from the spawn to each milestone of one start."""

    logged_in: float
    signed: float
    healthy: float
    answered: float
    cpu: float  # processor seconds used by then


async def first_healthy(process: Process, port: int, timeout: float) -> float:
    """When ``/healthz`` first answered 200, polled from the bot's login line on."""
    await process.first_line("logged in as", timeout)
    url = f"http://127.0.0.1:{port}/healthz"
    async with asyncio.timeout(timeout), aiohttp.ClientSession() as http:
        while True:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as answer:
                    if answer.status == 200:
                        return time.perf_counter()
            await asyncio.sleep(HEALTH_POLL)


async def timed_start(process: Process, bot: Bot, alice: Member) -> StartTimes:
    """Spawn the bot right after a member's !ping: seconds to login, /healthz and the reply."""
    event_id = await alice.send_text(bot.room, "!ping")
    spawned = await process.start()
    async with asyncio.TaskGroup() as group:
        logged_in = group.create_task(process.first_line("logged in as", START_TIMEOUT))
        signed = group.create_task(process.first_line("is cross-signed", START_TIMEOUT))
        healthy = group.create_task(first_healthy(process, bot.web_port, START_TIMEOUT))
        answered = group.create_task(reply_seen(alice, bot.room, event_id, START_TIMEOUT))
    cpu = cpu_seconds(process.pid)
    moments = (logged_in.result(), signed.result(), healthy.result(), answered.result())
    return StartTimes(*(moment - spawned for moment in moments), cpu)


async def one_start(bot: Bot, alice: Member, command: Path) -> StartTimes:
    """One start of the bot, measured, then a clean stop."""
    process = bot.process(command)
    try:
        return await timed_start(process, bot, alice)
    finally:
        await stopped(process)


@dataclass(frozen=True)
class PeerStartTimes:
    """Seconds from the peer's spawn to its login line and to its answer."""

    logged_in: float
    answered: float
    cpu: float  # processor seconds used by then


@dataclass(frozen=True)
class Peer:
    """The peer's account, its room with the member, and its home (configuration, store)."""

    user_id: str
    room: str
    home: Path


async def new_peer(
    synapse: LocalSynapse, alice: Member, base: Path, name: str, bin_dir: Path
) -> Peer:
    """A fresh peer account in a fresh room with ``alice``, and a fresh home."""
    user = await synapse.register(name, PEER_PASSWORD)
    room = await room_with(synapse, alice, user)
    process = peer_process(bin_dir, synapse.url, user, base, name)
    return Peer(user.user_id, room, process.cwd)


async def peer_answer(alice: Member, peer: Peer, mark: int) -> float:
    """When ``alice`` saw the peer's first message in its room after ``mark``."""

    def spoke() -> bool:
        return any(s.sender == peer.user_id and s.room_id == peer.room for s in alice.seen[mark:])

    await alice.wait_until(spoke, timeout=START_TIMEOUT)
    return time.perf_counter()


async def one_peer_start(peer: Peer, alice: Member, bin_dir: Path) -> PeerStartTimes:
    """Spawn the peer right after a member's !help: seconds to its login line and its answer."""
    process = peer_restarted(bin_dir, peer.home)
    mark = len(alice.seen)
    await alice.send_text(peer.room, "!help")
    try:
        spawned = await process.start()
        async with asyncio.TaskGroup() as group:
            logged_in = group.create_task(process.first_line("Logged in as", START_TIMEOUT))
            answered = group.create_task(peer_answer(alice, peer, mark))
        cpu = cpu_seconds(process.pid)
        return PeerStartTimes(logged_in.result() - spawned, answered.result() - spawned, cpu)
    finally:
        await stopped(process, expected=(0, -signal.SIGTERM))


@dataclass(frozen=True)
class Commands:
    """Our installed ``ssphub-bot`` command, and the peer's ``bin`` directory."""

    ours: Path
    peer_bin: Path


@dataclass(frozen=True)
class Starts:
    """Cold and warm starts of ours and of the peer."""

    cold: list[StartTimes]
    warm: list[StartTimes]
    peer_cold: list[PeerStartTimes]
    peer_warm: list[PeerStartTimes]


async def starts(
    synapse: LocalSynapse, alice: Member, base: Path, runs: int, commands: Commands
) -> Starts:
    """Cold starts (a new account each), then warm starts of the last one, ours and the
    peer's one after the other."""
    cold: list[StartTimes] = []
    peer_cold: list[PeerStartTimes] = []
    for n in range(runs):
        bot = await new_bot(synapse, alice, base, f"cold-{n}")
        cold.append(await one_start(bot, alice, commands.ours))
        peer = await new_peer(synapse, alice, base, f"peer-{n}", commands.peer_bin)
        peer_cold.append(await one_peer_start(peer, alice, commands.peer_bin))
    warm: list[StartTimes] = []
    peer_warm: list[PeerStartTimes] = []
    for _ in range(runs):
        warm.append(await one_start(bot, alice, commands.ours))
        peer_warm.append(await one_peer_start(peer, alice, commands.peer_bin))
    return Starts(cold, warm, peer_cold, peer_warm)


# --- stored items --------------------------------------------------------------------------------


def padding_item(template: FeedItem, n: int, count: int, now: datetime) -> FeedItem:
    """Stored item ``n`` of ``count`` beyond the feed's own: a post, or every fifth an event
    spread from a year ago to a year ahead."""
    is_event = n % EVENT_EVERY == 0
    link = f"https://ssphub.netlify.app/{'event' if is_event else 'blog'}/bench-{n}/"
    fingerprint = hashlib.sha256(link.encode()).hexdigest()[:32]
    event = None
    if is_event:
        start = now - timedelta(days=365) + timedelta(days=730) * n / count
        event = EventTime(start, start + timedelta(hours=2), False, True, "Paris")
    return replace(
        template, identity=link, link=link, kind=ItemKind.EVENT if is_event else ItemKind.POST,
        title=f"Article de remplissage n°{n}", published=now - timedelta(hours=n), event=event,
        newsletter_number=None, guid=link, fingerprint=fingerprint,
    )  # fmt: skip


def stored_items(config: Config, count: int, now: datetime) -> list[FeedItem]:
    """The served feed's own items, as the bot reads them, then padding up to ``count``."""
    feed = config.feeds[0]
    settings = FeedSettings.from_config(feed, config.tz, config.announcements.summary_chars)
    real = read_batch(FEED.read_bytes(), feed.url, "application/rss+xml", settings.rules)
    padding = [padding_item(real[0], n, count, now) for n in range(count - len(real))]
    return real + padding


async def populate(config: Config, count: int) -> int:
    """Migrate the bot's database and store ``count`` items of its feed, as an earlier run
    would have; the number of agenda events among them."""
    url = config.database_url_or_default
    config.data_dir.mkdir(parents=True, exist_ok=True)
    await migrate.upgrade(url)
    now = SystemClock().now()
    items = stored_items(config, count, now)
    db = Database(url)
    try:
        async with db.session() as session:
            feed = await feeds.feed_state(session, config.feeds[0].url)
            rows = [(item, ItemStatus.ANNOUNCED) for item in items]
            await feed_items.add_items(session, feed.id, rows, now=now, poll=1)
            await feeds.poll_succeeded(
                session, feed.url, now=now, validators=(None, None, None), next_poll_at=now,
                largest=20,
            )  # fmt: skip
    finally:
        await db.dispose()
    return sum(item.event is not None for item in items)


async def items_stored(config: Config) -> int:
    """How many items of its feed the bot's database holds."""
    db = Database(config.database_url_or_default)
    try:
        async with db.session() as session:
            feed = await feeds.feed_state(session, config.feeds[0].url)
            return await feeds.items_known(session, feed.id)
    finally:
        await db.dispose()


# --- the feed ------------------------------------------------------------------------------------


class FeedServer:
    """The newsletter feed on 127.0.0.1 at one path per bot, and 304 to a client that has it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        self.requests: Counter[str] = Counter()
        self.base = ""
        self._polled = asyncio.Event()

    def url(self, name: str) -> str:
        return f"{self.base}/{name}.xml"

    async def handle(self, request: web.Request) -> web.Response:
        self.requests[request.match_info["name"]] += 1
        self._polled.set()
        if request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304, headers={"ETag": self.etag})
        headers = {"ETag": self.etag}
        return web.Response(body=self.body, headers=headers, content_type="application/rss+xml")

    async def polled(self, name: str, times: int, timeout: float) -> None:
        """Return once the feed of ``name`` was fetched ``times`` times."""
        async with asyncio.timeout(timeout):
            while self.requests[name] < times:
                self._polled.clear()
                await self._polled.wait()


@contextlib.asynccontextmanager
async def served(body: bytes) -> AsyncIterator[FeedServer]:
    """A running FeedServer for ``body``."""
    feed = FeedServer(body)
    async with http_server("/{name}.xml", feed.handle) as feed.base:
        yield feed


# --- idle memory ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Idle:
    """The memory of a bot idling on a database of ``items`` items (``events`` on the agenda)."""

    items: int
    events: int
    memory: Memory
    items_after: int


async def idle_memory(
    synapse: LocalSynapse, alice: Member, base: Path, feed: FeedServer, items: int, command: Path
) -> Idle:
    """Start a bot on ``items`` stored items, let it answer, poll and idle, then read its RSS."""
    name = f"idle-{items}"
    extra = f'feeds: [{{url: "{feed.url(name)}", interval: {FEED_INTERVAL}}}]\n'
    extra += 'fetch: {allow_private: ["127.0.0.1"]}\n'  # the feed server is on loopback
    bot = await new_bot(synapse, alice, base, name, extra)
    events = await populate(bot.config(), items) if items else 0
    process = bot.process(command)
    try:
        await timed_start(process, bot, alice)
        await feed.polled(name, IDLE_POLLS, timeout=FEED_INTERVAL * IDLE_POLLS + START_TIMEOUT)
        taken = await sampled(process.pid)
    finally:
        await stopped(process)
    return Idle(items, events, taken, await items_stored(bot.config()))


# --- the run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    runs: int
    starts: Starts
    idle: list[Idle]
    synapse: Memory


async def measure(runs: int, items: int, base: Path, commands: Commands) -> Figures:
    async with (
        LocalSynapse(base / "synapse", relaxed_rate_limits=True) as synapse,
        served(FEED.read_bytes()) as feed,
    ):
        alice = member(synapse, await synapse.register("alice", "alice"), base)
        await alice.start()
        try:
            started = await starts(synapse, alice, base, runs, commands)
            idle = [await idle_memory(synapse, alice, base, feed, n, commands.ours)
                    for n in (0, items)]  # fmt: skip
            homeserver = memory(synapse_pid(synapse))
        finally:
            await alice.stop()
    return Figures(runs, started, idle, homeserver)


def mib(kib: int) -> str:
    return f"{kib / 1024:8.1f}"


def _median(runs: Sequence[StartTimes | PeerStartTimes], key: str) -> float | None:
    """The median of one milestone over the runs; None when these runs have none."""
    values = [getattr(run, key) for run in runs if hasattr(run, key)]
    return statistics.median(values) if values else None


def report(f: Figures) -> None:
    print("ssphub-bot footprint: `ssphub-bot run` subprocess, SQLite, E2EE on, local Synapse")
    print(f"start to first handled sync, seconds from spawn, median of {f.runs} runs; cpu: the")
    print("processor seconds the process had used when its answer was seen (steadier than the")
    print("wall clock on a shared machine)")
    print(f"{'':10}{'logged in':>10}{'signed':>8}{'/healthz 200':>14}{'answered':>10}"
          f"{'cpu':>7}   (answered, min - max)")  # fmt: skip
    s = f.starts
    rows = [("cold", s.cold), ("warm", s.warm), ("peer cold", s.peer_cold),
            ("peer warm", s.peer_warm)]  # fmt: skip
    for name, runs in rows:
        cells = [_median(runs, key) for key in ("logged_in", "signed", "healthy", "answered")]
        shown = "".join(f"{cell:{w}.2f}" if cell is not None else f"{'-':>{w}}"
                        for cell, w in zip(cells, (10, 8, 14, 10), strict=True))  # fmt: skip
        answered = [run.answered for run in runs]
        print(f"{name:10}{shown}{_median(runs, 'cpu') or 0:7.2f}"
              f"   ({min(answered):.2f} - {max(answered):.2f})")  # fmt: skip
    print(f"(ours: !ping; the peer, {PEER} {PEER_VERSION}: !help, in the same run)")
    for name, runs in (("cold", s.cold), ("warm", s.warm)):
        step = statistics.median((run.signed - run.logged_in) * 1000 for run in runs)
        print(f"identity step ({name}), logged in to signed: {step:.0f} ms (median)")
    print(f"memory when idle, MiB (VmRSS median of {SAMPLES} samples; VmHWM peak since spawn)")
    print(f"{'':52}{'VmRSS':>8}{'VmHWM':>8}")
    for idle in f.idle:
        what = (f"bot, {idle.items} feed items stored ({idle.events} agenda events)"
                if idle.items else "bot, empty database (first poll stores 20 items)")  # fmt: skip
        print(f"{what:52}{mib(idle.memory.rss_kib)}{mib(idle.memory.hwm_kib)}")
    print(f"{'Synapse, the homeserver (after all runs)':52}"
          f"{mib(f.synapse.rss_kib)}{mib(f.synapse.hwm_kib)}")  # fmt: skip
    kept = ", ".join(str(idle.items_after) for idle in f.idle)
    print(f"feed items in each database after its run: {kept}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts, then as many warm")
    parser.add_argument("--items", type=int, default=10_000, help="feed items stored beforehand")
    parser.add_argument("--venv", type=Path, default=default_venv(), help="the peer's venv")
    parser.add_argument("--tree", type=Path, default=TREE, help="the bot's source tree")
    args = parser.parse_args()
    bin_dir, took = peer_venv(args.venv.expanduser().absolute())
    how = "reused" if took is None else f"installed in {took:.0f} s"
    print(f"{PEER} {PEER_VERSION}: {bin_dir.parent} ({how})")
    ours = installed_bot(args.tree.absolute())
    print(
        f"ssphub-bot from {args.tree.absolute()}: {ours.parent.parent} (runtime dependencies only)"
    )
    with tempfile.TemporaryDirectory(prefix="ssphub-bench-") as tmp:
        figures = asyncio.run(measure(args.runs, args.items, Path(tmp), Commands(ours, bin_dir)))
    report(figures)


if __name__ == "__main__":
    main()
