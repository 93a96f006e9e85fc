"""Small persistent facts: named values (the sync token), handled events, room upgrades."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import insert_or_ignore
from bot.storage.models import BotState, HandledEvent, RoomRedirect


async def get_value(session: AsyncSession, key: str) -> str | None:
    row = await session.get(BotState, key)
    return None if row is None else row.value


async def set_value(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(BotState, key)
    if row is None:
        session.add(BotState(key=key, value=value))
    else:
        row.value = value


async def was_handled(session: AsyncSession, event_id: str) -> bool:
    return await session.get(HandledEvent, event_id) is not None


async def claim_event(session: AsyncSession, event_id: str, room_id: str, now: datetime) -> bool:
    """Record that the bot acts on an event; False if it already did (one round trip).

    Called in the same unit of work as the action, so the claim and the action commit together.
    """
    statement = insert_or_ignore(session, HandledEvent, ["event_id"])
    values = {"event_id": event_id, "room_id": room_id, "handled_at": now}
    result = await session.execute(statement.values(**values))
    return bool(getattr(result, "rowcount", 0) == 1)


async def redirects(session: AsyncSession) -> dict[str, str]:
    """Every known room upgrade, old room id to new."""
    rows = await session.execute(select(RoomRedirect.old_room_id, RoomRedirect.new_room_id))
    return dict(rows.tuples().all())


async def forget_handled_before(session: AsyncSession, cutoff: datetime) -> None:
    """Prune records older than any event the bot could still be handed."""
    await session.execute(delete(HandledEvent).where(HandledEvent.handled_at < cutoff))


async def add_redirect(session: AsyncSession, old: str, new: str, now: datetime) -> None:
    """Remember that ``old`` was upgraded to ``new``."""
    row = await session.get(RoomRedirect, old)
    if row is None:
        session.add(RoomRedirect(old_room_id=old, new_room_id=new, created_at=now))
    else:
        row.new_room_id = new


def follow(redirects: dict[str, str], room_id: str) -> str:
    """Follow room upgrades to the current room (bounded, in case of a loop)."""
    for _ in range(10):
        if room_id not in redirects:
            return room_id
        room_id = redirects[room_id]
    return room_id


async def resolve_room(session: AsyncSession, room_id: str) -> str:
    """The current room for ``room_id``, reading the upgrades from the database."""
    return follow(await redirects(session), room_id)
