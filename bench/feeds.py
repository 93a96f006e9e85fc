"""Feed polling costs: an unchanged feed (304), and parse + dedupe + store against feedparser alone.

(a) A watcher polls the hub's newsletter feed from a local HTTP server that answers 304 to the
stored ETag: the median wall time of one whole poll (HTTP round trip and the unit of work),
through the bot's guarded HTTP session (loopback allowed, as the sandbox does).
(b) The newsletter feed padded to production size (20 items, ~23 KB of page HTML each, ~0.5 MB:
sections, lists, links, code and an inline script per block) goes through whole polls minus the
network — parse and normalise in a worker thread, compare with the stored items, store, queue
announcements, commit to SQLite — timed against ``feedparser.parse`` alone on the same bytes with
the same options and headers, interleaved in the same run. Three polls are timed: a changed feed
with one new item (the common case: 19 known, 1 stored and announced to two rooms), a changed
feed whose items are all known, and the first poll of a new feed (20 items stored, plus the
one-time cost of creating the feed's row). Target: at most 1.2 x feedparser.

    python bench/feeds.py [--polls 200] [--runs 21]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import io
import random
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
from aiohttp import web

from bot.clock import SystemClock
from bot.config import AnnouncementsConfig, FeedConfig
from bot.feeds.changes import FeedChanges
from bot.feeds.fetch import FeedFetcher, FetchResult, Validators, user_agent
from bot.feeds.guard import guarded_session
from bot.feeds.parse import DEFAULT_CONTENT_TYPE
from bot.feeds.policy import AddressPolicy
from bot.feeds.record import PollRecorder
from bot.feeds.settings import FeedSettings
from bot.feeds.watch import FeedWatcher, Fetcher
from bot.i18n import catalogue
from bot.matrix.postbox import MatrixPostbox
from bot.services.announcements import Announcer
from bot.services.rooms import HubRooms
from bot.storage import migrate
from bot.storage.db import Database

FEED = Path(__file__).resolve().parents[1] / "bot" / "sandbox" / "feeds" / "infolettre.xml"
PARIS = ZoneInfo("Europe/Paris")
FEED_URL = "https://ssphub.netlify.app/infolettre/infolettre.xml"
ROOMS = ("!a:bench", "!b:bench")
PAGE_BLOCK = (
    '<section id="s{n}"><h2>Partie {n}</h2><p>Les <a href="../infolettre_{n}/">données</a> de la '
    "statistique publique, leurs méthodes et leurs outils : un paragraphe comme on en trouve dans "
    "les pages rendues par Quarto, avec <code>du code</code>, des <em>mises en forme</em> et des "
    'liens relatifs.</p><script type="text/javascript">window.quarto{n} = {{"x": {n}}};</script>'
    '<div class="callout"><ul><li>un point</li><li>un autre point</li></ul></div></section>'
)


def padded_feed(target_item_bytes: int = 25_000) -> bytes:
    """The newsletter feed with each description padded to about ``target_item_bytes``."""
    return padded(FEED.read_text("utf-8"), target_item_bytes).encode()


def padded(text: str, target_item_bytes: int) -> str:
    """An RSS document with each description padded to about ``target_item_bytes``."""
    filler = "".join(PAGE_BLOCK.format(n=n) for n in range(target_item_bytes // 500 + 1))
    text = text.replace("]]></description>", filler[:target_item_bytes] + " ]]></description>")
    return text


def watcher(db: Database, url: str, fetcher: Fetcher) -> FeedWatcher:
    """A production watcher of ``url`` on ``db`` (nothing is sent: no sender), told of
    organisers' changes to the feeds as the running bot's watchers are."""
    clock = SystemClock()
    announcer = Announcer(AnnouncementsConfig(), catalogue("fr"), PARIS)
    rooms = HubRooms(db, clock)
    rooms.rooms = list(ROOMS)  # as resolved at start; organisers hear in the same rooms
    recorder = PollRecorder(MatrixPostbox(clock, None, rooms), announcer, date_notice=True)
    return FeedWatcher(
        FeedSettings.from_config(FeedConfig(url=url), PARIS),
        db=db,
        fetcher=fetcher,
        recorder=recorder,
        clock=clock,
        audience=rooms,
        rng=random.Random(1),
        changes=FeedChanges(),
    )


class StaticFetcher:
    """Hands its body over every time, as a changed feed (no network)."""

    def __init__(self, body: bytes) -> None:
        self.set(body)

    def set(self, body: bytes) -> None:
        self.body = body
        self.validators = Validators(None, None, hashlib.sha256(body).hexdigest())

    async def fetch(self, url: str, previous: Validators) -> FetchResult:
        return FetchResult("fetched", self.body, self.validators, 200, "application/rss+xml")


async def serve(body: bytes) -> tuple[web.AppRunner, str]:
    """The feed on 127.0.0.1, with an ETag and 304 for a client that has it."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"ETag": etag}, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/infolettre.xml", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/infolettre.xml"


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    """Milliseconds ``work`` takes, starting from a collected heap (no garbage left to others)."""
    gc.collect()
    start = time.perf_counter()
    await work()
    return (time.perf_counter() - start) * 1000


async def not_modified_polls(db: Database, polls: int) -> list[float]:
    """Milliseconds per poll of an unchanged feed answered 304."""
    runner, url = await serve(FEED.read_bytes())
    try:
        async with guarded_session(AddressPolicy.allowing(["127.0.0.1"])) as http:
            fetcher = FeedFetcher(http, user_agent=user_agent("bench", None))
            polling = watcher(db, url, fetcher)
            await polling.poll_once()  # the first, silent poll stores the ETag
            times = []
            for _ in range(polls):
                times.append(await timed(polling.poll_once))
            assert (await polling.poll_once()).outcome == "not_modified"
            return times
    finally:
        await runner.cleanup()


def feedparser_alone(body: bytes, **options: bool) -> None:
    """``feedparser.parse`` on the body, with the headers ``bot.feeds.parse`` gives it."""
    headers = {"content-location": FEED_URL, "content-type": DEFAULT_CONTENT_TYPE}
    feedparser.parse(io.BytesIO(body), response_headers=headers, **options)


def with_new_item(body: bytes, run: int) -> bytes:
    """The feed with one more newsletter, of today, on top (its oldest item falls off): 1 new,
    19 known."""
    text = body.decode()
    first = text.index("<item>")
    end = text.index("</item>", first) + len("</item>")
    item = text[first:end].replace("infolettre_26", f"infolettre_{1000 + run}")
    today = format_datetime(SystemClock().now(), usegmt=True)
    item = re.sub("<pubDate>.*?</pubDate>", f"<pubDate>{today}</pubDate>", item, count=1)
    last = text.rindex("<item>")
    return (
        text[:first] + item + "\n" + text[first:last] + text[text.index("</channel>") :]
    ).encode()


Poll = Callable[[], Awaitable[object]]
Prepare = Callable[[int], Poll]  # run number -> that run's poll, its input ready, not timed
OPTIONS = {"sanitize_html": False, "resolve_relative_uris": False}


async def one_new_item(db: Database, body: bytes) -> Prepare:
    """Polls of a known feed that gained one newsletter since the last poll."""
    fetcher = StaticFetcher(body)
    steady = watcher(db, "https://ssphub.netlify.app/bench/steady.xml", fetcher)
    await steady.poll_once()

    def prepare(run: int) -> Poll:
        fetcher.set(with_new_item(body, run))  # what the network would hand over
        return steady.poll_once

    return prepare


async def all_known(db: Database, body: bytes) -> Prepare:
    """Polls of a changed body whose items are all stored already."""
    known = watcher(db, "https://ssphub.netlify.app/bench/known.xml", StaticFetcher(body))
    await known.poll_once()
    return lambda run: known.poll_once


async def first_poll(db: Database, body: bytes) -> Prepare:
    """The first poll of a new feed (its row created, its 20 items stored)."""
    return lambda run: (
        watcher(db, f"https://bench.example/{run}.xml", StaticFetcher(body)).poll_once
    )


async def paired(
    db: Database, body: bytes, scenario: Callable[..., Awaitable[Prepare]], runs: int
) -> tuple[list[float], list[float]]:
    """Feedparser alone and the scenario's poll, alternately: (feedparser times, poll times).
    Each poll's input (the feed's next bytes) is made before its timing starts."""
    prepare = await scenario(db, body)
    alone: list[float] = []
    polls: list[float] = []
    for run in range(runs):
        alone.append(await timed(lambda: _thread(feedparser_alone, body, **OPTIONS)))
        polls.append(await timed(prepare(run)))
    return alone, polls


async def _thread(function: Callable[..., None], *args: object, **kwargs: bool) -> None:
    await asyncio.to_thread(function, *args, **kwargs)


async def main(polls: int, runs: int) -> None:
    body = padded_feed()
    results: dict[str, tuple[list[float], list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, scenario in (("304", None), ("new", one_new_item), ("known", all_known),
                               ("first", first_poll)):  # fmt: skip
            # A database per scenario: one's WAL checkpoints never land in another's timings.
            url = f"sqlite+aiosqlite:///{Path(tmp) / name}.db"
            await migrate.upgrade(url)
            db = Database(url)
            try:
                if scenario is None:
                    unchanged = await not_modified_polls(db, polls)
                else:
                    results[name] = await paired(db, body, scenario, runs)
            finally:
                await db.dispose()
    defaults = [await timed(lambda: _thread(feedparser_alone, body)) for _ in range(5)]
    report(unchanged, results, defaults, len(body))


def report(
    unchanged: list[float],
    results: dict[str, tuple[list[float], list[float]]],
    defaults: list[float],
    size: int,
) -> None:
    median = statistics.median
    p95 = sorted(unchanged)[int(0.95 * (len(unchanged) - 1))]
    print(
        f"(a) unchanged feed, 304: median {median(unchanged):.2f} ms, p95 {p95:.2f} ms per poll "
        f"over {len(unchanged)} polls (HTTP on loopback + the unit of work, SQLite)"
    )
    runs = len(next(iter(results.values()))[0])
    print(f"(b) {size / 1e6:.2f} MB, 20 items, {runs} runs; each poll runs right after a")
    print("    feedparser.parse of the same bytes (same options and headers, worker thread).")
    print("    median ratio (noisy on a shared machine) · ratio of the minimums (intrinsic cost):")
    for key, label in (
        ("new", "1 new item stored + announced to 2 rooms"),
        ("known", "changed feed, all 20 items known       "),
        ("first", "first poll of a new feed, 20 stored    "),
    ):
        alone, polls = results[key]
        ratio = median(polls) / median(alone)
        print(
            f"    {label} {median(polls):6.1f} vs {median(alone):6.1f} ms  {ratio:.2f} x"
            f"  · {min(polls):6.1f} vs {min(alone):6.1f} ms  {min(polls) / min(alone):.2f} x"
        )
    print("    target: at most 1.20 x feedparser alone")
    print(f"    (feedparser with its defaults: {median(defaults):.0f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=200, help="304 polls to time")
    parser.add_argument("--runs", type=int, default=21, help="interleaved runs of (b)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.polls, arguments.runs))
