"""Automatic agenda posts: each (kind, subject) posted, or reported missed, once per room."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import state
from bot.storage.db import insert_or_ignore
from bot.storage.models import AutoPostRow

WATERMARK = "agenda.posts_checked_until"
"""Every automatic post due up to this moment was handled (the catch-up starts after it)."""


@dataclass(frozen=True)
class AutoPost:
    """One automatic post to one room: ``kind`` (digest, reminder_7d…), ``subject`` (a week or
    an event number), the moment it was due, and what became of it."""

    kind: str
    subject: str
    room_id: str
    slot: datetime
    outbox_id: int | None
    posted_at: datetime
    late: bool = False
    missed: bool = False


async def record(session: AsyncSession, post: AutoPost) -> bool:
    """Record the post; False if this room already had it (one round trip)."""
    statement = insert_or_ignore(session, AutoPostRow, ["kind", "subject", "room_id"])
    result = await session.execute(statement.values(**vars(post)))
    return bool(getattr(result, "rowcount", 0) == 1)


async def handled(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of the (kind, subject) pairs were already posted or reported."""
    wanted = list(set(keys))
    if not wanted:
        return set()
    statement = select(AutoPostRow.kind, AutoPostRow.subject).where(
        tuple_(AutoPostRow.kind, AutoPostRow.subject).in_(wanted)
    )
    return set((await session.execute(statement.distinct())).tuples().all())


async def all_posts(session: AsyncSession) -> list[AutoPost]:
    """Every automatic post recorded, oldest first."""
    rows = await session.scalars(select(AutoPostRow).order_by(AutoPostRow.id))
    return [
        AutoPost(r.kind, r.subject, r.room_id, r.slot, r.outbox_id, r.posted_at, r.late, r.missed)
        for r in rows
    ]


async def watermark(session: AsyncSession) -> datetime | None:
    """Up to when automatic posts were handled; None before the first run."""
    value = await state.get_value(session, WATERMARK)
    return None if value is None else datetime.fromisoformat(value)


async def set_watermark(session: AsyncSession, moment: datetime) -> None:
    await state.set_value(session, WATERMARK, moment.isoformat())
