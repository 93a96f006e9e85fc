"""The hub's rooms: resolved and joined at start, followed when a room is upgraded."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.services.rooms import HubRooms
from bot.storage.db import Database
from tests.fakes import FakeClock

HUB, SALON, ORGA = "!hub:hub.test", "!salon:hub.test", "!orga:hub.test"


@dataclass
class Directory:
    """A homeserver that knows two aliases; the bot is in the hub room only, and joins on ask."""

    aliases: dict[str, str] = field(
        default_factory=lambda: {"#salon:hub.test": SALON, "#orga:hub.test": ORGA}
    )
    rooms: set[str] = field(default_factory=lambda: {HUB})
    joins: list[str] = field(default_factory=list)

    async def resolve_room(self, room: str) -> str | None:
        return room if room.startswith("!") else self.aliases.get(room)

    def joined(self, room_id: str) -> bool:
        return room_id in self.rooms

    async def join(self, room_id: str) -> bool:
        self.joins.append(room_id)
        self.rooms.add(room_id)
        return True


async def test_configured_rooms_are_resolved_and_joined(db: Database) -> None:
    """Ids and aliases become room ids, rooms the bot is not in are joined, an alias nobody
    knows is left out; organisers hear in their own room."""
    rooms, directory = HubRooms(db, FakeClock()), Directory()
    await rooms.resolve([HUB, "#salon:hub.test", "#inconnu:hub.test"], "#orga:hub.test", directory)
    assert rooms.rooms == [HUB, SALON]
    assert directory.joins == [SALON, ORGA]
    assert (rooms.organisers, list(rooms.shared)) == ((ORGA,), [HUB, SALON, ORGA])


async def test_an_upgraded_room_replaces_the_old_one_and_is_remembered(db: Database) -> None:
    """After an upgrade the new room is one of the hub's; what is meant for the old room goes
    to the new one, and a later start resolves the old id to the new room."""
    clock = FakeClock()
    rooms = HubRooms(db, clock)
    await rooms.resolve([HUB], None, Directory())
    await rooms.upgraded(HUB, "!hub-v12:hub.test")
    assert rooms.rooms == ["!hub-v12:hub.test"] and rooms.organisers == ("!hub-v12:hub.test",)
    async with db.session() as session:
        assert await rooms.follow(session, HUB) == "!hub-v12:hub.test"
    later = HubRooms(db, clock)
    await later.resolve([HUB], None, Directory(rooms={HUB, "!hub-v12:hub.test"}))
    assert later.rooms == ["!hub-v12:hub.test"]
