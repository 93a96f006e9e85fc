"""The outbox repository on every backend: what is queued, in which order, and how rows change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import exc, inspect, select

from bot.storage import outbox
from bot.storage.db import Database
from bot.storage.models import OutboxRow

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONTENT = {"msgtype": "m.notice", "body": "Bonjour", "m.mentions": {"user_ids": []}}


async def queue(db: Database, room_id: str, body: str = "Bonjour", **kwargs: Any) -> int:
    """Enqueue one notice in its own unit of work; its outbox id."""
    async with db.session() as session:
        entry = await outbox.enqueue(
            session,
            room_id=room_id,
            event_type="m.room.message",
            content=CONTENT | {"body": body},
            now=NOW,
            **kwargs,
        )
    return entry.id


async def stored(db: Database, entry_id: int) -> dict[str, Any]:
    """Every column of the stored row."""
    async with db.session() as session:
        row = await session.get(OutboxRow, entry_id)
        assert row is not None
        return {column.key: getattr(row, column.key) for column in inspect(OutboxRow).columns}


async def test_enqueue_writes_a_pending_row_with_a_transaction_id(db: Database) -> None:
    """A queued message is stored pending, unsent, with its content and a fresh txn id."""
    entry_id = await queue(db, "!hub:localhost")
    row = await stored(db, entry_id)
    assert row["status"] == "pending"
    assert row["txn_id"].startswith("ssphub-") and len(row["txn_id"]) > 20
    assert row["content"] == CONTENT
    assert (row["room_id"], row["event_type"]) == ("!hub:localhost", "m.room.message")
    assert (row["attempts"], row["not_before"], row["sent_at"], row["event_id"]) == (
        0,
        None,
        None,
        None,
    )
    assert row["created_at"] == NOW


async def test_each_row_gets_its_own_transaction_id(db: Database) -> None:
    """Two messages to the same room never share a transaction id."""
    first = await stored(db, await queue(db, "!hub:localhost"))
    second = await stored(db, await queue(db, "!hub:localhost"))
    assert first["txn_id"] != second["txn_id"]


async def test_same_dedupe_key_twice_stores_one_row(db: Database) -> None:
    """A second message with a used dedupe key returns the first row and stores nothing."""
    first = await queue(db, "!hub:localhost", "first", dedupe_key="feed:item-1")
    second = await queue(db, "!hub:localhost", "second", dedupe_key="feed:item-1")
    async with db.session() as session:
        assert await outbox.depth(session) == 1
        entry = await outbox.by_dedupe_key(session, "feed:item-1")
    assert first == second
    assert entry is not None and entry.content["body"] == "first"


async def test_room_heads_gives_the_oldest_pending_row_of_each_room(db: Database) -> None:
    """One head per room, the oldest pending one, listed in id order."""
    b1 = await queue(db, "!b:localhost", "b1")
    a1 = await queue(db, "!a:localhost", "a1")
    await queue(db, "!b:localhost", "b2")
    await queue(db, "!a:localhost", "a2")
    async with db.session() as session:
        heads = await outbox.room_heads(session)
    assert [(h.id, h.room_id, h.content["body"]) for h in heads] == [
        (b1, "!b:localhost", "b1"),
        (a1, "!a:localhost", "a1"),
    ]


async def test_room_heads_skips_rows_that_are_sent_or_failed(db: Database) -> None:
    """Once a head is sent or failed, the next row of its room becomes the head."""
    a1 = await queue(db, "!a:localhost", "a1")
    b1 = await queue(db, "!b:localhost", "b1")
    a2 = await queue(db, "!a:localhost", "a2")
    b2 = await queue(db, "!b:localhost", "b2")
    async with db.session() as session:
        await outbox.mark_sent(session, a1, "$a1", NOW)
        await outbox.mark_failed(session, b1, "M_FORBIDDEN")
    async with db.session() as session:
        heads = await outbox.room_heads(session)
    assert [h.id for h in heads] == [a2, b2]


async def test_room_heads_keeps_a_postponed_row_at_the_head(db: Database) -> None:
    """A row held back by a retry delay still blocks the rows queued after it."""
    a1 = await queue(db, "!a:localhost", "a1")
    await queue(db, "!a:localhost", "a2")
    async with db.session() as session:
        await outbox.postpone(session, a1, not_before=NOW + timedelta(seconds=5), error="503")
    async with db.session() as session:
        heads = await outbox.room_heads(session)
    assert [h.id for h in heads] == [a1]


async def test_room_heads_is_empty_when_nothing_is_pending(db: Database) -> None:
    """An empty outbox has no heads and a depth of zero."""
    async with db.session() as session:
        assert await outbox.room_heads(session) == []
        assert await outbox.depth(session) == 0


async def test_mark_sent_records_the_event_and_changes_nothing_else(db: Database) -> None:
    """Marking sent sets status, event id and send time; the rest of the row is untouched."""
    entry_id = await queue(db, "!hub:localhost")
    before = await stored(db, entry_id)
    sent_at = NOW + timedelta(seconds=3)
    async with db.session() as session:
        await outbox.mark_sent(session, entry_id, "$sent", sent_at)
    after = await stored(db, entry_id)
    changed = {"status": "sent", "event_id": "$sent", "sent_at": sent_at, "last_error": None}
    assert after == before | changed


async def test_mark_sent_clears_the_last_error(db: Database) -> None:
    """A row that failed once and then went has no error left on it."""
    entry_id = await queue(db, "!hub:localhost")
    async with db.session() as session:
        await outbox.postpone(session, entry_id, not_before=NOW, error="timeout")
        await outbox.mark_sent(session, entry_id, "$sent", NOW)
    row = await stored(db, entry_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)


async def test_postpone_counts_an_attempt_and_holds_the_row(db: Database) -> None:
    """Postponing adds one attempt, sets not_before and the error, and keeps the row pending."""
    entry_id = await queue(db, "!hub:localhost")
    before = await stored(db, entry_id)
    not_before = NOW + timedelta(seconds=2)
    async with db.session() as session:
        await outbox.postpone(session, entry_id, not_before=not_before, error="rate limited")
    after = await stored(db, entry_id)
    changed = {"attempts": 1, "not_before": not_before, "last_error": "rate limited"}
    assert after == before | changed


async def test_mark_failed_gives_up_on_the_row_and_keeps_it(db: Database) -> None:
    """A failed row stays stored with status failed, one more attempt and the reason."""
    entry_id = await queue(db, "!hub:localhost")
    before = await stored(db, entry_id)
    async with db.session() as session:
        await outbox.mark_failed(session, entry_id, "M_FORBIDDEN: not in room")
    after = await stored(db, entry_id)
    changed = {"status": "failed", "attempts": 1, "last_error": "M_FORBIDDEN: not in room"}
    assert after == before | changed


async def test_stored_errors_are_cut_to_a_thousand_characters(db: Database) -> None:
    """A huge error message is stored shortened, not refused."""
    entry_id = await queue(db, "!hub:localhost")
    async with db.session() as session:
        await outbox.mark_failed(session, entry_id, "x" * 5000)
    assert (await stored(db, entry_id))["last_error"] == "x" * 1000


async def test_datetimes_come_back_aware_in_utc(db: Database) -> None:
    """A time stored in Paris time reads back as the same instant, tz-aware, in UTC."""
    paris = datetime(2026, 7, 14, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))
    entry_id = await queue(db, "!hub:localhost")
    async with db.session() as session:
        await outbox.postpone(session, entry_id, not_before=paris, error="wait")
    async with db.session() as session:
        entry = await outbox.get(session, entry_id)
    assert entry is not None and entry.not_before is not None
    assert entry.not_before.tzinfo == UTC and entry.created_at.tzinfo == UTC
    assert entry.not_before == paris
    assert entry.not_before.hour == 8


async def test_naive_datetimes_are_refused(db: Database) -> None:
    """Storing a time without a zone fails instead of guessing one."""
    with pytest.raises(exc.StatementError, match="naive datetime refused"):
        async with db.session() as session:
            await outbox.enqueue(
                session,
                room_id="!hub:localhost",
                event_type="m.room.message",
                content=CONTENT,
                now=datetime(2026, 3, 2, 9, 0),
            )
    async with db.session() as session:
        assert (await session.scalars(select(OutboxRow))).all() == []
