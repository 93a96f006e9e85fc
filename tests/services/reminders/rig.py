"""Shared by the reminder tests: known rooms, a service on a fake clock, the outbox read back."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.services.reminders import Draft, ReminderService
from bot.storage import reminders
from bot.storage.db import Database
from bot.storage.models import OutboxRow
from bot.storage.reminders import Firing, Reminder
from bot.when import Schedule
from tests.factory import hub_rooms, postbox
from tests.fakes import FakeClock

PARIS = ZoneInfo("Europe/Paris")
HUB = "!hub:localhost"
OTHER = "!autre:localhost"
LEFT = "!parti:localhost"
ORGANISER = "@orga:localhost"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 23 November 2026, 10:00 in Paris


def paris(text: str) -> datetime:
    """A Paris wall-clock time written ``YYYY-MM-DD HH:MM``, as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


@dataclass
class FakeRooms:
    """The rooms the bot is in, and the aliases it can resolve."""

    joined_rooms: set[str] = field(default_factory=lambda: {HUB, OTHER})
    aliases: dict[str, str] = field(
        default_factory=lambda: {"#autre:localhost": OTHER, "#parti:localhost": LEFT}
    )

    async def resolve_room(self, room: str) -> str | None:
        return room if room.startswith("!") else self.aliases.get(room)

    def joined(self, room_id: str) -> bool:
        return room_id in self.joined_rooms


def service(
    db: Database,
    clock: FakeClock,
    *,
    grace: timedelta = timedelta(hours=1),
    rooms: FakeRooms | None = None,
) -> ReminderService:
    """A reminder service as the app builds it, posting to the real outbox (nothing is sent)."""
    return ReminderService(
        db,
        postbox(clock, db),
        clock,
        tz=PARIS,
        grace=grace,
        language="fr",
        rooms=rooms or FakeRooms(),
        hub=hub_rooms(db, clock, [HUB]),
        rng=random.Random(7),
    )


async def add(
    reminders_service: ReminderService,
    schedule: Schedule,
    text: str = "Point équipe",
    *,
    room_id: str = HUB,
    mention_room: bool = False,
) -> Reminder:
    """A reminder set by the organiser, committed."""
    draft = Draft(room_id, ORGANISER, text, schedule, mention_room, "fr")
    async with reminders_service.db.session() as session:
        return await reminders_service.create(session, draft, reminders_service.clock.now())


def advance_to(clock: FakeClock, moment: datetime) -> None:
    clock.advance((moment - clock.now()).total_seconds())


@dataclass(frozen=True)
class Posted:
    """A message in the outbox, as the room will show it."""

    room_id: str
    body: str
    mentions: dict[str, Any]
    dedupe_key: str | None


async def posted(db: Database) -> list[Posted]:
    """Every message queued so far, in order."""
    async with db.session() as session:
        rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
        return [
            Posted(r.room_id, r.content["body"], r.content["m.mentions"], r.dedupe_key)
            for r in rows
        ]


async def stored(db: Database, public_id: str) -> Reminder:
    async with db.session() as session:
        found = await reminders.by_public_id(session, public_id)
    assert found is not None
    return found


async def firings(db: Database, reminder: Reminder) -> list[Firing]:
    async with db.session() as session:
        return await reminders.firings(session, reminder.id)
