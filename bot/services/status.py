"""The bot's own state for organisers (``!statut``): its version, the outbox, its rooms."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import __version__
from bot.storage import outbox


@dataclass(frozen=True)
class Summary:
    """What ``!statut`` shows."""

    version: str
    pending: int
    failed: int
    rooms: int


class BotStatus:
    """Reads the outbox's counts; the rooms are the configured ones."""

    def __init__(self, configured_rooms: int) -> None:
        self.configured_rooms = configured_rooms

    async def summary(self, session: AsyncSession) -> Summary:
        """The version, messages waiting or refused for good, and the configured rooms."""
        counts = await outbox.counts(session)
        pending, failed = counts.get(outbox.PENDING, 0), counts.get(outbox.FAILED, 0)
        return Summary(__version__, pending, failed, self.configured_rooms)
