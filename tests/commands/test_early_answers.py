"""Answers sent before their unit of work commits, when it wrote nothing else: exactly once,
a crash between the PUT and the commit included, on a real database and a fake homeserver."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.commands import meta
from bot.commands.context import CommandContext
from bot.commands.declare import Router
from bot.commands.router import Dispatcher
from bot.config import parse_config
from bot.errors import RateLimited
from bot.i18n import catalogue
from bot.matrix.postbox import MatrixPostbox
from bot.matrix.sender import Sender
from bot.messages import IncomingMessage
from bot.services.ratelimit import RateLimiter
from bot.storage import outbox, state
from bot.storage.db import Database
from bot.storage.models import OutboxRow
from tests import factory
from tests.factory import hub_rooms
from tests.fakes import START, FakeClock, RecordingTransport

HUB = "!hub:localhost"
CONFIG = """\
matrix:
  homeserver: http://127.0.0.1:8008
  user_id: "@ssphub-bot:localhost"
  password: pw
rooms: ["!hub:localhost"]
"""

writes = Router("test")


@writes.command("note", fr="note", en="note")
async def note(ctx: CommandContext) -> None:
    """A command that writes before it answers."""
    await state.set_value(ctx.session, "note", ctx.args)
    await ctx.reply_text("noté")


class SimulatedCrash(BaseException):
    """The process dying: not an error any code path is meant to catch."""


class Homeserver(RecordingTransport):
    """The fake homeserver, writing in a shared journal when a PUT reaches it."""

    def __init__(self, journal: list[str]) -> None:
        super().__init__()
        self.journal = journal

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        event_id = await super().send(room_id, event_type, content, txn_id)
        self.journal.append("put")
        return event_id


@pytest.fixture
def journal(db: Database) -> Iterator[list[str]]:
    """What happened, in order: each PUT reaching the homeserver, each database commit."""
    entries: list[str] = []

    def committed(_connection: object) -> None:
        entries.append("commit")

    event.listen(db.engine.sync_engine, "commit", committed)
    yield entries
    event.remove(db.engine.sync_engine, "commit", committed)


@pytest.fixture(autouse=True)
def note_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test command's help lines."""
    loaded = catalogue("fr")._messages
    monkeypatch.setitem(loaded, "commands.note.usage", "<texte>")  # type: ignore[index]
    monkeypatch.setitem(loaded, "commands.note.help", "note")  # type: ignore[index]


async def running(db: Database, clock: FakeClock, homeserver: Homeserver) -> Dispatcher:
    """The dispatcher with a real postbox and sender, the sender having read the outbox once
    (as it does when it starts)."""
    config = parse_config(CONFIG, source="test.yaml", environ={})
    rooms = hub_rooms(db, clock, config.rooms)
    sender = Sender(db, homeserver, clock, pace_seconds=1.0)
    await sender.flush()
    postbox = MatrixPostbox(clock, sender, rooms, device_id="BOTDEVICE")
    services = factory.services(config, clock, db, rooms=rooms, outbox=postbox)
    dispatcher = Dispatcher(services, RateLimiter(clock, burst=50, per_seconds=1))
    dispatcher.include(meta.router, writes)
    return dispatcher


def sender_of(dispatcher: Dispatcher) -> Sender:
    postbox = dispatcher.services.postbox
    assert isinstance(postbox, MatrixPostbox) and postbox.sender is not None
    return postbox.sender


_numbers = itertools.count(1)


def command(body: str) -> IncomingMessage:
    return IncomingMessage(HUB, f"$command{next(_numbers)}", "@membre:localhost", body, START)


async def rows(db: Database) -> list[OutboxRow]:
    async with db.session() as session:
        return list(await session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


async def test_an_answer_alone_is_put_before_its_unit_commits_then_marked_sent(
    db: Database, fake_clock: FakeClock, journal: list[str]
) -> None:
    """``!ping`` writes nothing but its answer: the PUT goes first, the row and the claim are
    committed meanwhile, and the row is marked sent with the event id."""
    homeserver = Homeserver(journal)
    dispatcher = await running(db, fake_clock, homeserver)
    ping = command("!ping")
    journal.clear()
    await dispatcher.handle(ping)
    await sender_of(dispatcher).settled()
    assert journal[0] == "put"
    [row] = await rows(db)
    assert (row.status, row.event_id) == (outbox.SENT, homeserver.puts[0].event_id)
    assert row.txn_id == homeserver.puts[0].txn_id and row.txn_id.startswith(outbox.ANSWER_PREFIX)
    async with db.session() as session:
        assert await state.was_handled(session, ping.event_id)


async def test_a_command_that_writes_is_committed_before_its_answer_is_put(
    db: Database, fake_clock: FakeClock, journal: list[str]
) -> None:
    """A command with writes of its own keeps the usual order: commit, then PUT."""
    homeserver = Homeserver(journal)
    dispatcher = await running(db, fake_clock, homeserver)
    journal.clear()
    await dispatcher.handle(command("!note lundi"))
    sender = sender_of(dispatcher)
    await sender.send_submitted()
    assert journal[:2] == ["commit", "put"]
    assert [put.content["body"] for put in homeserver.puts] == ["noté"]


async def test_a_crash_between_the_put_and_the_commit_leaves_one_answer(
    db: Database, fake_clock: FakeClock, journal: list[str]
) -> None:
    """The process dies after the answer's PUT, before its unit commits: nothing is stored,
    the event comes again after the restart, and its answer gets the same transaction id,
    so the room shows one answer and the outbox one row, sent."""
    homeserver = Homeserver(journal)
    ping = command("!ping")

    def crash(_connection: object) -> None:
        if homeserver.puts:
            raise SimulatedCrash

    event.listen(db.engine.sync_engine, "commit", crash)
    with pytest.raises(SimulatedCrash):
        await (await running(db, fake_clock, homeserver)).handle(ping)
    event.remove(db.engine.sync_engine, "commit", crash)
    assert len(homeserver.puts) == 1
    assert await rows(db) == []

    restarted = await running(db, fake_clock, homeserver)
    await restarted.handle(ping)
    await sender_of(restarted).settled()
    [row] = await rows(db)
    assert homeserver.txn_ids() == [row.txn_id, row.txn_id]
    assert homeserver.events_in(HUB) == [row.event_id]
    assert row.status == outbox.SENT


async def test_an_answer_refused_early_waits_in_the_outbox_once_committed(
    db: Database, fake_clock: FakeClock, journal: list[str]
) -> None:
    """Rate limited on its early PUT, the answer's row is committed and postponed as asked."""
    homeserver = Homeserver(journal)
    homeserver.fail_next(RateLimited(2.0))
    dispatcher = await running(db, fake_clock, homeserver)
    await dispatcher.handle(command("!ping"))
    await sender_of(dispatcher).settled()
    [row] = await rows(db)
    assert (row.status, row.attempts, row.event_id) == (outbox.PENDING, 1, None)
    fake_clock.advance(2.0)
    await sender_of(dispatcher).flush()
    [row] = await rows(db)
    assert row.status == outbox.SENT


async def test_an_event_handled_again_is_not_answered_twice(
    db: Database, fake_clock: FakeClock, journal: list[str]
) -> None:
    """A replayed event whose unit committed loses its claim: one row, one event in the room."""
    homeserver = Homeserver(journal)
    dispatcher = await running(db, fake_clock, homeserver)
    ping = command("!ping")
    await dispatcher.handle(ping)
    await sender_of(dispatcher).settled()
    await dispatcher.handle(ping)
    await sender_of(dispatcher).settled()
    [row] = await rows(db)
    assert homeserver.events_in(HUB) == [row.event_id]
    assert row.status == outbox.SENT
