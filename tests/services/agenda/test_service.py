"""The agenda: the hub's real event feed merged with manual events and organisers' amendments."""

from __future__ import annotations

import dataclasses
from datetime import time, timedelta

import pytest

from bot.errors import NotFound, UsageError
from bot.feeds.eventtime import EventTime
from bot.feeds.normalise import ItemKind
from bot.services.agenda import Agenda, Change, Field
from bot.storage import feed_items, feeds
from bot.storage.db import Database
from tests.feeds.conftest import load_feed
from tests.feeds.rig import Rig, rig
from tests.services.agenda.rig import (
    AGRI,
    DARES,
    EVENT_FEED,
    JDOS,
    NEWSLETTER_FEED,
    NOW,
    ORGANISER,
    PARIS,
    add_event,
    fixture_items,
    paris,
    store_event_feed,
    store_items,
    upcoming,
)

__all__ = ["rig"]  # the watcher rig fixture


async def amend(db: Database, number: int, change: Change) -> None:
    async with db.session() as session:
        await Agenda(PARIS).amend(session, number, change, ORGANISER, NOW)


async def remove(db: Database, number: int) -> bool:
    """Remove an event as an organiser does; whether it was deleted (else hidden)."""
    async with db.session() as session:
        _, deleted = await Agenda(PARIS).remove(session, number, ORGANISER, NOW)
    return deleted


async def number_of(db: Database, title: str) -> int:
    (found,) = [event for event in await upcoming(db, days=366) if event.title == title]
    return found.number


async def edit_feed_item(db: Database, original: str, **changes: object) -> None:
    """The feed republishes the item titled ``original`` with ``changes``, as a poll records it."""
    item = next(i for i in fixture_items("event") if i.title == original)
    edited = dataclasses.replace(item, **changes)
    async with db.session() as session:
        state = await feeds.feed_state(session, EVENT_FEED)
        stored = await feeds.items_by_identity(session, state.id, [item.identity])
        await feed_items.update_item(
            session, stored[item.identity].id, edited, NOW + timedelta(days=1)
        )


async def test_the_agenda_reads_the_real_event_feed_through_the_watcher(rig: Rig) -> None:
    """After a poll of the hub's event feed, the agenda lists its three future events in order."""
    rig.server.serve("/event.xml", load_feed("event"))
    watcher = rig.watcher("/event.xml", default_kind="event")
    await watcher.poll_once()
    events = await upcoming(rig.db, days=120)
    assert [event.title for event in events] == [DARES, AGRI, JDOS]
    dares, _, jdos = events
    assert (dares.start, dares.time.time_known) == (paris("2026-03-18 00:00"), False)
    assert jdos.time.all_day and jdos.time.place is not None
    assert dares.link == "https://ssphub.netlify.app/event/2026-03-dares-conventions-collectives/"


async def test_upcoming_is_a_window_and_next_is_the_soonest(db: Database) -> None:
    """Nothing in the next 7 days on 2 March 2026; the 18 March event within 30; it is next."""
    await store_event_feed(db)
    assert await upcoming(db, days=7) == []
    assert [event.title for event in await upcoming(db, days=30)] == [DARES]
    async with db.session() as session:
        following = await Agenda(PARIS).next(session, NOW)
    assert following is not None and following.title == DARES


async def test_a_multi_day_event_stays_listed_until_its_last_day_ends(db: Database) -> None:
    """The two-day JDOS is still on at noon on its second day, and gone at midnight after."""
    await store_event_feed(db)
    during = await upcoming(db, paris("2026-06-17 12:00"), days=7)
    assert [event.title for event in during] == [JDOS]
    assert await upcoming(db, paris("2026-06-18 00:00"), days=7) == []


async def test_an_event_listed_by_two_feeds_shows_once(db: Database) -> None:
    """The home page feed repeats the event feed's items: each event is listed once."""
    await store_event_feed(db)
    await store_items(db, "https://ssphub.netlify.app/index.xml", fixture_items("event"))
    assert [event.title for event in await upcoming(db, days=120)] == [DARES, AGRI, JDOS]


async def test_a_manual_event_takes_its_place_among_feed_events(db: Database) -> None:
    """An event added by hand gets a new number and is listed in date order."""
    await store_event_feed(db)
    added = await add_event(db, "Café R", paris("2026-03-10 12:30"), place="Montrouge")
    events = await upcoming(db, days=30)
    assert [event.title for event in events] == ["Café R", DARES]
    assert events[0].number == added.number and added.manual
    assert added.number > await number_of(db, DARES)


async def test_amendments_survive_a_feed_update(db: Database) -> None:
    """An organiser's time and place stay when the feed moves the event; the feed's new title
    shows, as organisers did not change it."""
    await store_event_feed(db)
    number = await number_of(db, DARES)
    await amend(db, number, Change(Field.START, clock=time(14, 30)))
    await amend(db, number, Change(Field.PLACE, text="Dares, Paris 15e"))
    moved = EventTime(paris("2026-03-19 15:00"), None, False, True, "Paris")
    await edit_feed_item(db, DARES, title="Accords d’entreprise (nouveau titre)", event=moved)
    async with db.session() as session:
        shown = await Agenda(PARIS).by_number(session, number)
    assert shown.title == "Accords d’entreprise (nouveau titre)"
    assert (shown.start, shown.time.time_known) == (paris("2026-03-18 14:30"), True)
    assert shown.time.place == "Dares, Paris 15e"


async def test_an_amended_title_and_end_win_over_the_feed(db: Database) -> None:
    """Title and end set by an organiser are shown instead of the feed's."""
    await store_event_feed(db)
    number = await number_of(db, DARES)
    await amend(db, number, Change(Field.START, moment=paris("2026-03-19 10:00")))
    await amend(db, number, Change(Field.END, clock=time(12)))
    await amend(db, number, Change(Field.TITLE, text="Séminaire Dares"))
    await edit_feed_item(db, DARES, title="Autre titre")
    (shown,) = await upcoming(db, days=30)
    assert (shown.title, shown.start, shown.time.end) == (
        "Séminaire Dares",
        paris("2026-03-19 10:00"),
        paris("2026-03-19 12:00"),
    )


async def test_an_end_before_the_start_is_refused(db: Database) -> None:
    """Setting the end of a 14:30 event to 9:00 gets a clear refusal."""
    added = await add_event(db, "Café R", paris("2026-03-10 14:30"))
    with pytest.raises(UsageError) as refused:
        await amend(db, added.number, Change(Field.END, clock=time(9)))
    assert refused.value.key == "agenda.end_before_start"


async def test_a_hidden_feed_event_stays_hidden_after_a_feed_update(db: Database) -> None:
    """Removing a feed event hides it; the next feed edit does not bring it back."""
    await store_event_feed(db)
    number = await number_of(db, DARES)
    assert await remove(db, number) is False
    await edit_feed_item(db, DARES, title="Republié")
    assert [event.title for event in await upcoming(db, days=30)] == []
    async with db.session() as session:
        with pytest.raises(NotFound):
            await Agenda(PARIS).by_number(session, number)


async def test_a_deleted_manual_event_is_gone_and_its_number_never_comes_back(
    db: Database,
) -> None:
    """Deleting the newest manual event, then adding one, gives a new number."""
    first = await add_event(db, "Un", paris("2026-03-10 10:00"))
    second = await add_event(db, "Deux", paris("2026-03-11 10:00"))
    assert await remove(db, second.number) is True
    third = await add_event(db, "Trois", paris("2026-03-12 10:00"))
    assert third.number > second.number > first.number
    assert [event.title for event in await upcoming(db, days=30)] == ["Un", "Trois"]


async def test_numbers_stay_the_same_across_feed_polls(db: Database) -> None:
    """Feed edits keep each event's number; a newly published event gets a fresh one."""
    items = fixture_items("event")
    await store_items(db, EVENT_FEED, items[1:])
    before = {event.title: event.number for event in await upcoming(db, days=120)}
    await edit_feed_item(db, DARES, title=DARES)
    await store_items(db, EVENT_FEED, items[:1])
    after = {event.title: event.number for event in await upcoming(db, days=120)}
    assert {title: after[title] for title in before} == before
    assert after[JDOS] > max(before.values())


async def test_the_latest_newsletter_comes_from_the_real_newsletter_feed(db: Database) -> None:
    """The newest numbered newsletter of the hub's feed is n°26."""
    await store_items(db, NEWSLETTER_FEED, fixture_items("infolettre", ItemKind.OTHER))
    async with db.session() as session:
        latest = await Agenda(PARIS).latest_newsletter(session)
    assert latest is not None and latest.number == 26
    assert latest.link is not None and "infolettre" in latest.link


async def test_no_newsletter_yet(db: Database) -> None:
    """Before any newsletter was seen, there is none to show."""
    async with db.session() as session:
        assert await Agenda(PARIS).latest_newsletter(session) is None
