"""The feed commands' test rig: the dispatcher with the feed commands on the watcher rig's
database and feed server, the configuration's feeds seeded as at start, and one way to ask."""

from __future__ import annotations

import itertools

from bot.commands import feeds as feed_commands
from bot.commands import meta
from bot.commands.router import Dispatcher
from bot.config import Config, parse_config
from bot.feeds.fetch import FeedFetcher, user_agent
from bot.feeds.seed import seed
from bot.messages import IncomingMessage
from bot.services.ratelimit import RateLimiter
from bot.services.rooms import RoomDirectory
from tests import factory
from tests.fakes import START
from tests.feeds.rig import ROOMS, Rig

ORGANISER = "@orga:localhost"
HUB_ROOM = "!hub:localhost"
_numbers = itertools.count(1)


def config(rig: Rig, feeds: list[str] | None = None) -> Config:
    """The hub's two feeds on the rig's server, or ``feeds`` (YAML flow mappings)."""
    if feeds is None:
        feeds = [
            f'{{url: "{rig.server.url("/infolettre.xml")}", name: Infolettre}}',
            f'{{url: "{rig.server.url("/event.xml")}", name: Événements, default_kind: event}}',
        ]
    text = f"""\
matrix: {{homeserver: "http://127.0.0.1:8008", user_id: "@bot:localhost", password: pw}}
rooms: ["{HUB_ROOM}"]
organisers: ["{ORGANISER}"]
feeds: [{", ".join(feeds)}]
fetch: {{allow_private: ["127.0.0.1"]}}
"""
    return parse_config(text, source="test.yaml", environ={})


def dispatcher(
    rig: Rig, settings: Config | None = None, directory: RoomDirectory | None = None
) -> Dispatcher:
    """The dispatcher with the feed commands, on the rig's database and feed server; the
    announcements go to the rig's rooms."""
    settings = settings or config(rig)
    fetcher = FeedFetcher(rig.http, user_agent=user_agent("test", None), clock=rig.clock)
    rooms = factory.hub_rooms(rig.db, rig.clock, ROOMS)
    services = factory.services(
        settings, rig.clock, rig.db, fetcher=fetcher, rooms=rooms, directory=directory
    )
    handler = Dispatcher(services, RateLimiter(rig.clock, burst=50, per_seconds=1))
    handler.include(meta.router, feed_commands.router)
    return handler


async def seeded(rig: Rig, settings: Config | None = None) -> None:
    """The configuration's feeds in the database, as the bot's start puts them."""
    async with rig.db.session() as session:
        await seed(session, (settings or config(rig)).feeds, rig.clock.now())


async def ask(
    rig: Rig, body: str, sender: str = ORGANISER, handler: Dispatcher | None = None
) -> str:
    """Dispatch ``body`` in the hub room and return the one answer's text."""
    before = len(await rig.queued())
    message = IncomingMessage(HUB_ROOM, f"$cmd{next(_numbers)}", sender, body, START)
    await (handler or dispatcher(rig)).handle(message)
    answers = [q for q in (await rig.queued())[before:] if q.room_id == HUB_ROOM]
    assert len(answers) == 1, answers
    return answers[0].body


class KnownRooms:
    """A homeserver on which ``aliases`` resolve and the bot is in the ``joined`` rooms."""

    def __init__(self, joined: dict[str, str], elsewhere: dict[str, str] | None = None) -> None:
        self.aliases = {**joined, **(elsewhere or {})}
        self.joined_ids = set(joined.values())

    async def resolve_room(self, room: str) -> str | None:
        return room if room.startswith("!") else self.aliases.get(room)

    def joined(self, room_id: str) -> bool:
        return room_id in self.joined_ids
