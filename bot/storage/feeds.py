"""The feeds repository: each feed's poll state, the items seen in it, and their event times."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.feeds.eventtime import EventTime
from bot.storage.models import EventRow, FeedItemRow, FeedRow

ERROR_CHARS = 500
DEFERRED = "deferred"  # waiting for a later poll's announcement slot; never pruned


@dataclass(frozen=True)
class FeedState:
    """A feed as stored: validators, poll counts, errors and the next poll."""

    id: int
    url: str
    polls: int
    first_poll_done: bool
    largest_size_seen: int
    consecutive_failures: int
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    last_error: str | None
    last_error_kind: str | None


@dataclass(frozen=True)
class ItemRecord:
    """A stored feed item, with its event time when it is an event."""

    id: int
    feed_id: int
    identity: str
    kind: str
    title: str
    link: str | None
    summary: str
    published: datetime | None
    newsletter_number: int | None
    fingerprint: str
    status: str
    first_seen_at: datetime
    first_seen_poll: int
    event: EventTime | None
    categories: tuple[str, ...] = ()
    held_by: str | None = None  # the filter rule that held it, when its status is "filtered"


def when_key(event: EventTime | None) -> str | None:
    """A short text that changes whenever the event's shown time changes."""
    if event is None:
        return None
    end = event.end.isoformat() if event.end else ""
    return f"{event.start.isoformat()}|{end}|{int(event.all_day)}{int(event.time_known)}"


def state_of(row: FeedRow) -> FeedState:
    """A feed row as its poll state."""
    return FeedState(
        row.id, row.url, row.polls, row.first_poll_done, row.largest_size_seen,
        row.consecutive_failures, row.etag, row.last_modified, row.body_hash, row.last_poll_at,
        row.last_success_at, row.next_poll_at, row.last_error, row.last_error_kind,
    )  # fmt: skip


def _event(row: EventRow | None) -> EventTime | None:
    if row is None:
        return None
    return EventTime(row.starts_at, row.ends_at, row.all_day, row.time_known, row.place)


def record_of(row: FeedItemRow, event: EventRow | None = None) -> ItemRecord:
    """A stored item row (and its event row) as a plain record."""
    return ItemRecord(
        row.id, row.feed_id, row.identity, row.kind, row.title, row.link, row.summary,
        row.published, row.newsletter_number, row.fingerprint, row.status, row.first_seen_at,
        row.first_seen_poll, _event(event), tuple(row.categories or ()), row.held_by,
    )  # fmt: skip


# --- feeds ---------------------------------------------------------------------------------------


async def find_feed(session: AsyncSession, url: str) -> FeedState | None:
    row = await session.scalar(select(FeedRow).where(FeedRow.url == url))
    return None if row is None else state_of(row)


async def feed_state(session: AsyncSession, url: str) -> FeedState:
    """The stored state of the feed at ``url``, created empty on first use."""
    row = await session.scalar(select(FeedRow).where(FeedRow.url == url))
    if row is None:
        row = FeedRow(url=url, polls=0, first_poll_done=False, consecutive_failures=0)
        row.largest_size_seen = 0
        session.add(row)
        await session.flush()
    return state_of(row)


async def poll_succeeded(
    session: AsyncSession,
    url: str,
    *,
    now: datetime,
    validators: tuple[str | None, str | None, str | None],
    next_poll_at: datetime,
    largest: int | None,
) -> int:
    """Count a successful poll, store the new validators and reset the failures; ``largest`` is
    given once a batch was read. The poll's number."""
    etag, last_modified, body_hash = validators
    values: dict[str, object] = {
        "polls": FeedRow.polls + 1, "last_poll_at": now, "last_success_at": now,
        "consecutive_failures": 0, "next_poll_at": next_poll_at, "etag": etag,
        "last_modified": last_modified, "body_hash": body_hash,
    }  # fmt: skip
    if largest is not None:
        values |= {"largest_size_seen": largest, "first_poll_done": True}
    statement = update(FeedRow).where(FeedRow.url == url).values(**values)
    # No object of this unit of work is read after it: nothing in the session to synchronise.
    statement = statement.returning(FeedRow.polls).execution_options(synchronize_session=False)
    return int(await session.scalar(statement) or 0)


async def poll_failed(
    session: AsyncSession,
    feed_id: int,
    *,
    now: datetime,
    kind: str,
    error: str,
    next_poll_at: datetime,
) -> None:
    """Record a failed poll: its kind, a short reason, one more failure, the next try."""
    await session.execute(
        update(FeedRow)
        .where(FeedRow.id == feed_id)
        .values(
            polls=FeedRow.polls + 1,
            last_poll_at=now,
            last_error=error[:ERROR_CHARS],
            last_error_kind=kind,
            consecutive_failures=FeedRow.consecutive_failures + 1,
            next_poll_at=next_poll_at,
        )
    )


async def items_known(session: AsyncSession, feed_id: int) -> int:
    count = await session.scalar(select(func.count()).where(FeedItemRow.feed_id == feed_id))
    return int(count or 0)


# --- items ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexEntry:
    """What dedupe, pruning and the age of new items need of a stored item."""

    id: int
    identity: str
    fingerprint: str
    status: str
    last_seen_poll: int
    kind: str
    published: datetime | None


_INDEX_COLUMNS = (
    FeedItemRow.id, FeedItemRow.identity, FeedItemRow.fingerprint, FeedItemRow.status,
    FeedItemRow.last_seen_poll, FeedItemRow.kind, FeedItemRow.published,
)  # fmt: skip


async def feed_index(session: AsyncSession, feed_id: int) -> list[IndexEntry]:
    """Every stored item of the feed (the dedupe window, bounded by pruning), oldest first."""
    rows = await session.execute(
        select(*_INDEX_COLUMNS).where(FeedItemRow.feed_id == feed_id).order_by(FeedItemRow.id)
    )
    return [IndexEntry(*row) for row in rows.tuples()]


async def state_and_index(session: AsyncSession, url: str) -> tuple[FeedState, list[IndexEntry]]:
    """The feed's state and its stored items in one query; the feed is created on first use."""
    rows = await session.execute(
        select(FeedRow, *_INDEX_COLUMNS)
        .outerjoin(FeedItemRow, FeedItemRow.feed_id == FeedRow.id)
        .where(FeedRow.url == url)
        .order_by(FeedItemRow.id)
    )
    found = rows.tuples().all()
    if not found:
        return await feed_state(session, url), []
    index = [IndexEntry(*row[1:]) for row in found if row[1] is not None]
    return state_of(found[0][0]), index


async def items_by_identity(
    session: AsyncSession, feed_id: int, identities: Iterable[str]
) -> dict[str, ItemRecord]:
    """The stored items of the feed among ``identities``."""
    rows = await session.scalars(
        select(FeedItemRow).where(
            FeedItemRow.feed_id == feed_id, FeedItemRow.identity.in_(list(identities))
        )
    )
    return {row.identity: record_of(row) for row in rows}


async def deferred_items(session: AsyncSession, feed_id: int) -> list[ItemRecord]:
    """Items waiting for an announcement slot, in the order they were found."""
    rows = await session.execute(
        select(FeedItemRow, EventRow)
        .outerjoin(EventRow, EventRow.feed_item_id == FeedItemRow.id)
        .where(FeedItemRow.feed_id == feed_id, FeedItemRow.status == DEFERRED)
        .order_by(FeedItemRow.id)
    )
    return [record_of(item, event) for item, event in rows.tuples()]


async def latest_items(session: AsyncSession, feed_id: int, limit: int = 50) -> list[ItemRecord]:
    """The feed's items, the most recently published first (undated ones last), with their
    event times."""
    rows = await session.execute(
        select(FeedItemRow, EventRow)
        .outerjoin(EventRow, EventRow.feed_item_id == FeedItemRow.id)
        .where(FeedItemRow.feed_id == feed_id)
        .order_by(FeedItemRow.published.desc().nulls_last(), FeedItemRow.id.desc())
        .limit(limit)
    )
    return [record_of(item, event) for item, event in rows.tuples()]


def beyond_window(entries: Sequence[IndexEntry], keep: int) -> list[int]:
    """The ids of the least recently seen items beyond ``keep``; deferred items never go."""
    kept = [entry for entry in entries if entry.status != DEFERRED]
    kept.sort(key=lambda entry: (entry.last_seen_poll, entry.id), reverse=True)
    return [entry.id for entry in kept[keep:]]
