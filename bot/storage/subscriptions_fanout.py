"""Newsletters sent by DM: one fan-out per item, one outbox row per subscriber, and progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import insert_or_ignore
from bot.storage.models import NewsletterDmRow, NewsletterFanoutRow, OutboxRow
from bot.storage.outbox import FAILED, PENDING, SENT


@dataclass(frozen=True)
class Progress:
    """Where one newsletter's delivery by DM stands."""

    item_id: int
    title: str
    queued: int
    unreachable: int
    sent: int
    failed: int
    pending: int
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Failure:
    """A newsletter DM the homeserver refused for good."""

    dm_id: int
    item_id: int
    subscriber_id: int | None


async def start(session: AsyncSession, item_id: int, title: str, now: datetime) -> bool:
    """Open the item's fan-out; False when it was opened before (nothing is queued twice)."""
    values = {"item_id": item_id, "title": title, "queued": 0, "unreachable": 0,
              "started_at": now}  # fmt: skip
    statement = insert_or_ignore(session, NewsletterFanoutRow, ["item_id"]).values(**values)
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0) == 1)


async def record(
    session: AsyncSession, item_id: int, sends: Sequence[tuple[int, int]], unreachable: int
) -> None:
    """The fan-out's ``(subscriber id, outbox id)`` pairs and how many were found unreachable."""
    if sends:
        rows = [{"item_id": item_id, "subscriber_id": subscriber_id, "outbox_id": outbox_id,
                 "failure_seen": False} for subscriber_id, outbox_id in sends]  # fmt: skip
        await session.execute(insert(cast(Table, NewsletterDmRow.__table__)), rows)
    await session.execute(
        update(NewsletterFanoutRow)
        .where(NewsletterFanoutRow.item_id == item_id)
        .values(queued=len(sends), unreachable=unreachable)
    )


def _count(status: str) -> ColumnElement[int]:
    return func.sum(case((OutboxRow.status == status, 1), else_=0))


async def progress(
    session: AsyncSession, *, unfinished: bool = False, limit: int = 3
) -> list[Progress]:
    """The latest fan-outs (or every unfinished one), newest first, with their outbox states."""
    counts = (
        select(
            NewsletterDmRow.item_id,
            _count(SENT).label("sent"),
            _count(FAILED).label("failed"),
            _count(PENDING).label("pending"),
        )
        .join(OutboxRow, OutboxRow.id == NewsletterDmRow.outbox_id)
        .group_by(NewsletterDmRow.item_id)
        .subquery()
    )
    query = (
        select(NewsletterFanoutRow, counts.c.sent, counts.c.failed, counts.c.pending)
        .outerjoin(counts, counts.c.item_id == NewsletterFanoutRow.item_id)
        .order_by(NewsletterFanoutRow.started_at.desc(), NewsletterFanoutRow.item_id.desc())
    )
    if unfinished:
        query = query.where(NewsletterFanoutRow.finished_at.is_(None))
    else:
        query = query.limit(limit)
    rows = await session.execute(query)
    return [_progress(row, sent, failed, pending) for row, sent, failed, pending in rows.tuples()]


def _progress(row: NewsletterFanoutRow, sent: object, failed: object, pending: object) -> Progress:
    return Progress(
        row.item_id, row.title, row.queued, row.unreachable, int(cast(int, sent or 0)),
        int(cast(int, failed or 0)), int(cast(int, pending or 0)), row.started_at, row.finished_at,
    )  # fmt: skip


async def finish(session: AsyncSession, item_id: int, now: datetime) -> None:
    await session.execute(
        update(NewsletterFanoutRow)
        .where(NewsletterFanoutRow.item_id == item_id)
        .values(finished_at=now)
    )


async def new_failures(session: AsyncSession) -> list[Failure]:
    """Newsletter DMs refused for good that nobody has acted upon yet."""
    rows = await session.execute(
        select(NewsletterDmRow.id, NewsletterDmRow.item_id, NewsletterDmRow.subscriber_id)
        .join(OutboxRow, OutboxRow.id == NewsletterDmRow.outbox_id)
        .where(OutboxRow.status == FAILED, NewsletterDmRow.failure_seen.is_(False))
        .order_by(NewsletterDmRow.id)
    )
    return [Failure(dm_id, item_id, subscriber_id) for dm_id, item_id, subscriber_id in rows]


async def mark_seen(session: AsyncSession, failures: Sequence[Failure]) -> None:
    if failures:
        await session.execute(
            update(NewsletterDmRow)
            .where(NewsletterDmRow.id.in_([failure.dm_id for failure in failures]))
            .values(failure_seen=True)
        )
