"""The subscription tests' rig: real dispatcher, database and outbox; fake DMs and files."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import meta
from bot.commands import subscriptions as subscription_commands
from bot.commands.router import Dispatcher
from bot.config import Config, parse_config
from bot.mail import SmtpMailer
from bot.matrix.postbox import MatrixPostbox
from bot.messages import Document, IncomingMessage, IncomingReaction
from bot.services.ratelimit import RateLimiter
from bot.storage import outbox
from bot.storage import subscriptions as store
from bot.storage.db import Database
from bot.storage.models import OutboxRow, SubscriberRow
from tests import factory
from tests.factory import hub_rooms
from tests.fakes import FakeClock

HUB = "!hub:localhost"
ORGANISER = "@orga:localhost"
CAMILLE = "@camille.durand-insee.fr:agent.finances.tchap.gouv.fr"
JEAN = "@jean.marie-dupont-interieur.gouv.fr:agent.interieur.tchap.gouv.fr"
ALICE = "@alice:localhost"
_numbers = itertools.count(1)


@dataclass
class FakeDirect:
    """DMs as the Matrix layer would report them: opened on demand, one per member."""

    dms: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    opened: list[str] = field(default_factory=list)

    async def open(self, user_id: str) -> str:
        self.opened.append(user_id)
        return self.dms.setdefault(user_id, f"!dm-{len(self.dms) + 1}:localhost")

    async def is_private(self, room_id: str, user_id: str) -> bool:
        return self.dms.get(user_id) == room_id

    def reachable(self, room_id: str, user_id: str) -> bool:
        return self.dms.get(user_id) == room_id and user_id not in self.gone

    def display_name(self, user_id: str) -> str | None:
        return self.names.get(user_id)


@dataclass(frozen=True)
class FakeUpload:
    room_id: str
    document: Document


@dataclass
class FakeFiles:
    """Uploads kept in memory; posting queues a file event through the real outbox."""

    postbox: MatrixPostbox
    uploads: list[FakeUpload] = field(default_factory=list)

    async def upload(self, room_id: str, document: Document) -> FakeUpload:
        self.uploads.append(FakeUpload(room_id, document))
        return self.uploads[-1]

    async def post(
        self, session: AsyncSession, uploaded: Any, *, private_for: str | None = None
    ) -> int:
        content = {"msgtype": "m.file", "body": uploaded.document.filename}
        return await self.postbox.post_event(
            session, uploaded.room_id, "m.room.message", content, private_for=private_for
        )


def config(extra: str = "") -> Config:
    text = f"""\
matrix: {{homeserver: "http://127.0.0.1:8008", user_id: "@bot:localhost", password: pw}}
rooms: ["{HUB}"]
organisers: ["{ORGANISER}"]
commands: {{rate_limit: {{burst: 100, per_seconds: 1}}}}
{extra}"""
    return parse_config(text, source="test.yaml", environ={})


@dataclass
class SubscriptionRig:
    """The dispatcher with the subscription commands, on a real database and outbox."""

    db: Database
    clock: FakeClock
    direct: FakeDirect
    files: FakeFiles
    dispatcher: Dispatcher

    @classmethod
    def build(cls, db: Database, clock: FakeClock, extra: str = "") -> SubscriptionRig:
        """The rig; ``extra`` adds configuration (a ``mail:`` section makes a real mailer)."""
        rooms = hub_rooms(db, clock, [HUB])
        postbox = MatrixPostbox(clock, None, rooms)
        direct, files = FakeDirect(), FakeFiles(postbox)
        settings = config(extra)
        mailer = SmtpMailer(settings.mail) if settings.mail else None
        services = factory.services(
            settings, clock, db, rooms=rooms, outbox=postbox, direct=direct, files=files,
            mailer=mailer,
        )  # fmt: skip
        dispatcher = Dispatcher(services, RateLimiter(clock, burst=100, per_seconds=1))
        dispatcher.include(meta.router, subscription_commands.router)
        return cls(db, clock, direct, files, dispatcher)

    async def say(self, sender: str, body: str, room_id: str = HUB) -> str:
        """Send ``body`` as ``sender`` in ``room_id``; the event id."""
        event_id = f"$event{next(_numbers)}"
        direct = room_id != HUB
        message = IncomingMessage(room_id, event_id, sender, body, self.clock.now(), None, direct)
        await self.dispatcher.handle(message)
        return event_id

    async def react(self, sender: str, room_id: str, reacts_to: str, key: str = "👍") -> None:
        reaction = IncomingReaction(
            room_id, f"$reaction{next(_numbers)}", sender, reacts_to, key, self.clock.now()
        )
        await self.dispatcher.handle_reaction(reaction)

    async def bodies(self, room_id: str) -> list[str]:
        """The text of every message queued for ``room_id``, oldest first."""
        async with self.db.session() as session:
            rows = await session.scalars(
                select(OutboxRow).where(OutboxRow.room_id == room_id).order_by(OutboxRow.id)
            )
            return [str(row.content.get("body", "")) for row in rows]

    async def last(self, room_id: str) -> str:
        return (await self.bodies(room_id))[-1]

    async def mark_all_sent(self) -> None:
        """Pretend the homeserver took every pending row, giving each an event id."""
        async with self.db.session() as session:
            pending = await session.scalars(select(OutboxRow).where(OutboxRow.status == "pending"))
            for row in pending:
                await outbox.mark_sent(session, row.id, f"$sent{row.id}", self.clock.now())

    async def subscriber(self, user_id: str) -> store.Subscriber | None:
        async with self.db.session() as session:
            return await store.by_user(session, user_id)

    async def rows(self) -> list[SubscriberRow]:
        async with self.db.session() as session:
            return list(await session.scalars(select(SubscriberRow).order_by(SubscriberRow.id)))

    async def outbox_id_of_last(self, room_id: str) -> int:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(OutboxRow.id).where(OutboxRow.room_id == room_id).order_by(OutboxRow.id)
            )
            return list(rows)[-1]
