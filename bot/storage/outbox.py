"""The outbox repository: what is to be sent, what was sent, with which transaction id."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import insert_or_ignore
from bot.storage.models import OutboxRow

PENDING, SENT, FAILED = "pending", "sent", "failed"
SCRUBBED: dict[str, Any] = {}  # what a private row's content becomes once it is settled
HELD = "waiting for the member to join the DM"  # a private row's note while its member is invited
# An answer to a member's event has a transaction id derived from that event: the prefix tells
# the sender it is an answer (served before its room's other rows).
ANSWER_PREFIX = "ssphub-re-"


@dataclass(frozen=True)
class OutboxEntry:
    """One outgoing event, as stored."""

    id: int
    txn_id: str
    room_id: str
    event_type: str
    content: dict[str, Any]
    status: str
    attempts: int
    not_before: datetime | None
    created_at: datetime
    event_id: str | None
    dedupe_key: str | None
    created: bool = False  # written by this very enqueue (not found through its dedupe key)
    bulk: bool = False  # paced globally too (newsletters by DM), not only per room
    private_for: str | None = None  # the member whose true DM alone may receive it

    @property
    def answer(self) -> bool:
        """Whether the row answers a member's event (it goes before its room's other rows)."""
        return self.txn_id.startswith(ANSWER_PREFIX)


def _entry(row: OutboxRow, *, created: bool = False) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        txn_id=row.txn_id,
        room_id=row.room_id,
        event_type=row.event_type,
        content=row.content,
        status=row.status,
        attempts=row.attempts,
        not_before=row.not_before,
        created_at=row.created_at,
        event_id=row.event_id,
        dedupe_key=row.dedupe_key,
        created=created,
        bulk=row.bulk,
        private_for=row.private_for,
    )


def new_txn_id() -> str:
    """A transaction id chosen once, when the row is written, and reused on every retry."""
    return "ssphub-" + secrets.token_urlsafe(18)


def answer_txn_id(device_id: str, event_id: str, index: int) -> str:
    """The transaction id of the ``index``-th answer to ``event_id`` from this device: the same
    whenever the event is handled again, so the homeserver keeps a single answer."""
    digest = hashlib.sha256(f"{device_id}\n{event_id}\n{index}".encode()).digest()
    return ANSWER_PREFIX + base64.urlsafe_b64encode(digest[:18]).decode()


async def enqueue(
    session: AsyncSession,
    *,
    room_id: str,
    event_type: str,
    content: dict[str, Any],
    now: datetime,
    dedupe_key: str | None = None,
    bulk: bool = False,
    private_for: str | None = None,
    txn_id: str | None = None,
) -> OutboxEntry:
    """Write a pending row; with a ``dedupe_key`` or a chosen ``txn_id`` already used, return
    that row unchanged."""
    chosen = txn_id is not None
    txn_id = txn_id or new_txn_id()
    values = {
        "private_for": private_for,
        "txn_id": txn_id,
        "room_id": room_id,
        "event_type": event_type,
        "content": content,
        "dedupe_key": dedupe_key,
        "status": PENDING,
        "attempts": 0,
        "created_at": now,
        "bulk": bulk,
    }
    statement = (
        insert(OutboxRow)
        if dedupe_key is None and not chosen
        else insert_or_ignore(session, OutboxRow, None)
    )
    row_id = await session.scalar(statement.values(**values).returning(OutboxRow.id))
    if row_id is None:  # the key or the transaction id was used before: that row is the answer
        same = OutboxRow.txn_id == txn_id
        if dedupe_key is not None:
            same = or_(same, OutboxRow.dedupe_key == dedupe_key)
        existing = await session.scalar(select(OutboxRow).where(same))
        assert existing is not None
        return _entry(existing)
    return OutboxEntry(
        id=row_id,
        txn_id=txn_id,
        room_id=room_id,
        event_type=event_type,
        content=content,
        status=PENDING,
        attempts=0,
        not_before=None,
        created_at=now,
        event_id=None,
        dedupe_key=dedupe_key,
        created=True,
        bulk=bulk,
        private_for=private_for,
    )


@dataclass(frozen=True)
class NewRow:
    """One row for ``enqueue_many``: where, what, its (required) dedupe key, and whose."""

    room_id: str
    event_type: str
    content: dict[str, Any]
    dedupe_key: str
    private_for: str | None = None


BATCH_ROWS = 500  # rows per INSERT: well under SQLite's limit of bound parameters


async def enqueue_many(
    session: AsyncSession, rows: Sequence[NewRow], *, now: datetime, bulk: bool = False
) -> list[OutboxEntry]:
    """Write many pending rows in a few statements; a row whose key was used is not written.

    Returns the rows written by this call (``created``), in no particular order.
    """
    written: list[OutboxEntry] = []
    for start in range(0, len(rows), BATCH_ROWS):
        written += await _insert_batch(session, rows[start : start + BATCH_ROWS], now, bulk)
    return written


async def _insert_batch(
    session: AsyncSession, rows: Sequence[NewRow], now: datetime, bulk: bool
) -> list[OutboxEntry]:
    by_key = {row.dedupe_key: (row, new_txn_id()) for row in rows}
    values = [
        {"txn_id": txn_id, "room_id": row.room_id, "event_type": row.event_type,
         "content": row.content, "dedupe_key": key, "status": PENDING, "attempts": 0,
         "created_at": now, "bulk": bulk, "private_for": row.private_for}
        for key, (row, txn_id) in by_key.items()
    ]  # fmt: skip
    statement = insert_or_ignore(session, OutboxRow, ["dedupe_key"])
    result = await session.execute(statement.returning(OutboxRow.id, OutboxRow.dedupe_key), values)
    written = []
    for row_id, key in result.tuples():
        row, txn_id = by_key[str(key)]
        entry = OutboxEntry(
            row_id, txn_id, row.room_id, row.event_type, row.content, PENDING, 0, None, now,
            None, str(key), created=True, bulk=bulk, private_for=row.private_for,
        )  # fmt: skip
        written.append(entry)
    return written


async def room_heads(session: AsyncSession) -> list[OutboxEntry]:
    """The next row of each room: its oldest pending answer to a member, else its oldest pending
    row. Rooms are served in order, one row at a time, answers before the rest."""
    pending = OutboxRow.status == PENDING
    oldest = select(func.min(OutboxRow.id)).where(pending).group_by(OutboxRow.room_id)
    answers = (
        select(func.min(OutboxRow.id))
        .where(pending, OutboxRow.txn_id.startswith(ANSWER_PREFIX))
        .group_by(OutboxRow.room_id)
    )
    rows = await session.scalars(
        select(OutboxRow).where(or_(OutboxRow.id.in_(oldest), OutboxRow.id.in_(answers)))
    )
    heads: dict[str, OutboxEntry] = {}
    for entry in sorted((_entry(row) for row in rows), key=lambda entry: entry.id):
        if entry.room_id not in heads or (entry.answer and not heads[entry.room_id].answer):
            heads[entry.room_id] = entry
    return sorted(heads.values(), key=lambda entry: entry.id)


async def mark_sent(session: AsyncSession, entry_id: int, event_id: str, now: datetime) -> None:
    """Record the homeserver's answer: the row is done (a private one keeps no content)."""
    await session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == entry_id)
        .values(status=SENT, event_id=event_id, sent_at=now, last_error=None)
    )
    await _scrub(session, OutboxRow.id == entry_id)


async def postpone(
    session: AsyncSession, entry_id: int, *, not_before: datetime, error: str
) -> None:
    """Count a failed attempt and hold the row until ``not_before``."""
    await session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == entry_id)
        .values(attempts=OutboxRow.attempts + 1, not_before=not_before, last_error=error[:1000])
    )


async def mark_failed(session: AsyncSession, entry_id: int, error: str) -> None:
    """Give up on a row the homeserver (or the DM check) refuses for good; it stays visible,
    never deleted, but a private one keeps no content."""
    await session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == entry_id)
        .values(status=FAILED, attempts=OutboxRow.attempts + 1, last_error=error[:1000])
    )
    await _scrub(session, OutboxRow.id == entry_id)


async def erase_member(session: AsyncSession, user_id: str) -> int:
    """Erase ``user_id``'s private data from the outbox: their rows still waiting are cancelled,
    and no row keeps its content or their id; how many rows were cancelled."""
    mine = OutboxRow.private_for == user_id
    cancelled = await session.execute(
        update(OutboxRow)
        .where(mine, OutboxRow.status == PENDING)
        .values(status=FAILED, last_error="cancelled: the member's data was erased")
    )
    await _scrub(session, mine)
    return int(getattr(cancelled, "rowcount", 0) or 0)


async def _scrub(session: AsyncSession, which: ColumnElement[bool]) -> None:
    """Private rows among ``which`` lose their content and their member."""
    await session.execute(
        update(OutboxRow)
        .where(which, OutboxRow.private_for.is_not(None))
        .values(content=SCRUBBED, private_for=None)
    )


async def get(session: AsyncSession, entry_id: int) -> OutboxEntry | None:
    row = await session.get(OutboxRow, entry_id)
    return None if row is None else _entry(row)


async def by_dedupe_key(session: AsyncSession, dedupe_key: str) -> OutboxEntry | None:
    row = await session.scalar(select(OutboxRow).where(OutboxRow.dedupe_key == dedupe_key))
    return None if row is None else _entry(row)


async def counts(session: AsyncSession) -> dict[str, int]:
    """How many rows are in each status."""
    rows = await session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
    return {status: int(count) for status, count in rows.tuples()}


async def depth(session: AsyncSession) -> int:
    """How many rows wait to be sent."""
    count = await session.scalar(select(func.count()).where(OutboxRow.status == PENDING))
    return int(count or 0)


async def oldest_pending_at(session: AsyncSession) -> datetime | None:
    """When the oldest row still waiting to be sent was written; None when none waits. A
    private row held until its member joins the DM waits on the member, not on the bot: it
    does not count (it is refused after a day at most)."""
    held = OutboxRow.private_for.is_not(None) & (OutboxRow.last_error == HELD)
    return await session.scalar(
        select(func.min(OutboxRow.created_at)).where(OutboxRow.status == PENDING, ~held)
    )
