"""The command dispatcher, from an incoming message to the answer queued in the outbox."""

from __future__ import annotations

import itertools
import logging
import re
from typing import Any, cast

import pytest
from sqlalchemy import select

from bot.commands import meta
from bot.commands.context import CommandContext
from bot.commands.declare import Role, Router
from bot.commands.invocation import Invocation, parse_invocation
from bot.commands.router import Dispatcher
from bot.config import parse_config
from bot.errors import UsageError
from bot.i18n import catalogue
from bot.messages import IncomingMessage
from bot.services.ratelimit import RateLimiter
from bot.storage import state
from bot.storage.db import Database
from bot.storage.models import OutboxRow
from tests import factory
from tests.factory import hub_rooms
from tests.fakes import START, FakeClock

HUB = "!hub:localhost"
ELSEWHERE = "!elsewhere:localhost"
MEMBER = "@membre:localhost"
ORGANISER = "@orga:localhost"
CONFIG = """\
matrix:
  homeserver: http://127.0.0.1:8008
  user_id: "@ssphub-bot:localhost"
  password: ${BOT_PASSWORD}
rooms: ["!hub:localhost"]
organisers: ["@orga:localhost"]
commands:
  rate_limit:
    burst: 3
    per_seconds: 30
"""

# Commands of a feature module that does not exist yet: one for organisers, two that fail.
extra = Router("test")


@extra.command("announce", fr="annonce", en="announce", role=Role.ORGANISER)
async def announce(ctx: CommandContext) -> None:
    if not ctx.args:
        raise UsageError()
    await ctx.reply_text(f"Annonce : {ctx.args}")


@extra.command("echo", fr="echo", en="echo")
async def echo(ctx: CommandContext) -> None:
    if not ctx.args:
        raise UsageError()
    await ctx.reply_text(ctx.args)


@extra.command("boom", fr="boum", en="boom")
async def boom(ctx: CommandContext) -> None:
    await state.set_value(ctx.session, "boom", "written")
    await ctx.reply_text("réponse partielle")
    raise RuntimeError("cannot reach postgresql://bot:hunter2@db/bot")


EXTRA_MESSAGES = {
    "fr": {
        "commands.announce.usage": "<texte>",
        "commands.announce.help": "publie une annonce",
        "commands.echo.usage": "<texte>",
        "commands.echo.help": "répète le texte",
        "commands.boom.usage": "",
        "commands.boom.help": "échoue",
    },
    "en": {
        "commands.announce.usage": "<text>",
        "commands.announce.help": "posts an announcement",
        "commands.echo.usage": "<text>",
        "commands.echo.help": "repeats the text",
        "commands.boom.usage": "",
        "commands.boom.help": "fails",
    },
}


@pytest.fixture(autouse=True)
def extra_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test commands' help lines (a real feature module adds them to the YAML files)."""
    for language, messages in EXTRA_MESSAGES.items():
        loaded = cast(dict[str, str], catalogue(language)._messages)
        for key, text in messages.items():
            monkeypatch.setitem(loaded, key, text)


class FakeRoomPowers:
    """Power levels, room versions and creators, as the Matrix layer would report them."""

    def __init__(self) -> None:
        self.levels: dict[tuple[str, str], int] = {}
        self.versions: dict[str, str] = {}
        self.creators: dict[str, set[str]] = {}

    def power_level(self, room_id: str, user_id: str) -> int | None:
        return self.levels.get((room_id, user_id))

    def room_version(self, room_id: str) -> str | None:
        return self.versions.get(room_id, "10")

    async def room_creators(self, room_id: str) -> set[str]:
        return self.creators.get(room_id, set())


@pytest.fixture
def powers() -> FakeRoomPowers:
    return FakeRoomPowers()


@pytest.fixture
def dispatcher(db: Database, fake_clock: FakeClock, powers: FakeRoomPowers) -> Dispatcher:
    """The dispatcher as the app builds it, with the meta commands and the test commands."""
    config = parse_config(CONFIG, source="test.yaml", environ={"BOT_PASSWORD": "pw"})
    rooms = hub_rooms(db, fake_clock, config.rooms)
    services = factory.services(config, fake_clock, db, rooms=rooms, powers=powers)
    limits = config.commands.rate_limit
    limiter = RateLimiter(fake_clock, burst=limits.burst, per_seconds=limits.per_seconds)
    dispatcher = Dispatcher(services, limiter)
    dispatcher.include(meta.router, extra)
    return dispatcher


_event_numbers = itertools.count(1)


def incoming(body: str, *, sender: str = MEMBER, thread_root: str | None = None) -> IncomingMessage:
    """A new message in the hub room, with an event id never used before."""
    return IncomingMessage(
        room_id=HUB,
        event_id=f"$incoming{next(_event_numbers)}",
        sender=sender,
        body=body,
        sent_at=START,
        thread_root=thread_root,
    )


async def queued(db: Database) -> list[dict[str, Any]]:
    """The content of every message queued in the outbox, oldest first."""
    async with db.session() as session:
        rows = await session.scalars(select(OutboxRow).order_by(OutboxRow.id))
        return [row.content for row in rows]


async def bodies(db: Database) -> list[str]:
    return [content["body"] for content in await queued(db)]


async def answer_to(dispatcher: Dispatcher, db: Database, message: IncomingMessage) -> str:
    """Handle ``message`` and return the one answer it queued."""
    await dispatcher.handle(message)
    answers = await bodies(db)
    assert len(answers) == 1, answers
    return answers[0]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!ping", Invocation("ping", "")),
        ("!PING", Invocation("ping", "")),
        ("!ping   a b", Invocation("ping", "a b")),
        ("!ping\nsuite", Invocation("ping", "suite")),
        ("  !ping  ", Invocation("ping", "")),
        ("> <@x:localhost> une question\n\n!ping", Invocation("ping", "")),
        ("> <@x:localhost> une question\n> suite\n\n!aide ping", Invocation("aide", "ping")),
        ("!", None),
        ("!!", None),
        ("! ping", None),
        ("!1er", None),
        ("bonjour !ping", None),
        ("ping", None),
        ("", None),
        ("> <@x:localhost> !ping\n\nmerci", None),
    ],
)
def test_parse_invocation(body: str, expected: Invocation | None) -> None:
    """Only a prefixed word, after any quoted reply lines, reads as a command."""
    assert parse_invocation(body, "!") == expected


async def test_ping_queues_one_notice_replying_to_the_command(
    dispatcher: Dispatcher, db: Database
) -> None:
    """!ping queues exactly one m.notice 'pong 🏓' that replies to the member's message."""
    message = incoming("!ping")
    await dispatcher.handle(message)
    [content] = await queued(db)
    assert content["msgtype"] == "m.notice"
    assert content["body"] == "pong 🏓"
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": message.event_id}}
    assert content["m.mentions"] == {"user_ids": []}


async def test_ping_in_a_thread_is_answered_in_that_thread(
    dispatcher: Dispatcher, db: Database
) -> None:
    """A command sent inside a thread gets its answer in the same thread."""
    message = incoming("!ping", thread_root="$root")
    await dispatcher.handle(message)
    [content] = await queued(db)
    assert content["m.relates_to"]["rel_type"] == "m.thread"
    assert content["m.relates_to"]["event_id"] == "$root"
    assert content["m.relates_to"]["m.in_reply_to"] == {"event_id": message.event_id}


async def test_ordinary_text_gets_no_answer(dispatcher: Dispatcher, db: Database) -> None:
    """Messages that are not commands queue nothing."""
    await dispatcher.handle(incoming("bonjour à tous !"))
    assert await queued(db) == []


async def test_help_answers_in_english(dispatcher: Dispatcher, db: Database) -> None:
    """!help lists the member commands in English, with their usage."""
    answer = await answer_to(dispatcher, db, incoming("!help"))
    assert answer.splitlines()[0] == "Available commands:"
    assert "• !help [command] — lists the commands, or explains one of them" in answer
    assert "• !ping — checks that the bot answers" in answer
    assert answer.splitlines()[-1] == "Details of a command: !help <command>"


async def test_aide_answers_in_french(dispatcher: Dispatcher, db: Database) -> None:
    """!aide lists the member commands in French, with their usage."""
    message = incoming("!aide")
    await dispatcher.handle(message)
    [content] = await queued(db)
    answer = content["body"]
    assert answer.splitlines()[0] == "Commandes disponibles :"
    assert "• !aide [commande] — liste les commandes, ou détaille l’une d’elles" in answer
    assert "• !ping — vérifie que le bot répond" in answer
    assert answer.splitlines()[-1] == "Détail d’une commande : !aide <commande>"
    assert "<li><code>!ping</code> — vérifie que le bot répond</li>" in content["formatted_body"]


async def test_help_hides_organiser_commands_from_members(
    dispatcher: Dispatcher, db: Database
) -> None:
    """A member's help does not mention the organiser commands."""
    answer = await answer_to(dispatcher, db, incoming("!aide"))
    assert "annonce" not in answer
    assert "• !echo <texte> — répète le texte" in answer


async def test_help_shows_organiser_commands_to_organisers(
    dispatcher: Dispatcher, db: Database
) -> None:
    """An organiser's help lists the organiser commands too."""
    answer = await answer_to(dispatcher, db, incoming("!aide", sender=ORGANISER))
    assert "• !annonce <texte> — publie une annonce" in answer


async def test_help_on_one_command_gives_its_usage(dispatcher: Dispatcher, db: Database) -> None:
    """!aide ping explains that one command."""
    answer = await answer_to(dispatcher, db, incoming("!aide ping"))
    assert answer == "!ping — vérifie que le bot répond"


async def test_help_on_a_hidden_command_is_refused_like_an_unknown_one(
    dispatcher: Dispatcher, db: Database
) -> None:
    """A member asking about an organiser command is told it is unknown, with help's usage."""
    answer = await answer_to(dispatcher, db, incoming("!aide annonce"))
    assert answer == (
        "Désolé, je ne connais pas la commande « annonce ». Utilisation : !aide [commande]"
    )


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        ("!annonce réunion", "Cette commande est réservée aux organisateurs."),
        ("!announce meeting", "This command is for organisers only."),
    ],
)
async def test_organiser_command_from_a_member_is_refused(
    dispatcher: Dispatcher, db: Database, body: str, refusal: str
) -> None:
    """A member running an organiser command is refused, in the language of the word typed."""
    assert await answer_to(dispatcher, db, incoming(body)) == refusal


async def test_organiser_command_from_a_configured_organiser_runs(
    dispatcher: Dispatcher, db: Database
) -> None:
    """An organiser listed in the configuration runs organiser commands."""
    answer = await answer_to(dispatcher, db, incoming("!annonce réunion", sender=ORGANISER))
    assert answer == "Annonce : réunion"


async def test_unknown_command_gets_a_hint_towards_aide(
    dispatcher: Dispatcher, db: Database
) -> None:
    """An unknown word is answered with the way to list the commands."""
    answer = await answer_to(dispatcher, db, incoming("!nimportequoi"))
    assert answer == "Commande inconnue : !nimportequoi. Tapez !aide pour la liste des commandes."


async def test_usage_error_shows_the_command_usage(dispatcher: Dispatcher, db: Database) -> None:
    """A handler refusing its arguments makes the bot answer with the command's usage line."""
    answer = await answer_to(dispatcher, db, incoming("!echo"))
    assert answer == "Désolé, ces arguments ne conviennent pas. Utilisation : !echo <texte>"


async def test_crash_answers_with_a_reference_and_logs_the_traceback(
    dispatcher: Dispatcher, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A crashing handler's answer gives only a reference, the same one as the logged traceback."""
    message = incoming("!boum")
    with caplog.at_level(logging.ERROR, logger="bot.commands.router"):
        answer = await answer_to(dispatcher, db, message)
    found = re.search(r"référence ([0-9a-f]{8})", answer)
    assert found is not None, answer
    ref = found.group(1)
    for leak in ("hunter2", "postgresql", "RuntimeError", "Traceback"):
        assert leak not in answer
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert message.event_id in record.getMessage()


async def test_failing_handler_writes_are_rolled_back(dispatcher: Dispatcher, db: Database) -> None:
    """What a handler wrote before failing is undone: its half-made reply is never queued."""
    answer = await answer_to(dispatcher, db, incoming("!boum"))
    assert "réponse partielle" not in answer
    async with db.session() as session:
        assert await state.get_value(session, "boom") is None


@pytest.mark.parametrize("body", ["!ping", "!nimportequoi", "!boum", "!annonce x", "!echo"])
async def test_same_event_handled_twice_is_answered_once(
    dispatcher: Dispatcher, db: Database, body: str
) -> None:
    """A replayed event (same event id) never queues a second answer."""
    message = incoming(body)
    await dispatcher.handle(message)
    await dispatcher.handle(message)
    assert len(await queued(db)) == 1


async def test_rate_limit_warns_once_then_stays_silent_until_refilled(
    dispatcher: Dispatcher, db: Database, fake_clock: FakeClock
) -> None:
    """Past the burst of 3 the member is warned once, then ignored, then served again later."""
    for _ in range(5):
        await dispatcher.handle(incoming("!ping"))
    assert await bodies(db) == ["pong 🏓"] * 3 + [
        "Doucement 🙂 trop de commandes d’affilée. Réessayez dans 10 s."
    ]
    fake_clock.advance(10)
    await dispatcher.handle(incoming("!ping"))
    assert (await bodies(db))[4:] == ["pong 🏓"]


async def test_rate_limit_is_per_member(dispatcher: Dispatcher, db: Database) -> None:
    """One member using up their burst does not limit another member."""
    for _ in range(4):
        await dispatcher.handle(incoming("!ping"))
    await dispatcher.handle(incoming("!ping", sender="@autre:localhost"))
    assert (await bodies(db))[-1] == "pong 🏓"


@pytest.mark.parametrize(
    ("room", "level", "runs"),
    [(HUB, 50, True), (HUB, 100, True), (HUB, 49, False), (ELSEWHERE, 100, False)],
)
async def test_power_level_in_a_configured_room_makes_an_organiser(
    dispatcher: Dispatcher,
    db: Database,
    powers: FakeRoomPowers,
    room: str,
    level: int,
    runs: bool,
) -> None:
    """Power 50 or more in one of the hub's rooms (not any room) opens organiser commands."""
    powers.levels[(room, MEMBER)] = level
    answer = await answer_to(dispatcher, db, incoming("!annonce réunion"))
    assert (answer == "Annonce : réunion") is runs


@pytest.mark.parametrize(("version", "runs"), [("12", True), ("11", False)])
async def test_room_creator_is_an_organiser_in_a_version_12_room(
    dispatcher: Dispatcher, db: Database, powers: FakeRoomPowers, version: str, runs: bool
) -> None:
    """In a version 12 room the creator, absent from the power levels, is an organiser."""
    powers.versions[HUB] = version
    powers.creators[HUB] = {MEMBER}
    answer = await answer_to(dispatcher, db, incoming("!annonce réunion"))
    assert (answer == "Annonce : réunion") is runs
