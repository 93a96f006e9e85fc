"""The tests' one way to build the services: the application's own ``build_services``, with the
Matrix side and the feed fetcher replaced by fakes unless a test gives its own."""

from __future__ import annotations

from collections.abc import Sequence

from bot.clock import Clock
from bot.config import Config
from bot.errors import FeedUnreachable, TransientDeliveryError
from bot.feeds.fetch import FetchResult, Validators
from bot.feeds.watch import Fetcher
from bot.matrix.postbox import MatrixPostbox
from bot.matrix.sender import Sender
from bot.messages import Document, FileDrop, Uploaded
from bot.services.permissions import RoomPowers
from bot.services.registry import Outside, Services, build_services
from bot.services.rooms import HubRooms, RoomDirectory
from bot.services.subscriptions import DirectChats
from bot.services.subscriptions.confirm import Mailer
from bot.storage.db import Database
from bot.trust import DeviceTrust
from tests.fakes import NoPowers


class NoRooms:
    """A homeserver on which no alias resolves and the bot is in no room."""

    async def resolve_room(self, room: str) -> str | None:
        return room if room.startswith("!") else None

    def joined(self, room_id: str) -> bool:
        return False


class NoDirect:
    """Nobody has a DM with the bot, and none can be opened."""

    async def open(self, user_id: str) -> str:
        raise TransientDeliveryError("no DM in this test")

    async def is_private(self, room_id: str, user_id: str) -> bool:
        return False

    def reachable(self, room_id: str, user_id: str) -> bool:
        return False

    def display_name(self, user_id: str) -> str | None:
        return None


class NoFiles:
    """No file can be uploaded."""

    async def upload(self, room_id: str, document: Document) -> Uploaded:
        raise TransientDeliveryError("no upload in this test")

    async def post(
        self, session: object, uploaded: Uploaded, *, private_for: str | None = None
    ) -> int:
        raise AssertionError("nothing was uploaded")


class Offline:
    """A feed fetcher with no network: every fetch fails as unreachable."""

    async def fetch(self, url: str, previous: Validators) -> FetchResult:
        raise FeedUnreachable("offline in this test")


def hub_rooms(
    db: Database, clock: Clock, rooms: Sequence[str] = (), organiser_room: str | None = None
) -> HubRooms:
    """The hub's rooms as the application holds them once resolved."""
    hub = HubRooms(db, clock)
    hub.rooms, hub.organiser_room = list(rooms), organiser_room
    return hub


def postbox(clock: Clock, db: Database, sender: Sender | None = None) -> MatrixPostbox:
    """The real postbox, following the room upgrades stored in ``db``; without a sender the
    rows wait in the outbox for the test to read."""
    return MatrixPostbox(clock, sender, HubRooms(db, clock))


def services(
    config: Config,
    clock: Clock,
    db: Database,
    *,
    rooms: HubRooms | None = None,
    outbox: MatrixPostbox | None = None,
    powers: RoomPowers | None = None,
    directory: RoomDirectory | None = None,
    direct: DirectChats | None = None,
    files: FileDrop | None = None,
    fetcher: Fetcher | None = None,
    device_trust: DeviceTrust | None = None,
    mailer: Mailer | None = None,
) -> Services:
    """Every service as the application builds them, on a real database and outbox."""
    rooms = rooms or hub_rooms(db, clock)
    outside = Outside(
        powers or NoPowers(), directory or NoRooms(), direct or NoDirect(), files or NoFiles(),
        fetcher or Offline(), lambda: device_trust, mailer,
    )  # fmt: skip
    return build_services(
        config, clock, db, outbox or MatrixPostbox(clock, None, rooms), rooms, outside
    )
