"""What fuzzing taught: any white space ends a word, answers quote little back, URLs have hosts."""

from __future__ import annotations

import pytest

from bot.commands import agenda as agenda_commands
from bot.commands import meta
from bot.commands.feed_args import parse_url
from bot.commands.invocation import ECHO_CHARS, MAX_ARGUMENT_CHARS, Invocation, parse_invocation
from bot.commands.router import Dispatcher
from bot.config import parse_config
from bot.errors import UsageError
from bot.messages import IncomingMessage
from bot.services.ratelimit import RateLimiter
from bot.storage.db import Database
from tests import factory
from tests.commands.test_router import HUB, FakeRoomPowers, bodies
from tests.factory import hub_rooms
from tests.fakes import START, FakeClock

CONFIG = """\
matrix:
  homeserver: http://127.0.0.1:8008
  user_id: "@ssphub-bot:localhost"
  password: secret
rooms: ["!hub:localhost"]
"""


@pytest.fixture
def dispatcher(db: Database, fake_clock: FakeClock) -> Dispatcher:
    """The meta and agenda commands on a real database."""
    config = parse_config(CONFIG, source="test.yaml", environ={})
    rooms = hub_rooms(db, fake_clock, [HUB])
    services = factory.services(config, fake_clock, db, rooms=rooms, powers=FakeRoomPowers())
    dispatcher = Dispatcher(services, RateLimiter(fake_clock, burst=10, per_seconds=1))
    dispatcher.include(meta.router, agenda_commands.router)
    return dispatcher


async def answer(dispatcher: Dispatcher, db: Database, body: str) -> str:
    await dispatcher.handle(IncomingMessage(HUB, "$one", "@membre:localhost", body, START))
    [text] = await bodies(db)
    return text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!agenda\tsemaine", Invocation("agenda", "semaine")),
        ("!agenda\u00a0semaine", Invocation("agenda", "semaine")),
        ("!ping\u2028", Invocation("ping", "")),
        ("> <@x:localhost> a\u2028b\n> c\n\n!ping", Invocation("ping", "")),
    ],
)
def test_any_white_space_ends_the_word(body: str, expected: Invocation) -> None:
    """A tab or a no-break space after the word separates it from its arguments, and line
    separators inside a quoted line do not end the reply fallback."""
    assert parse_invocation(body, "!") == expected


async def test_arguments_beyond_the_limit_are_refused_with_the_usage(
    dispatcher: Dispatcher, db: Database
) -> None:
    """A command whose arguments are too long gets a short usage answer, before any parsing."""
    text = await answer(dispatcher, db, "!agenda " + "é" * 5000)
    assert text == (
        "Désolé, votre message est trop long (5000 caractères après la commande, "
        f"{MAX_ARGUMENT_CHARS} au plus). Utilisation : !agenda [7|30|semaine|mois]"
    )


async def test_a_member_text_quoted_in_an_error_is_cut(
    dispatcher: Dispatcher, db: Database
) -> None:
    """An error that quotes what the member typed quotes at most a short piece of it."""
    text = await answer(dispatcher, db, "!agenda " + "x" * 300)
    quoted = text.split("« ")[1].split(" »")[0]
    assert quoted == "x" * (ECHO_CHARS - 1) + "…"


async def test_an_unknown_long_word_is_cut_in_the_answer(
    dispatcher: Dispatcher, db: Database
) -> None:
    """An unknown command word of 10,000 letters is quoted back cut short."""
    text = await answer(dispatcher, db, "!" + "z" * 10_000)
    assert text.startswith("Commande inconnue : !" + "z" * (ECHO_CHARS - 1) + "…. Tapez")


@pytest.mark.parametrize("text", ["http://", "https://", "http://[", "http://:80", "ftp://x.fr"])
def test_a_feed_preview_needs_an_address_with_a_host(text: str) -> None:
    """``!flux apercu http://`` is a usage error, not a crash while building the feed's settings."""
    with pytest.raises(UsageError):
        parse_url(text)
