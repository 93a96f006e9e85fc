"""The reminders repository: reminders, their next occurrence, and each occurrence handled once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import insert_or_ignore
from bot.storage.models import OutboxRow, ReminderFiringRow, ReminderRow

ONE_OFF, RECURRING = "one_off", "recurring"
ACTIVE, DONE, MISSED, CANCELLED = "active", "done", "missed", "cancelled"


@dataclass(frozen=True)
class Reminder:
    """One reminder, as stored; ``at`` is its next (or last) occurrence, in UTC."""

    id: int
    public_id: str
    room_id: str
    author: str
    text: str
    kind: str
    at: datetime
    cron: dict[str, str] | None
    timezone: str
    mention_room: bool
    language: str
    status: str
    created_at: datetime
    last_fired_at: datetime | None
    last_outbox_id: int | None


@dataclass(frozen=True)
class NewReminder:
    """What a new reminder is made of, before it has an id."""

    public_id: str
    room_id: str
    author: str
    text: str
    kind: str
    at: datetime
    cron: dict[str, str] | None
    timezone: str
    mention_room: bool
    language: str


@dataclass(frozen=True)
class Firing:
    """One occurrence handled: posted (``outbox_id``), maybe late, or reported as missed."""

    reminder_id: int
    occurrence: datetime
    outbox_id: int | None
    fired_at: datetime
    late: bool
    missed: bool


@dataclass(frozen=True)
class Listed:
    """A reminder with the state of its last message in the outbox (None: nothing posted yet)."""

    reminder: Reminder
    delivery: str | None


def _reminder(row: ReminderRow) -> Reminder:
    return Reminder(
        id=row.id,
        public_id=row.public_id,
        room_id=row.room_id,
        author=row.author,
        text=row.text,
        kind=row.kind,
        at=row.at,
        cron=dict(row.cron) if row.cron is not None else None,
        timezone=row.timezone,
        mention_room=row.mention_room,
        language=row.language,
        status=row.status,
        created_at=row.created_at,
        last_fired_at=row.last_fired_at,
        last_outbox_id=row.last_outbox_id,
    )


async def add(session: AsyncSession, new: NewReminder, now: datetime) -> Reminder:
    """Store an active reminder."""
    row = ReminderRow(**vars(new), status=ACTIVE, created_at=now)
    session.add(row)
    await session.flush()
    return _reminder(row)


async def public_id_taken(session: AsyncSession, public_id: str) -> bool:
    found = await session.scalar(select(ReminderRow.id).where(ReminderRow.public_id == public_id))
    return found is not None


async def by_public_id(session: AsyncSession, public_id: str) -> Reminder | None:
    row = await session.scalar(select(ReminderRow).where(ReminderRow.public_id == public_id))
    return None if row is None else _reminder(row)


async def locked(session: AsyncSession, reminder_id: int) -> Reminder | None:
    """The reminder, locked until the unit of work ends (PostgreSQL; SQLite has one writer)."""
    statement = select(ReminderRow).where(ReminderRow.id == reminder_id).with_for_update()
    row = await session.scalar(statement)
    return None if row is None else _reminder(row)


async def active(session: AsyncSession) -> list[Reminder]:
    """Every active reminder, soonest first."""
    statement = select(ReminderRow).where(ReminderRow.status == ACTIVE)
    rows = await session.scalars(statement.order_by(ReminderRow.at, ReminderRow.id))
    return [_reminder(row) for row in rows]


async def due(session: AsyncSession, now: datetime) -> list[Reminder]:
    """Active reminders whose next occurrence is not after ``now``, oldest first."""
    statement = select(ReminderRow).where(ReminderRow.status == ACTIVE, ReminderRow.at <= now)
    rows = await session.scalars(statement.order_by(ReminderRow.at, ReminderRow.id))
    return [_reminder(row) for row in rows]


async def listed(session: AsyncSession, limit: int = 50) -> list[Listed]:
    """Active reminders, and fired ones whose message is not sent yet, soonest first."""
    statement = (
        select(ReminderRow, OutboxRow.status)
        .outerjoin(OutboxRow, OutboxRow.id == ReminderRow.last_outbox_id)
        .where(
            (ReminderRow.status == ACTIVE)
            | ((ReminderRow.status == DONE) & (OutboxRow.status != "sent"))
        )
        .order_by(ReminderRow.at, ReminderRow.id)
        .limit(limit)
    )
    rows = await session.execute(statement)
    return [Listed(_reminder(row), status) for row, status in rows.tuples()]


async def record_firing(session: AsyncSession, firing: Firing) -> bool:
    """Record that an occurrence was handled; False if it already was (one round trip)."""
    statement = insert_or_ignore(session, ReminderFiringRow, ["reminder_id", "occurrence"])
    result = await session.execute(statement.values(**vars(firing)))
    return bool(getattr(result, "rowcount", 0) == 1)


async def firings(session: AsyncSession, reminder_id: int) -> list[Firing]:
    """The occurrences of a reminder handled so far, oldest first."""
    statement = select(ReminderFiringRow).where(ReminderFiringRow.reminder_id == reminder_id)
    rows = await session.scalars(statement.order_by(ReminderFiringRow.occurrence))
    return [
        Firing(r.reminder_id, r.occurrence, r.outbox_id, r.fired_at, r.late, r.missed) for r in rows
    ]


async def advance(
    session: AsyncSession,
    reminder_id: int,
    *,
    at: datetime,
    status: str,
    fired: tuple[datetime, int] | None = None,
) -> None:
    """Move a reminder to its next occurrence (or end it); ``fired`` = (when, outbox id)."""
    values: dict[str, object] = {"at": at, "status": status}
    if fired is not None:
        values |= {"last_fired_at": fired[0], "last_outbox_id": fired[1]}
    await session.execute(update(ReminderRow).where(ReminderRow.id == reminder_id).values(values))


async def set_status(session: AsyncSession, reminder_id: int, status: str) -> None:
    await session.execute(
        update(ReminderRow).where(ReminderRow.id == reminder_id).values(status=status)
    )


async def count_active(session: AsyncSession, *, due_before: datetime | None = None) -> int:
    """How many reminders are still planned (only those due before ``due_before`` when given)."""
    statement = select(func.count()).where(ReminderRow.status == ACTIVE)
    if due_before is not None:
        statement = statement.where(ReminderRow.at < due_before)
    return int(await session.scalar(statement) or 0)
