"""The watcher test rig: a real database, the real outbox postbox, a fake clock, a feed server."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.config import AnnouncementsConfig, FeedConfig
from bot.feeds.fetch import FeedFetcher, user_agent
from bot.feeds.record import NewsletterFanOut, PollRecorder
from bot.feeds.settings import FeedSettings
from bot.feeds.watch import FeedWatcher
from bot.i18n import catalogue
from bot.matrix.sender import Sender
from bot.messages import Postbox
from bot.services.announcements import Announcer
from bot.storage import outbox
from bot.storage.db import Database
from bot.storage.models import DeliveryRow, FeedItemRow, OutboxRow
from tests import storage_fixtures
from tests.factory import hub_rooms
from tests.factory import postbox as make_postbox
from tests.fakes import FakeClock, RecordingTransport
from tests.feeds.feedserver import FeedServer, feed_server

ROOMS = ("!salon-a:hub.test", "!salon-b:hub.test")
ORGANISERS = "!orga:hub.test"
PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Queued:
    """An outbox row as a test reads it."""

    room_id: str
    content: dict[str, Any]
    dedupe_key: str | None
    status: str

    @property
    def body(self) -> str:
        return str(self.content["body"])


@dataclass
class Rig:
    """Builds watchers on one database, clock, HTTP session and feed server."""

    db: Database
    clock: FakeClock
    http: aiohttp.ClientSession
    server: FeedServer
    transport: RecordingTransport

    def watcher(
        self,
        path: str,
        *,
        postbox: Postbox | None = None,
        rooms: tuple[str, ...] = ROOMS,
        timeout: float = 5.0,
        announcements: AnnouncementsConfig | None = None,
        newsletter: NewsletterFanOut | None = None,
        **options: Any,
    ) -> FeedWatcher:
        """A watcher of ``path`` on the rig's server; ``options`` are FeedConfig keys."""
        config = FeedConfig(url=self.server.url(path), timeout_seconds=timeout, **options)
        settings = announcements or AnnouncementsConfig()
        announcer = Announcer(settings, catalogue("fr"), PARIS)
        recorder = PollRecorder(
            postbox or make_postbox(self.clock, self.db),
            announcer,
            date_notice=settings.date_change_notice,
            newsletter=newsletter,
        )
        fetcher = FeedFetcher(
            self.http, user_agent=user_agent("test", None), timeout=timeout, clock=self.clock
        )
        return FeedWatcher(
            FeedSettings.from_config(config, PARIS),
            db=self.db,
            fetcher=fetcher,
            recorder=recorder,
            clock=self.clock,
            audience=hub_rooms(self.db, self.clock, rooms, ORGANISERS),
            rng=random.Random(7),
        )

    async def queued(self) -> list[Queued]:
        """Every outbox row, oldest first."""
        async with self.db.session() as session:
            rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
            return [Queued(r.room_id, r.content, r.dedupe_key, r.status) for r in rows]

    async def items(self) -> dict[str, FeedItemRow]:
        """Every stored item, by title."""
        async with self.db.session() as session:
            return {row.title: row for row in await session.scalars(select(FeedItemRow))}

    async def deliveries(self) -> int:
        async with self.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(DeliveryRow)) or 0)

    async def send_all(self) -> None:
        """Let the real sender deliver every pending row to the recording transport."""
        sender = Sender(self.db, self.transport, self.clock, pace_seconds=0)
        async with self.db.session() as session:
            pending = await outbox.depth(session)
        while pending:
            await sender.flush()
            async with self.db.session() as session:
                pending = await outbox.depth(session)


# The shared database fixtures: SQLite, and PostgreSQL when BOT_TEST_POSTGRES_URL is set.
db = storage_fixtures.db
database_url = storage_fixtures.database_url
postgres_database_url = storage_fixtures.postgres_database_url


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    """A migrated, empty database, a fake clock, and a feed server on 127.0.0.1."""
    async with aiohttp.ClientSession() as http, feed_server() as server:
        yield Rig(db, FakeClock(), http, server, RecordingTransport())
