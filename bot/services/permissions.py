"""Who is an organiser: the configured list, plus members with enough power in the hub's rooms."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from bot.messages import Audience


class RoomPowers(Protocol):
    """What the Matrix layer knows about power in rooms."""

    def power_level(self, room_id: str, user_id: str) -> int | None: ...

    def room_version(self, room_id: str) -> str | None: ...

    async def room_creators(self, room_id: str) -> set[str]: ...


def creators_are_privileged(room_version: str | None) -> bool:
    """Room version 12 (and its preview, 'hydra') gives creators unlimited power."""
    if room_version is None:
        return False
    if room_version.isdigit():
        return int(room_version) >= 12
    return "hydra" in room_version


class Permissions:
    """Answers ``is_organiser`` from the config list and the power levels of the hub's rooms."""

    def __init__(
        self,
        organisers: Iterable[str],
        hub: Audience,
        powers: RoomPowers,
        *,
        threshold: int = 50,
    ) -> None:
        self.organisers = frozenset(organisers)
        self.hub = hub
        self.powers = powers
        self.threshold = threshold
        self._creators: dict[str, set[str]] = {}

    async def is_organiser(self, user_id: str) -> bool:
        if user_id in self.organisers:
            return True
        for room_id in self.hub.rooms:
            if await self._powerful_in(room_id, user_id):
                return True
        return False

    async def _powerful_in(self, room_id: str, user_id: str) -> bool:
        level = self.powers.power_level(room_id, user_id)
        if level is not None and level >= self.threshold:
            return True
        if creators_are_privileged(self.powers.room_version(room_id)):
            return user_id in await self._room_creators(room_id)
        return False

    async def _room_creators(self, room_id: str) -> set[str]:
        if room_id not in self._creators:
            self._creators[room_id] = await self.powers.room_creators(room_id)
        return self._creators[room_id]
