"""Feeds in the database on every backend: seeded from the configuration at each start, their
setup changed by organisers, every change kept with who made it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import FeedConfig
from bot.feeds.changes import note
from bot.feeds.eventtime import EventTime
from bot.feeds.filters import FilterRules
from bot.feeds.normalise import FeedItem, ItemKind
from bot.feeds.seed import seed
from bot.storage import agenda, feed_items, feed_setup, feeds
from bot.storage.db import Database
from bot.storage.feed_setup import COMMAND, CONFIG, FeedSetup

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
NEWSLETTERS = "https://ssphub.netlify.app/infolettre/infolettre.xml"
EVENTS = "https://ssphub.netlify.app/event.xml"
PARTNER = "https://partenaire.example.org/index.xml"
ORGA = "@orga:localhost"


async def seeded(db: Database, *configured: FeedConfig, now: datetime = NOW) -> list[FeedSetup]:
    """Seed ``configured`` at ``now``; every feed stored afterwards, the removed ones too."""
    async with db.session() as session:
        await seed(session, configured, now)
    async with db.session() as session:
        return await feed_setup.setups(session, removed=True)


async def actions(db: Database, feed_id: int) -> list[tuple[str, str]]:
    """The feed's history as (actor, action), oldest first."""
    async with db.session() as session:
        changes = await feed_setup.history(session, feed_id)
    return [(change.actor, change.action) for change in reversed(changes)]


async def test_configured_feeds_are_added_once_from_config(db: Database) -> None:
    """A first start adds each configured feed, named, "from config"; a second changes nothing."""
    infolettre = FeedConfig(url=NEWSLETTERS, name="Infolettre")
    first = await seeded(db, infolettre, FeedConfig(url=EVENTS))
    again = await seeded(db, infolettre, FeedConfig(url=EVENTS), now=LATER)
    assert [(f.id, f.url, f.name, f.origin, f.active) for f in again] == [
        (1, NEWSLETTERS, "Infolettre", CONFIG, True),
        (2, EVENTS, None, CONFIG, True),
    ]
    assert first == again
    assert await actions(db, 1) == [(CONFIG, "seeded")]


async def test_a_feed_the_file_no_longer_lists_is_removed_and_comes_back_as_new(
    db: Database,
) -> None:
    """Dropped from the file: removed, items kept. Listed again: back, its first poll silent."""
    await seeded(db, FeedConfig(url=NEWSLETTERS), FeedConfig(url=EVENTS))
    async with db.session() as session:
        await feeds.poll_succeeded(
            session, EVENTS, now=NOW, validators=('"v1"', None, "h1"), next_poll_at=NOW,
            largest=20,
        )  # fmt: skip
    (_, gone) = await seeded(db, FeedConfig(url=NEWSLETTERS), now=LATER)
    assert (gone.removed_at, gone.removed_by) == (LATER, CONFIG)
    await seeded(db, FeedConfig(url=NEWSLETTERS), FeedConfig(url=EVENTS), now=LATER)
    async with db.session() as session:
        state = await feeds.find_feed(session, EVENTS)
        back = await feed_setup.find(session, url=EVENTS)
    assert back is not None and back.active
    assert state is not None and not state.first_poll_done and state.etag is None
    assert await actions(db, 2) == [(CONFIG, "seeded"), (CONFIG, "dropped"), (CONFIG, "restored")]


async def test_a_config_feed_removed_by_command_comes_back_but_a_paused_one_stays_paused(
    db: Database,
) -> None:
    """At the next start, a feed removed by command comes back while the file lists it; a
    pause set by command outlives the restart."""
    await seeded(db, FeedConfig(url=NEWSLETTERS), FeedConfig(url=EVENTS))
    async with db.session() as session:
        await feed_setup.change(session, 1, removed_at=NOW, removed_by=ORGA)
        await feed_setup.change(session, 2, paused_at=NOW, paused_by=ORGA)
    found = await seeded(db, FeedConfig(url=NEWSLETTERS), FeedConfig(url=EVENTS), now=LATER)
    assert [(f.removed_at, f.paused_at) for f in found] == [(None, None), (None, NOW)]


async def test_an_organisers_feed_the_file_lists_becomes_a_config_feed_keeping_its_setup(
    db: Database,
) -> None:
    """Adopted by the file: "from config", the file's name, its rooms and filters kept."""
    rules = FilterRules(kinds=(ItemKind.POST,))
    async with db.session() as session:
        added = await feed_setup.create(
            session, PARTNER, name="Partenaire", origin=COMMAND, actor=ORGA, now=NOW
        )
        await feed_setup.change(session, added.id, rooms=["!a:x"], filters=rules.as_data())
    (adopted,) = await seeded(db, FeedConfig(url=PARTNER, name="Le partenaire"), now=LATER)
    assert (adopted.origin, adopted.name, adopted.added_by) == (CONFIG, "Le partenaire", ORGA)
    assert (adopted.rooms, adopted.filters) == (("!a:x",), rules)
    assert await actions(db, added.id) == [(CONFIG, "adopted"), (CONFIG, "renamed")]


async def test_changes_are_kept_with_who_when_and_what(db: Database) -> None:
    """The history reads newest first, with each change's details."""
    (feed,) = await seeded(db, FeedConfig(url=NEWSLETTERS))
    async with db.session() as session:
        await note(session, feed, ORGA, "rooms", LATER, rooms=["!a:x", "!b:x"])
        await note(session, feed, ORGA, "template", LATER, kind="event", template=None)
    async with db.session() as session:
        latest, rooms, seeded_change = await feed_setup.history(session, feed.id)
    assert (latest.actor, latest.at, latest.action) == (ORGA, LATER, "template")
    assert latest.detail == {"kind": "event", "template": None}
    assert rooms.detail == {"rooms": ["!a:x", "!b:x"]}
    assert (seeded_change.actor, seeded_change.detail) == (CONFIG, {})


async def test_the_events_of_a_removed_feed_leave_the_agenda(db: Database) -> None:
    """A removed feed's coming events are no longer listed; a paused feed's still are."""
    (feed,) = await seeded(db, FeedConfig(url=EVENTS))
    start = NOW + timedelta(days=3)
    link = "https://ssphub.netlify.app/event/atelier/"
    event = EventTime(start, None, False, True, None)
    atelier = FeedItem(link, ItemKind.EVENT, "Atelier", link, "", start, None, event, link, "f")
    async with db.session() as session:
        await feed_items.add_items(session, feed.id, [(atelier, "announced")], now=NOW, poll=1)
        await feed_setup.change(session, feed.id, paused_at=NOW, paused_by=ORGA)
    async with db.session() as session:
        assert [e.title for e in await agenda.events_from(session, NOW)] == ["Atelier"]
        await feed_setup.change(session, feed.id, removed_at=NOW, removed_by=ORGA)
    async with db.session() as session:
        assert await agenda.events_from(session, NOW) == []


async def test_a_feed_coming_back_announces_nothing_that_waited_before_it_left(
    db: Database,
) -> None:
    """An item still waiting for its slot when the feed was dropped is recorded silently when
    the feed comes back, as on any first poll."""
    (feed,) = await seeded(db, FeedConfig(url=NEWSLETTERS))
    link = "https://ssphub.netlify.app/infolettre/infolettre_27/"
    waiting = FeedItem(link, ItemKind.NEWSLETTER, "n°27", link, "", NOW, 27, None, link, "f")
    async with db.session() as session:
        await feed_items.add_items(session, feed.id, [(waiting, "deferred")], now=NOW, poll=2)
    await seeded(db, now=LATER)
    await seeded(db, FeedConfig(url=NEWSLETTERS), now=LATER)
    async with db.session() as session:
        assert await feeds.deferred_items(session, feed.id) == []
        (stored,) = await feeds.latest_items(session, feed.id)
    assert stored.status == "recorded_silently"
