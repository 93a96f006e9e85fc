"""The fuzzing rig: the application's own dispatcher on a real SQLite database, faked Matrix.

What every answer must be is checked here too, so each fuzz test states only what it draws.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import assembly
from bot.commands.invocation import parse_invocation
from bot.commands.router import Dispatcher
from bot.config import Config, parse_config
from bot.i18n import catalogue
from bot.matrix.postbox import MatrixPostbox
from bot.messages import Document, IncomingMessage
from bot.metrics import Metrics
from bot.storage.db import Database
from bot.storage.models import OutboxRow
from tests import factory
from tests.factory import hub_rooms
from tests.fakes import START, FakeClock

HUB = "!hub:hub.test"
ORGANISER, MEMBER = "@orga:hub.test", "@membre:hub.test"
MAX_ANSWER_BYTES = 2048
CONFIG = f"""\
matrix:
  homeserver: http://127.0.0.1:8008
  user_id: "@ssphub-bot:hub.test"
  password: secret
rooms: ["{HUB}"]
organisers: ["{ORGANISER}"]
feeds:
  - url: https://ssphub.netlify.app/event.xml
commands:
  rate_limit: {{burst: 1000000, per_seconds: 1}}
"""
FRAGMENTS = [
    "ajouter", "modifier", "supprimer", "annuler", "apercu", "aperçu", "add", "edit", "cancel",
    "--tous", "--all", "--salon", "--room", "--", "dans", "#salon:hub.test", HUB, "!nope",
    "https://matrix.to/#/#salon:hub.test", "demain 9h", "dans 2 heures", "lundi prochain à 14h30",
    "chaque lundi 9h", "le premier mardi du mois à 14h", "tous les jours à 8h", "ce soir 18h",
    "2026-12-03 10:00", "le 3 décembre à 10h", "31/02", "25h", "9h61", "hier", "12", "n°12", "#3",
    "0", "-1", "99999999999999999999", "r7k2", "|", "||", "https://ssphub.netlify.app/event/x/",
    "http://", "javascript:alert(1)", "@room", "@orga:hub.test", "heure", "fin", "lieu", "titre",
    "lien", "14h30", "midi", "2pm", "semaine", "mois", "366", "367", "\n", "\t", "\u00a0",
    "\u200b", "\u202e", "\u2028", "é", "🎉", "<b>x</b>", "&amp;", "> cité", "{}", "{title}", "%s",
    "\\", "\x00", "\r",
]  # fmt: skip


class Rooms:
    """The bot is in the hub room and in #salon:hub.test, and knows no other room."""

    async def resolve_room(self, room: str) -> str | None:
        return {"#salon:hub.test": "!salon:hub.test", HUB: HUB}.get(room)

    def joined(self, room_id: str) -> bool:
        return room_id in (HUB, "!salon:hub.test")


def dm(user_id: str) -> str:
    """The direct conversation of ``user_id`` with the bot."""
    return f"!dm-{user_id.strip('@').split(':')[0]}:hub.test"


class Direct:
    """Every member has a private conversation with the bot, and a display name."""

    async def open(self, user_id: str) -> str:
        return dm(user_id)

    async def is_private(self, room_id: str, user_id: str) -> bool:
        return room_id == dm(user_id)

    def reachable(self, room_id: str, user_id: str) -> bool:
        return room_id == dm(user_id)

    def display_name(self, user_id: str) -> str | None:
        return "Camille Durand"


@dataclass(frozen=True)
class Upload:
    room_id: str
    document: Document


class Files:
    """Uploads kept in memory; posting queues a file message through the real outbox."""

    def __init__(self, postbox: MatrixPostbox) -> None:
        self.postbox = postbox

    async def upload(self, room_id: str, document: Document) -> Upload:
        return Upload(room_id, document)

    async def post(self, session: AsyncSession, uploaded: Any) -> int:
        content = {"msgtype": "m.file", "body": uploaded.document.filename}
        return await self.postbox.post_event(session, uploaded.room_id, "m.room.message", content)


def build_dispatcher(config: Config, db: Database, clock: FakeClock) -> Dispatcher:
    """The dispatcher exactly as the application builds it (``build_dispatcher``, so every
    router it includes is fuzzed), on services whose Matrix side is faked and whose feed
    previews fail at once instead of reaching the network."""
    rooms = hub_rooms(db, clock, [HUB])
    postbox = MatrixPostbox(clock, None, rooms)
    services = factory.services(
        config, clock, db, rooms=rooms, outbox=postbox, directory=Rooms(), direct=Direct(),
        files=Files(postbox),
    )  # fmt: skip
    return assembly.build_dispatcher(services, Metrics())


class Bench:
    """One dispatcher on one database and event loop, shared by every example of a test."""

    def __init__(self, runner: asyncio.Runner, path: Path) -> None:
        self.runner = runner
        self.config = parse_config(CONFIG, source="fuzz.yaml", environ={})
        self.clock = FakeClock()
        self.db = Database(f"sqlite+aiosqlite:///{path}")
        self.dispatcher = build_dispatcher(self.config, self.db, self.clock)
        self.numbers = itertools.count(1)
        self.last_row = 0
        commands = self.dispatcher.commands
        self.words = sorted({w for c in commands for w in (*c.words.values(), *c.aliases)})

    def handle(
        self, body: str, sender: str, direct: bool = False
    ) -> list[tuple[str, dict[str, Any]]]:
        """Handle one message in the hub room or in the sender's direct conversation (a minute
        after the previous one); the answers it queued."""
        self.clock.advance(60)
        room = dm(sender) if direct else HUB
        number = next(self.numbers)
        message = IncomingMessage(room, f"$fuzz{number}", sender, body, START, is_direct=direct)
        return self.runner.run(self._handle(message))

    async def _handle(self, message: IncomingMessage) -> list[tuple[str, dict[str, Any]]]:
        await self.dispatcher.handle(message)
        async with self.db.session() as session:
            rows = list(
                await session.scalars(select(OutboxRow).where(OutboxRow.id > self.last_row))
            )
        self.last_row = max([self.last_row, *(row.id for row in rows)])
        return [(row.room_id, row.content) for row in rows]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite_file: Path) -> Iterator[Bench]:
    """A migrated SQLite file, the dispatcher, and an event loop of their own."""
    path = tmp_path_factory.mktemp("fuzz") / "bot.db"
    shutil.copyfile(migrated_sqlite_file, path)
    with asyncio.Runner() as runner:
        bench = Bench(runner, path)
        yield bench
        runner.run(bench.db.dispose())


def check_answers(
    body: str, answers: list[tuple[str, dict[str, Any]]], sender: str, direct: bool = False
) -> None:
    """Nothing for a plain message in the room; else at most one notice in the room and one in
    the sender's direct conversation (where subscriptions go on, and an export's file), each
    short, never a traceback nor an internal error, pinging nobody."""
    if parse_invocation(body, "!") is None and not direct:
        assert answers == []
    rooms = [room for room, content in answers if content["msgtype"] == "m.notice"]
    assert set(room for room, _ in answers) <= {HUB if not direct else dm(sender), dm(sender)}
    assert len(rooms) == len(set(rooms)), answers
    internal = [
        catalogue(lang)("router.internal_error", ref="").split("(")[0] for lang in ("fr", "en")
    ]
    for room, answer in answers:
        if answer["msgtype"] == "m.file":
            assert room == dm(sender) and sender == ORGANISER
            continue
        text = answer["body"]
        assert answer["msgtype"] == "m.notice"
        assert len(text.encode()) < MAX_ANSWER_BYTES, (len(text.encode()), text[:300])
        assert "Traceback" not in text and 'File "' not in text
        assert not any(text.startswith(prefix) for prefix in internal), text
        assert answer["m.mentions"].get("room") is not True


FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
