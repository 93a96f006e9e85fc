"""Feeds are parsed off the loop in one long-lived thread of their own, overlapping polls too."""

from __future__ import annotations

import asyncio
import threading

from bot.feeds.normalise import NormaliseRules
from bot.feeds.watch import parse_batch, read_batch
from tests.feeds.conftest import load_feed

URL = "https://ssphub.netlify.app/infolettre/infolettre.xml"


def parse_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("feed-parse")]


async def test_overlapping_parses_share_one_thread_and_read_as_inline() -> None:
    """Four parses at once give what read_batch gives, and one parsing thread exists, kept."""
    body, rules = load_feed("infolettre"), NormaliseRules()
    results = await asyncio.gather(*(parse_batch(body, URL, None, rules) for _ in range(4)))
    assert all(result == read_batch(body, URL, None, rules) for result in results)
    first = parse_threads()
    await parse_batch(body, URL, None, rules)
    assert len(first) == 1 and parse_threads() == first
