"""The bot's own state for organisers (``!statut``): its version, the outbox, its rooms, and
whether its device is cross-signed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import __version__
from bot.storage import outbox
from bot.trust import DeviceTrust


@dataclass(frozen=True)
class Summary:
    """What ``!statut`` shows."""

    version: str
    pending: int
    failed: int
    rooms: int
    device: DeviceTrust | None = None  # None: not checked (encryption off)


class BotStatus:
    """Reads the outbox's counts; the rooms are the configured ones; the device's trust is the
    identity step's latest outcome."""

    def __init__(
        self,
        configured_rooms: int,
        device_trust: Callable[[], DeviceTrust | None] = lambda: None,
    ) -> None:
        self.configured_rooms = configured_rooms
        self.device_trust = device_trust

    async def summary(self, session: AsyncSession) -> Summary:
        """The version, messages waiting or refused for good, and the configured rooms."""
        counts = await outbox.counts(session)
        pending, failed = counts.get(outbox.PENDING, 0), counts.get(outbox.FAILED, 0)
        return Summary(__version__, pending, failed, self.configured_rooms, self.device_trust())
