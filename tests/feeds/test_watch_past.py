"""The watcher never announces the past: the site's restructuring replayed on its real feeds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.feeds.feedserver import items, with_items
from tests.feeds.layouts import (
    EVENTS,
    NEWSLETTERS,
    OLDEST_EVENTS,
    RETURNED_EVENTS,
    RETURNED_NEWSLETTERS,
    old_event_feed,
    old_newsletter_feed,
    with_newsletter,
)
from tests.feeds.rig import ROOMS, Rig, database_url, db, postgres_database_url, rig

__all__ = ["database_url", "db", "postgres_database_url", "rig"]

BEFORE = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)  # the bot watches the site before 2026-05
AFTER = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # and polls the restructured site in December


def move_to(rig: Rig, moment: datetime) -> None:
    rig.clock.advance((moment - rig.clock.now()).total_seconds())


@pytest.mark.parametrize("dropped", [RETURNED_EVENTS, OLDEST_EVENTS], ids=["seen", "by-date"])
async def test_the_restructured_event_feed_announces_nothing_past(
    rig: Rig, dropped: tuple[str, ...]
) -> None:
    """The /talk/ feed, then the /event/ feed with four old events back: all four are recorded
    as past events, and nothing is sent."""
    move_to(rig, BEFORE)
    rig.server.serve("/event.xml", old_event_feed(dropped))
    watcher = rig.watcher("/event.xml", default_kind="event")
    assert (await watcher.poll_once()).batch == 16
    move_to(rig, AFTER)
    rig.server.serve("/event.xml", EVENTS)
    report = await watcher.poll_once()
    assert (report.batch, report.new, report.old, report.flood, report.announced) == (
        20, 4, 4, False, [],
    )  # fmt: skip
    stored = await rig.items()
    assert {title: stored[title].status for title in dropped} == dict.fromkeys(
        dropped, "past_event"
    )
    assert await rig.queued() == []


async def test_restructuring_then_a_new_newsletter_posts_only_the_newsletter(rig: Rig) -> None:
    """Old layout, new layout (old items back in both feeds), then a new newsletter: the
    newsletter is the one message, once in each room."""
    move_to(rig, BEFORE)
    events = rig.watcher("/event.xml", default_kind="event")
    newsletters = rig.watcher("/infolettre.xml")
    rig.server.serve("/event.xml", old_event_feed())
    rig.server.serve("/infolettre.xml", old_newsletter_feed())
    for watcher in (events, newsletters):
        await watcher.poll_once()
    move_to(rig, AFTER)
    rig.server.serve("/event.xml", EVENTS)
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    reports = [await events.poll_once(), await newsletters.poll_once()]
    assert [(r.new, r.old, r.announced) for r in reports] == [(4, 4, []), (2, 2, [])]
    stored = await rig.items()
    assert {stored[title].status for title in stored if title.startswith(RETURNED_NEWSLETTERS)} == {
        "older_than_newest"
    }
    rig.clock.advance(3600)
    rig.server.serve("/infolettre.xml", with_newsletter(NEWSLETTERS, 27, AFTER, "Bilan 2026"))
    assert len((await newsletters.poll_once()).announced) == 1
    assert (await events.poll_once()).outcome == "not_modified"
    queued = await rig.queued()
    assert sorted(q.room_id for q in queued) == sorted(ROOMS)
    assert {q.body.splitlines()[0] for q in queued} == {"📰 Nouvelle infolettre n°27 — Bilan 2026"}


async def test_two_new_newsletters_in_a_three_item_feed_are_both_announced(rig: Rig) -> None:
    """A three-item feed where two newsletters are new trips no breaker: both are announced."""
    move_to(rig, AFTER)
    newest = items(NEWSLETTERS)[0]
    rig.server.serve("/infolettre.xml", with_items(NEWSLETTERS, [newest]))
    watcher = rig.watcher("/infolettre.xml", rooms=ROOMS[:1])
    await watcher.poll_once()
    grown = with_newsletter(with_items(NEWSLETTERS, [newest]), 27, AFTER, "Bilan 2026")
    grown = with_newsletter(grown, 28, AFTER, "Vœux 2027")
    rig.server.serve("/infolettre.xml", grown)
    report = await watcher.poll_once()
    assert (report.batch, report.new, report.flood, len(report.announced)) == (3, 2, False, 2)
    assert [q.body.splitlines()[0] for q in await rig.queued()] == [
        "📰 Nouvelle infolettre n°27 — Bilan 2026",
        "📰 Nouvelle infolettre n°28 — Vœux 2027",
    ]


@pytest.mark.parametrize(
    ("options", "status"), [({}, "too_old"), ({"max_age_days": 30}, "announced")]
)
async def test_a_newsletter_published_weeks_ago_is_too_old_unless_the_feed_allows_it(
    rig: Rig, options: dict[str, int], status: str
) -> None:
    """A newsletter showing up three weeks after its date is recorded silently with the default
    limit of 14 days, and announced by a feed configured with max_age_days 30."""
    move_to(rig, AFTER)
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    watcher = rig.watcher("/infolettre.xml", rooms=ROOMS[:1], **options)
    await watcher.poll_once()
    late = datetime(2026, 11, 10, tzinfo=UTC)
    rig.server.serve("/infolettre.xml", with_newsletter(NEWSLETTERS, 27, late, "En retard"))
    report = await watcher.poll_once()
    assert (await rig.items())["En retard"].status == status
    assert len(await rig.queued()) == len(report.announced) == (status == "announced")
