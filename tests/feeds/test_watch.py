"""Watching the hub's real feeds from a local server: silent first poll, announced once."""

from __future__ import annotations

import random

from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import items, retitle, with_items
from tests.feeds.rig import ORGANISERS, ROOMS, Rig, database_url, db, postgres_database_url, rig

__all__ = ["database_url", "db", "postgres_database_url", "rig"]

EVENTS = load_feed("event").decode()
NEWSLETTERS = load_feed("infolettre").decode()
HOME = load_feed("index").decode()


def without_newest(xml: str, count: int = 1) -> str:
    """The feed as it was before its ``count`` newest items were published."""
    return with_items(xml, items(xml)[count:])


async def test_first_poll_records_everything_silently(rig: Rig) -> None:
    """The first poll of a feed stores its 20 items and sends nothing."""
    rig.server.serve("/event.xml", EVENTS)
    report = await rig.watcher("/event.xml").poll_once()
    assert (report.outcome, report.batch, report.new, report.announced) == ("fetched", 20, 20, [])
    assert await rig.queued() == []
    statuses = {row.status for row in (await rig.items()).values()}
    assert statuses == {"recorded_silently", "filtered"}  # the site-root item is of kind "other"


async def test_first_poll_may_announce_the_latest_items(rig: Rig) -> None:
    """With announce_latest 2, the first poll announces the two newest items, oldest first."""
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    report = await rig.watcher("/infolettre.xml", announce_latest=2).poll_once()
    assert len(report.announced) == 2
    bodies = [q.body.splitlines()[0] for q in await rig.queued() if q.room_id == ROOMS[0]]
    assert [body.split(" — ")[0] for body in bodies] == [
        "📰 Nouvelle infolettre n°25",
        "📰 Nouvelle infolettre n°26",
    ]


async def test_a_new_item_is_announced_once_in_each_room(rig: Rig) -> None:
    """A newsletter published after the first poll is announced once per room, never again."""
    rig.server.serve("/infolettre.xml", without_newest(NEWSLETTERS))
    watcher = rig.watcher("/infolettre.xml")
    await watcher.poll_once()
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    report = await watcher.poll_once()
    assert (report.new, len(report.announced)) == (1, 1)
    for _ in range(2):
        await watcher.poll_once()
    queued = await rig.queued()
    assert sorted(q.room_id for q in queued) == sorted(ROOMS)
    assert all(q.body.startswith("📰 Nouvelle infolettre n°26 — ") for q in queued)
    assert await rig.deliveries() == 2


async def test_announcement_reads_well_and_carries_the_item_as_data(rig: Rig) -> None:
    """An event announcement gives title, French dates, place, summary and link, and the data."""
    rig.server.serve("/event.xml", without_newest(EVENTS))
    watcher = rig.watcher("/event.xml")
    await watcher.poll_once()
    rig.server.serve("/event.xml", EVENTS)
    await watcher.poll_once()
    content = (await rig.queued())[0].content
    lines = content["body"].splitlines()
    assert lines[0] == (
        "📅 Journées data science & open-source — du mardi 16 au mercredi 17 juin 2026"
    )
    assert lines[1] == "📍 Lieu de la transformation publique, 77 avenue de Ségur, 75015 Paris"
    assert lines[-1] == "https://ssphub.netlify.app/event/2026-06-jdos/"
    assert len(lines[2]) <= 300
    assert content["m.mentions"] == {"user_ids": []}
    assert '<a href="https://ssphub.netlify.app/event/2026-06-jdos/"' in content["formatted_body"]
    data = content["org.ssphub.bot"]["feed_item"]
    assert (data["kind"], data["event"]["all_day"]) == ("event", True)
    assert data["event"]["start"] == "2026-06-15T22:00:00+00:00"


async def test_unchanged_feed_is_answered_with_304_and_does_nothing(rig: Rig) -> None:
    """The second poll sends the stored ETag, gets 304, and queues nothing."""
    rig.server.serve("/event.xml", EVENTS)
    watcher = rig.watcher("/event.xml")
    await watcher.poll_once()
    report = await watcher.poll_once()
    assert report.outcome == "not_modified"
    assert rig.server.requests == [("/event.xml", 200), ("/event.xml", 304)]
    assert await rig.queued() == []


async def test_reordered_feed_announces_nothing(rig: Rig) -> None:
    """The same items in another order are all known: nothing is new."""
    rig.server.serve("/event.xml", EVENTS)
    watcher = rig.watcher("/event.xml")
    await watcher.poll_once()
    shuffled = items(EVENTS)
    random.Random(3).shuffle(shuffled)
    rig.server.serve("/event.xml", with_items(EVENTS, shuffled))
    report = await watcher.poll_once()
    assert (report.outcome, report.new, report.edited) == ("fetched", 0, 0)
    assert await rig.queued() == []


async def test_feed_that_shrinks_and_grows_back_announces_nothing(rig: Rig) -> None:
    """Items that leave the feed and come back are still known."""
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    watcher = rig.watcher("/infolettre.xml")
    await watcher.poll_once()
    rig.server.serve("/infolettre.xml", with_items(NEWSLETTERS, items(NEWSLETTERS)[:5]))
    await watcher.poll_once()
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    report = await watcher.poll_once()
    assert (report.outcome, report.new) == ("fetched", 0)
    assert await rig.queued() == []


async def test_edited_title_updates_the_item_without_announcing_it(rig: Rig) -> None:
    """A known item whose title changed is updated in place, and not announced as new."""
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    watcher = rig.watcher("/infolettre.xml")
    await watcher.poll_once()
    blocks = items(NEWSLETTERS)
    blocks[3] = retitle(blocks[3], "Infolettre corrigée")
    rig.server.serve("/infolettre.xml", with_items(NEWSLETTERS, blocks))
    report = await watcher.poll_once()
    assert (report.new, report.edited) == (0, 1)
    assert "Infolettre corrigée" in await rig.items()
    assert await rig.queued() == []


async def test_old_layout_and_other_base_urls_are_the_same_items(rig: Rig) -> None:
    """/talk/ links, a deploy preview and a configured second domain do not make items new."""
    talk = EVENTS.replace("ssphub.netlify.app/event/", "ssphub.netlify.app/talk/")
    rig.server.serve("/event.xml", talk)
    watcher = rig.watcher(
        "/event.xml", base_urls=("https://ssphub.netlify.app", "https://ssphub.insee.fr")
    )
    await watcher.poll_once()
    for site in ("deploy-preview-42--ssphub.netlify.app", "ssphub.insee.fr", "ssphub.netlify.app"):
        rig.server.serve("/event.xml", EVENTS.replace("ssphub.netlify.app", site))
        report = await watcher.poll_once()
        assert (report.outcome, report.new, report.flood) == ("fetched", 0, False)
    assert await rig.queued() == []


async def test_all_new_identities_trip_the_breaker(rig: Rig) -> None:
    """When every item looks new, the newest is announced, the other coming events held, the
    past ones recorded as past, and the organisers told once."""
    rig.server.serve("/event.xml", EVENTS)
    watcher = rig.watcher("/event.xml")
    await watcher.poll_once()
    moved = EVENTS.replace("ssphub.netlify.app", "ssphub.example.org")
    rig.server.serve("/event.xml", moved.replace("<title>", "<title>Nouveau : "))
    report = await watcher.poll_once()
    assert report.flood and len(report.announced) == 1
    assert (report.held, report.old) == (2, 16)  # on 2 March 2026: 3 events to come, 16 past
    queued = await rig.queued()
    notices = [q for q in queued if q.room_id == ORGANISERS]
    assert len(notices) == 1 and "20 éléments sur 20" in notices[0].body
    assert "Journées data science" in notices[0].body
    announced = [q for q in queued if q.room_id != ORGANISERS]
    assert sorted(q.room_id for q in announced) == sorted(ROOMS)
    assert all("Nouveau : Journées data science" in q.body for q in announced)


async def test_announcements_are_capped_per_poll_and_the_rest_follow(rig: Rig) -> None:
    """Over the cap, the oldest new items go first and the others on the next (unchanged) poll."""
    rig.server.serve("/infolettre.xml", without_newest(NEWSLETTERS, 4))
    watcher = rig.watcher("/infolettre.xml", max_per_poll=3, rooms=ROOMS[:1], flood_share=0.9)
    await watcher.poll_once()
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    first = await watcher.poll_once()
    second = await watcher.poll_once()
    assert (len(first.announced), second.outcome, len(second.announced)) == (3, "not_modified", 1)
    numbers = [q.body.split("n°")[1][:2] for q in await rig.queued()]
    assert numbers == ["23", "24", "25", "26"]


async def test_kinds_the_feed_does_not_announce_are_filtered(rig: Rig) -> None:
    """In the mixed home feed, a new project is recorded as filtered, a new newsletter announced."""
    blocks = items(HOME)
    project = next(i for i, block in enumerate(blocks) if "/project/" in block)
    rest = [b for i, b in enumerate(blocks) if i not in (0, project)]
    rig.server.serve("/index.xml", with_items(HOME, rest))
    watcher = rig.watcher("/index.xml")
    await watcher.poll_once()
    rig.server.serve("/index.xml", HOME)
    report = await watcher.poll_once()
    assert (report.new, len(report.announced)) == (2, 1)
    statuses = sorted(
        row.status for row in (await rig.items()).values() if row.first_seen_poll == 2
    )
    assert statuses == ["announced", "filtered"]


async def test_without_rooms_new_items_wait_instead_of_being_lost(rig: Rig) -> None:
    """When no room is resolved yet, new items are deferred and announced once rooms exist."""
    rig.server.serve("/infolettre.xml", without_newest(NEWSLETTERS))
    await rig.watcher("/infolettre.xml", rooms=()).poll_once()
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    report = await rig.watcher("/infolettre.xml", rooms=()).poll_once()
    assert (report.new, report.announced) == (1, [])
    later = await rig.watcher("/infolettre.xml").poll_once()
    assert len(later.announced) == 1 and len(await rig.queued()) == 2


async def test_the_dedupe_window_keeps_twice_the_feed_and_never_current_items(rig: Rig) -> None:
    """After many new items the ones gone longest are forgotten: 50 kept, the current 20 too."""
    blocks = items(NEWSLETTERS)
    template = blocks[0]
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    watcher = rig.watcher("/infolettre.xml", rooms=ROOMS[:1])
    await watcher.poll_once()
    for n in range(100, 135):
        fresh = retitle(template.replace("infolettre_26", f"infolettre_{n}"), f"Numéro {n}")
        blocks = [fresh, *blocks[:19]]
        rig.server.serve("/infolettre.xml", with_items(NEWSLETTERS, blocks))
        assert len((await watcher.poll_once()).announced) == 1
    stored = await rig.items()
    assert len(stored) == 50
    assert {f"Numéro {n}" for n in range(115, 135)} <= set(stored)
    assert len(await rig.queued()) == 35
