"""Hostile feeds and failures: classified, recorded, backed off; crashes never lose or repeat."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.feeds.record import PollReport
from bot.feeds.watch import FeedWatcher
from bot.feeds.watchers import FeedWatchers
from bot.matrix.postbox import MatrixPostbox
from bot.messages import Message
from bot.services.rooms import HubRooms
from bot.storage import feeds
from bot.storage.feeds import FeedState
from bot.storage.models import FeedRow
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import items, with_items
from tests.feeds.rig import ROOMS, Rig, database_url, db, postgres_database_url, rig
from tests.polling import until

__all__ = ["database_url", "db", "postgres_database_url", "rig"]

NEWSLETTERS = load_feed("infolettre").decode()
HOSTILE_TITLE = "&lt;script&gt;alert(1)&lt;/script&gt;Réunion @room &lt;b&gt;importante&lt;/b&gt;"
HOSTILE_ITEM = f"""<item>
  <title>{HOSTILE_TITLE}</title>
  <link>https://ssphub.netlify.app/infolettre/infolettre_27/</link>
  <description><![CDATA[<script>fetch('https://evil.example')</script>
    <p onclick="x()">Venez nombreux @room <img src=x onerror=alert(1)> !</p>]]></description>
  <guid>https://ssphub.netlify.app/infolettre/infolettre_27/</guid>
  <pubDate>Tue, 07 Jul 2026 00:00:00 GMT</pubDate>
</item>"""
BARE_ITEM = "<item><link>https://ssphub.netlify.app/infolettre/infolettre_28/</link></item>"


async def stored(rig: Rig, url: str) -> FeedState:
    async with rig.db.session() as session:
        state = await feeds.find_feed(session, url)
    assert state is not None
    return state


async def polled_once(rig: Rig, **options: Any) -> FeedWatcher:
    """A watcher of the newsletter feed after its silent first poll."""
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    watcher = rig.watcher("/infolettre.xml", **options)
    await watcher.poll_once()
    return watcher


def newsletters_with(*extra: str) -> str:
    return with_items(NEWSLETTERS, [*extra, *items(NEWSLETTERS)])


async def test_script_and_room_pings_in_a_feed_are_defused(rig: Rig) -> None:
    """Markup in a title or description is shown as text or dropped; @room pings nobody."""
    watcher = await polled_once(rig)
    rig.server.serve("/infolettre.xml", newsletters_with(HOSTILE_ITEM))
    await watcher.poll_once()
    queued = await rig.queued()
    assert len(queued) == 2
    for q in queued:
        html = q.content["formatted_body"]
        for shown in (q.body, html):
            assert "<script" not in shown and "alert(1)" not in shown and "onerror" not in shown
            assert "@room" not in shown and "@\u2060room" in shown
        assert "<b>" not in html and "onclick" not in html
        assert q.content["m.mentions"] == {"user_ids": []}
    assert queued[0].body.startswith("📰 Nouvelle infolettre n°27 — Réunion @\u2060room importante")


async def test_item_without_guid_date_or_title_gets_fallbacks(rig: Rig) -> None:
    """An item with nothing but a link is announced under a title made from its link."""
    watcher = await polled_once(rig)
    rig.server.serve("/infolettre.xml", newsletters_with(BARE_ITEM))
    report = await watcher.poll_once()
    assert len(report.announced) == 1
    assert (await rig.queued())[0].body.startswith("📰 Nouvelle infolettre n°28 — Infolettre 28")


async def test_malformed_xml_is_recorded_and_retried_with_backoff(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage instead of a feed is a parse error: logged, counted, retried later, then healed."""
    watcher = await polled_once(rig)
    rig.server.serve("/infolettre.xml", b"\x00<<<this is not xml at all")
    with caplog.at_level(logging.WARNING):
        first = await watcher.poll_once()
        second = await watcher.poll_once()
    assert (first.error_kind, second.error_kind) == ("parse", "parse")
    assert first.next_delay >= 300 and second.next_delay >= 300
    state = await stored(rig, watcher.url)
    assert (state.consecutive_failures, state.last_error_kind) == (2, "parse")
    assert state.next_poll_at == rig.clock.now() + timedelta(seconds=second.next_delay)
    assert "poll failed (parse" in caplog.text
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    healed = await watcher.poll_once()
    assert (healed.outcome, healed.error_kind) == ("not_modified", None)
    assert (await stored(rig, watcher.url)).consecutive_failures == 0


@pytest.mark.parametrize(
    ("route", "kind"),
    [
        ({"status": 500, "headers": {"Retry-After": "900"}}, "http_5xx"),
        ({"status": 404}, "http_4xx"),
        ({"body": b"x" * (20 * 1024 * 1024)}, "too_large"),
    ],
)
async def test_http_failures_are_classified_and_recorded(
    rig: Rig, route: dict[str, Any], kind: str
) -> None:
    """Server errors, missing feeds and oversized bodies are recorded with their kind."""
    watcher = await polled_once(rig)
    options = {key: value for key, value in route.items() if key != "body"}
    rig.server.serve("/infolettre.xml", route.get("body", b""), **options)
    report = await watcher.poll_once()
    assert report.error_kind == kind
    assert (await stored(rig, watcher.url)).last_error_kind == kind
    if kind == "http_5xx":
        assert report.next_delay >= 900


async def test_redirect_loop_is_a_recorded_error(rig: Rig) -> None:
    """A feed redirecting to itself forever fails as "redirects"."""
    url = rig.server.serve("/loop.xml", b"")
    rig.server.serve("/loop.xml", b"", status=302, headers={"Location": url})
    report = await rig.watcher("/loop.xml").poll_once()
    assert report.error_kind == "redirects"


async def test_a_hanging_feed_does_not_delay_another(rig: Rig) -> None:
    """While one feed's server never answers, another feed is polled and done first."""
    rig.server.serve("/slow.xml", NEWSLETTERS, hang=True)
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    slow = rig.watcher("/slow.xml", timeout=0.5)
    good = rig.watcher("/infolettre.xml")
    finished: list[str] = []

    async def poll(name: str, watcher: FeedWatcher) -> PollReport:
        report = await watcher.poll_once()
        finished.append(name)
        return report

    slow_report, good_report = await asyncio.gather(poll("slow", slow), poll("good", good))
    assert finished == ["good", "slow"]
    assert (slow_report.error_kind, good_report.outcome) == ("timeout", "fetched")
    assert (await stored(rig, slow.url)).last_error_kind == "timeout"


async def test_feed_tasks_poll_independently_and_stop_cleanly(rig: Rig) -> None:
    """In their own tasks, a fast feed polls on while a slow one hangs; stop ends both."""
    rig.server.serve("/slow.xml", NEWSLETTERS, hang=True)
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    slow = rig.watcher("/slow.xml", timeout=30)
    good = rig.watcher("/infolettre.xml")
    good.settings = dataclasses.replace(good.settings, interval=0.01)
    watchers = FeedWatchers([slow, good], grace=0)
    stop = asyncio.Event()
    running = asyncio.create_task(watchers.run(stop))

    async def polled_thrice() -> bool:
        return await polls(rig, good.url) >= 3

    await until(polled_thrice, timeout=10, what="three polls of the fast feed")
    assert await polls(rig, slow.url) == 0
    stop.set()
    await running
    assert len(watchers.tasks) == 0


async def polls(rig: Rig, url: str) -> int:
    async with rig.db.session() as session:
        return int(await session.scalar(select(FeedRow.polls).where(FeedRow.url == url)) or 0)


class CrashAfterPost(MatrixPostbox):
    """A postbox that writes the outbox row, then fails before the unit of work can commit."""

    async def post(
        self, session: AsyncSession, message: Message, *, dedupe_key: str | None = None
    ) -> int:
        await super().post(session, message, dedupe_key=dedupe_key)
        raise RuntimeError("the process died here")


async def test_crash_before_commit_leaves_nothing_and_the_next_poll_announces(rig: Rig) -> None:
    """A failure after the outbox row is written rolls the whole poll back; nothing is lost."""
    rig.server.serve("/infolettre.xml", with_items(NEWSLETTERS, items(NEWSLETTERS)[1:]))
    await rig.watcher("/infolettre.xml").poll_once()
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    crashing = rig.watcher(
        "/infolettre.xml", postbox=CrashAfterPost(rig.clock, None, HubRooms(rig.db, rig.clock))
    )
    assert (await crashing.poll_once()).error_kind == "internal"
    assert await rig.queued() == []
    assert "Le prix de statistiques indépendantes" not in await rig.items()
    report = await rig.watcher("/infolettre.xml").poll_once()
    assert (report.outcome, len(report.announced)) == ("fetched", 1)
    assert sorted(q.room_id for q in await rig.queued()) == sorted(ROOMS)


async def test_polling_again_with_lost_validators_never_repeats(rig: Rig) -> None:
    """Re-reading the same batch (validators forgotten) finds every item known: no new rows."""
    rig.server.serve("/infolettre.xml", with_items(NEWSLETTERS, items(NEWSLETTERS)[1:]))
    watcher = rig.watcher("/infolettre.xml")
    await watcher.poll_once()
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    await watcher.poll_once()
    for _ in range(2):
        async with rig.db.session() as session:
            await session.execute(update(FeedRow).values(etag=None, body_hash=None))
        report = await rig.watcher("/infolettre.xml").poll_once()  # as after a restart
        assert (report.outcome, report.new, report.announced) == ("fetched", 0, [])
    assert len(await rig.queued()) == 2 and await rig.deliveries() == 2


CONTROL_ITEM = """<item>
  <title>Infolettre\x00 n°29\x1b[2J \u202eeuqidép</title>
  <link>https://ssphub.netlify.app/infolettre/infolettre_29/</link>
  <description><![CDATA[<p>Résumé\x00 avec\x1b]0;titre\x07 des contrôles</p>]]></description>
  <guid>https://ssphub.netlify.app/infolettre/infolettre_29/</guid>
  <pubDate>Tue, 07 Jul 2026 00:00:00 GMT</pubDate>
</item>"""


async def test_control_characters_in_a_feed_are_never_stored_nor_announced(rig: Rig) -> None:
    """A NUL, terminal escapes and a bidi override in an item: the poll succeeds on every
    database (PostgreSQL refuses NUL in text), the item is stored and announced without them."""
    watcher = await polled_once(rig)
    rig.server.serve("/infolettre.xml", newsletters_with(CONTROL_ITEM))
    report = await watcher.poll_once()
    assert report.error_kind is None and len(report.announced) == 1
    stored_items = await rig.items()
    assert "Infolettre n°29[2J euqidép" in stored_items
    queued = await rig.queued()
    assert len(queued) == len(ROOMS)
    for announced in queued:
        for shown in (announced.body, announced.content["formatted_body"]):
            assert not [c for c in shown if (ord(c) < 0x20 and c != "\n") or c == "\u202e"]
        assert "Résumé avec]0;titre des contrôles" in announced.body
