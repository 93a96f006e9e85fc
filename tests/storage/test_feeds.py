"""The feeds repository on every backend: poll state, items, events, deliveries, pruning."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import exc, inspect, select
from sqlalchemy.engine import Connection

from bot.feeds.eventtime import EventTime
from bot.feeds.normalise import FeedItem, ItemKind
from bot.storage import deliveries, feed_items, feeds, migrate, outbox
from bot.storage.db import Database
from bot.storage.models import EventRow

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
URL = "https://ssphub.netlify.app/event.xml"
ROOM = "!hub:localhost"
JUNE_16 = EventTime(
    datetime(2026, 6, 15, 22, tzinfo=UTC),
    datetime(2026, 6, 17, 22, tzinfo=UTC),
    True,
    False,
    "Paris",
)


def item(n: int, *, event: EventTime | None = None, title: str | None = None) -> FeedItem:
    """A feed item numbered ``n``; an event when ``event`` is given."""
    link = f"https://ssphub.netlify.app/event/{n}/"
    kind = ItemKind.EVENT if event else ItemKind.NEWSLETTER
    return FeedItem(
        link, kind, title or f"Élément {n}", link, "Résumé.", NOW, None, event, link, f"fp{n}"
    )


async def new_feed(db: Database) -> int:
    async with db.session() as session:
        return (await feeds.feed_state(session, URL)).id


async def add(db: Database, feed_id: int, *batch: FeedItem, status: str = "announced") -> list[int]:
    async with db.session() as session:
        records = await feed_items.add_items(
            session, feed_id, [(i, status) for i in batch], now=NOW, poll=1
        )
    return [record.id for record in records]


async def test_poll_state_counts_polls_failures_and_keeps_validators(db: Database) -> None:
    """A success stores its number, validators and size; a failure counts and keeps them."""
    feed_id = await new_feed(db)
    async with db.session() as session:
        number = await feeds.poll_succeeded(
            session, URL, now=NOW, validators=('"v1"', "Mon", "h1"),
            next_poll_at=NOW + timedelta(minutes=5), largest=20,
        )  # fmt: skip
        await feeds.poll_failed(
            session, feed_id, now=NOW, kind="http_5xx", error="HTTP 503" * 200,
            next_poll_at=NOW + timedelta(minutes=9),
        )  # fmt: skip
    assert number == 1
    async with db.session() as session:
        state = await feeds.feed_state(session, URL)
    assert (state.id, state.polls, state.first_poll_done, state.largest_size_seen) == (
        feed_id, 2, True, 20,
    )  # fmt: skip
    assert (state.etag, state.last_modified, state.body_hash) == ('"v1"', "Mon", "h1")
    assert (state.consecutive_failures, state.last_error_kind) == (1, "http_5xx")
    assert state.last_error is not None and len(state.last_error) == feeds.ERROR_CHARS
    assert state.next_poll_at == NOW + timedelta(minutes=9)
    assert state.last_success_at == NOW


async def test_items_and_their_events_round_trip_in_utc(db: Database) -> None:
    """Stored items come back by identity, an event with its times aware and in UTC."""
    feed_id = await new_feed(db)
    await add(db, feed_id, item(1), item(2, event=JUNE_16))
    async with db.session() as session:
        known = await feeds.items_by_identity(session, feed_id, [item(2).identity, "other"])
        events = list(await session.scalars(select(EventRow)))
    assert list(known) == [item(2).identity]
    assert len(events) == 1 and events[0].starts_at == JUNE_16.start
    assert events[0].starts_at.tzinfo is not None and events[0].place == "Paris"


async def test_an_identity_is_stored_once_per_feed(db: Database) -> None:
    """The same identity twice in one feed is refused by the database."""
    feed_id = await new_feed(db)
    await add(db, feed_id, item(1))
    with pytest.raises(exc.IntegrityError):
        await add(db, feed_id, item(1))


async def test_updating_an_item_updates_its_event(db: Database) -> None:
    """An edited event's new times replace the old ones, and its when-key changes."""
    feed_id = await new_feed(db)
    (item_id,) = await add(db, feed_id, item(1, event=JUNE_16))
    later = replace(JUNE_16, start=JUNE_16.start + timedelta(days=7), end=None)
    async with db.session() as session:
        await feed_items.update_item(session, item_id, item(1, event=later, title="Reporté"), NOW)
    async with db.session() as session:
        event = await session.scalar(select(EventRow))
    assert event is not None
    assert (event.title, event.starts_at, event.ends_at) == ("Reporté", later.start, None)
    assert event.when_key == feeds.when_key(later) != feeds.when_key(JUNE_16)


async def test_the_window_forgets_the_least_recently_seen_but_never_deferred_items() -> None:
    """Beyond ``keep``, the items seen longest ago go first; deferred ones always stay."""
    entries = [
        feeds.IndexEntry(1, "a", "f", "announced", 3, "post", None),
        feeds.IndexEntry(2, "b", "f", "deferred", 1, "post", None),
        feeds.IndexEntry(3, "c", "f", "filtered", 1, "post", None),
        feeds.IndexEntry(4, "d", "f", "announced", 3, "post", None),
        feeds.IndexEntry(5, "e", "f", "announced", 2, "post", None),
    ]
    assert feeds.beyond_window(entries, keep=2) == [5, 3]


async def test_forgetting_items_keeps_their_agenda_events(db: Database) -> None:
    """Deleted items take their deliveries along; their events stay, unlinked, for the agenda."""
    feed_id = await new_feed(db)
    first, second = await add(db, feed_id, item(1, event=JUNE_16), item(2))
    async with db.session() as session:
        entry = await outbox.enqueue(
            session, room_id=ROOM, event_type="m.room.message", content={}, now=NOW
        )
        (record,) = (await feeds.items_by_identity(session, feed_id, [item(1).identity])).values()
        await deliveries.add_deliveries(session, record, {ROOM: entry.id}, NOW)
        await feed_items.touch(session, [second], poll=5)
        index = await feeds.feed_index(session, feed_id)
        await feed_items.delete_items(session, feeds.beyond_window(index, keep=1))
    async with db.session() as session:
        left = await feeds.feed_index(session, feed_id)
        event = await session.scalar(select(EventRow))
        assert await deliveries.deliveries_of(session, first) == []
    assert [entry.id for entry in left] == [second]
    assert event is not None and event.feed_item_id is None and event.title == "Élément 1"


async def test_deliveries_follow_their_outbox_rows(db: Database) -> None:
    """A delivery shows its outbox row's state, and its event id once sent."""
    feed_id = await new_feed(db)
    async with db.session() as session:
        (record,) = await feed_items.add_items(
            session, feed_id, [(item(1, event=JUNE_16), "announced")], now=NOW, poll=1
        )
        entry = await outbox.enqueue(
            session, room_id=ROOM, event_type="m.room.message", content={}, now=NOW
        )
        await deliveries.add_deliveries(session, record, {ROOM: entry.id}, NOW)
    async with db.session() as session:
        (pending,) = await deliveries.deliveries_of(session, record.id)
        await outbox.mark_sent(session, entry.id, "$announce", NOW)
    async with db.session() as session:
        (sent,) = await deliveries.deliveries_of(session, record.id)
    assert (pending.status, pending.event_id) == ("pending", None)
    assert (sent.status, sent.event_id, sent.when_key) == (
        "sent", "$announce", feeds.when_key(JUNE_16),
    )  # fmt: skip
    with pytest.raises(exc.IntegrityError):
        async with db.session() as session:
            await deliveries.add_deliveries(session, record, {ROOM: entry.id}, NOW)


async def test_sent_announcements_of_moved_events_are_found_once(db: Database) -> None:
    """After an event moves, its sent delivery is stale until marked edited."""
    feed_id = await new_feed(db)
    async with db.session() as session:
        (record,) = await feed_items.add_items(
            session, feed_id, [(item(1, event=JUNE_16), "announced")], now=NOW, poll=1
        )
        entry = await outbox.enqueue(
            session, room_id=ROOM, event_type="m.room.message", content={}, now=NOW
        )
        await deliveries.add_deliveries(session, record, {ROOM: entry.id}, NOW)
        await outbox.mark_sent(session, entry.id, "$announce", NOW)
    async with db.session() as session:
        assert await deliveries.stale_deliveries(session, feed_id) == []
        moved = replace(JUNE_16, start=JUNE_16.start + timedelta(days=1))
        await feed_items.update_item(session, record.id, item(1, event=moved), NOW)
    async with db.session() as session:
        ((delivery, current),) = await deliveries.stale_deliveries(session, feed_id)
        assert current.event == moved and delivery.event_id == "$announce"
        await deliveries.mark_edited(session, delivery.id, feeds.when_key(moved))
    async with db.session() as session:
        assert await deliveries.stale_deliveries(session, feed_id) == []


async def test_items_are_found_by_identity_or_by_link(db: Database) -> None:
    """Explaining an item looks it up by canonical identity, or by its link as stored."""
    feed_id = await new_feed(db)
    await add(db, feed_id, item(1), item(2))
    async with db.session() as session:
        by_identity = await deliveries.items_matching(session, [item(1).identity], "nope")
        by_link = await deliveries.items_matching(session, ["nope"], str(item(2).link))
    assert [(record.title, url) for record, url in by_identity] == [("Élément 1", URL)]
    assert [record.title for record, _ in by_link] == ["Élément 2"]


async def test_sqlite_downgrade_to_the_foundation_drops_only_the_feed_tables(
    tmp_path: Path,
) -> None:
    """Downgrading 0002 removes the feed tables and keeps the foundation's; upgrading restores."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await migrate.upgrade(url)
    await asyncio.to_thread(command.downgrade, migrate.alembic_config(url), "0001")
    db = Database(url)

    def tables(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    try:
        async with db.engine.connect() as connection:
            names = await connection.run_sync(tables)
        assert "outbox" in names and not names & {"feed", "feed_item", "event", "delivery"}
        await migrate.upgrade(url)
        async with db.engine.connect() as connection:
            assert {"feed", "feed_item", "event", "delivery"} <= await connection.run_sync(tables)
    finally:
        await db.dispose()


async def test_state_and_index_come_in_one_query_and_create_the_feed(db: Database) -> None:
    """A feed never seen is created with an empty index; a known one comes with its items."""
    async with db.session() as session:
        state, index = await feeds.state_and_index(session, URL)
    assert (state.url, state.polls, index) == (URL, 0, [])
    await add(db, state.id, item(1), item(2), status="filtered")
    async with db.session() as session:
        again, index = await feeds.state_and_index(session, URL)
    assert again.id == state.id
    assert [(entry.identity, entry.status) for entry in index] == [
        (item(1).identity, "filtered"), (item(2).identity, "filtered"),
    ]  # fmt: skip


async def test_the_index_tells_each_items_kind_and_date_in_utc(db: Database) -> None:
    """Both index queries give each stored item's kind and publication time, aware, in UTC."""
    feed_id = await new_feed(db)
    await add(db, feed_id, item(1), item(2, event=JUNE_16))
    async with db.session() as session:
        _, joined = await feeds.state_and_index(session, URL)
        alone = await feeds.feed_index(session, feed_id)
    for index in (joined, alone):
        assert [(entry.kind, entry.published) for entry in index] == [
            ("newsletter", NOW), ("event", NOW),
        ]  # fmt: skip
        assert all(
            entry.published and entry.published.utcoffset() == timedelta(0) for entry in index
        )
