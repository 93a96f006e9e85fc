"""Memory at each feed change: RSS, threads and traced Python allocations around changed polls.

In-process, with the bot's own production watchers (bench/feeds.py builds them) on SQLite: the
hub's event and newsletter feeds flip between the two site builds of the soak (bench/soak_feeds.py)
at every round, so each round is one changed poll of each feed, the two run together as the bot's
two feed loops may, followed by unchanged polls. After each round, from a collected heap: VmRSS
and VmHWM from /proc, the process's threads, and (``--trace``) the bytes tracemalloc holds. With
``--trace`` the end lists the call sites that grew most from the second round to the last: what
a changed poll leaves behind. tracemalloc's own bookkeeping inflates RSS; read RSS without it.

    python bench/feed_memory.py [--rounds 40] [--pad 25000] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import threading
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from feeds import StaticFetcher, padded, watcher
from processes import memory
from soak_feeds import builds

from bot.storage import migrate
from bot.storage.db import Database

UNCHANGED_POLLS = 3
TOP = 12
URLS = (
    "https://ssphub.netlify.app/event.xml",
    "https://ssphub.netlify.app/infolettre/infolettre.xml",
)


def threads() -> int:
    """The threads of this process, as /proc lists them."""
    return len(os.listdir("/proc/self/task"))


async def rounds(db: Database, count: int, pad: int, trace: bool) -> list[tracemalloc.Snapshot]:
    """Flip the feeds ``count`` times, printing a line per round; the snapshots taken."""
    site = [[padded(body, pad).encode() for body in build] for build in builds(datetime.now(UTC))]
    fetchers = [StaticFetcher(body) for body in site[0]]
    watchers = [watcher(db, url, fetcher) for url, fetcher in zip(URLS, fetchers, strict=True)]
    await asyncio.gather(*(w.poll_once() for w in watchers))  # the silent first polls
    snapshots = []
    base = memory(os.getpid()).rss_kib
    print(f"{'round':>5}{'RSS MiB':>9}{'step':>7}{'peak':>8}{'threads':>8}{'traced MiB':>11}")
    previous = base
    for n in range(1, count + 1):
        for fetcher, body in zip(fetchers, site[n % 2], strict=True):
            fetcher.set(body)
        await asyncio.gather(*(w.poll_once() for w in watchers))
        for _ in range(UNCHANGED_POLLS):
            await asyncio.gather(*(w.poll_once() for w in watchers))
        gc.collect()
        used = memory(os.getpid())
        traced = f"{tracemalloc.get_traced_memory()[0] / 2**20:11.2f}" if trace else f"{'-':>11}"
        if trace:  # the second round's and the latest: each kept snapshot costs RSS
            snapshots[1:] = [*snapshots[1:2], tracemalloc.take_snapshot()]
        step = (used.rss_kib - previous) / 1024
        print(f"{n:5d}{used.rss_kib / 1024:9.1f}{step:+7.1f}{used.hwm_kib / 1024:8.1f}"
              f"{threads():8d}{traced}", flush=True)  # fmt: skip
        previous = used.rss_kib
    print(f"RSS after {count} changed rounds: {(previous - base) / 1024:+.1f} MiB from the first")
    print("threads:", ", ".join(sorted(thread.name for thread in threading.enumerate())))
    return snapshots


def growth(snapshots: list[tracemalloc.Snapshot]) -> None:
    """The call sites holding more at the last round than at the second."""
    if len(snapshots) < 3:
        return
    diff = snapshots[-1].compare_to(snapshots[1], "lineno")
    print("grown most from round 2 to the last (traced bytes):")
    for stat in diff[:TOP]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+6d} blocks  {stat.traceback}")


async def main(count: int, pad: int, trace: bool) -> None:
    if trace:
        tracemalloc.start(1)
    with tempfile.TemporaryDirectory(prefix="ssphub-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'feeds.db'}"
        await migrate.upgrade(url)
        db = Database(url)
        try:
            snapshots = await rounds(db, count, pad, trace)
        finally:
            await db.dispose()
    growth(snapshots)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="feed changes (flips)")
    parser.add_argument("--pad", type=int, default=0, help="bytes added to each description")
    parser.add_argument("--trace", action="store_true", help="tracemalloc snapshots per round")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.pad, arguments.trace))
