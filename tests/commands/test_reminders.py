"""Reminder commands: argument parsing, and !rappel / !rappels / !remind answered end to end."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from bot.commands import meta
from bot.commands import reminders as reminder_commands
from bot.commands.reminders import CancelRequest, RemindRequest, parse_remind_args
from bot.commands.router import Dispatcher
from bot.config import parse_config
from bot.errors import UsageError
from bot.i18n import LANGUAGES, catalogue
from bot.messages import IncomingMessage
from bot.services.ratelimit import RateLimiter
from bot.storage.db import Database
from bot.storage.models import OutboxRow, ReminderRow
from tests import factory
from tests.fakes import FakeClock
from tests.services.reminders.rig import HUB, NOW, ORGANISER, OTHER, advance_to, posted, service

MEMBER = "@membre:localhost"
_numbers = itertools.count(1)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("demain 9h Réunion", RemindRequest("demain 9h Réunion")),
        ("dans 2 heures Relancer Jean", RemindRequest("dans 2 heures Relancer Jean")),
        ("--tous demain 9h Pot", RemindRequest("demain 9h Pot", None, True)),
        ("dans #autre:localhost lundi 9h x", RemindRequest("lundi 9h x", "#autre:localhost")),
        ("--salon !abc:localhost --tous 9h x", RemindRequest("9h x", "!abc:localhost", True)),
        ("--Salon !abc 9h x", RemindRequest("9h x", "!abc")),
        ("in #room:server tomorrow 9am x", RemindRequest("tomorrow 9am x", "#room:server")),
        ("--all --room #room:server 9am x", RemindRequest("9am x", "#room:server", True)),
        (
            "--salon https://matrix.to/#/#autre:localhost 9h x",
            RemindRequest("9h x", "https://matrix.to/#/#autre:localhost"),
        ),
        (
            "--tous\ndemain 9h Pot\nà la cafétéria",
            RemindRequest("demain 9h Pot\nà la cafétéria", None, True),
        ),
        ("annuler r7k2", CancelRequest("r7k2")),
        ("cancel R7K2", CancelRequest("r7k2")),
    ],
)
def test_remind_arguments_are_split_into_options_and_the_rest(
    args: str, expected: RemindRequest | CancelRequest
) -> None:
    """Options come first; the time and the text are left whole for the time parser."""
    assert parse_remind_args(args) == expected


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("", "reminders.missing"),
        ("   ", "reminders.missing"),
        ("--tous", "reminders.missing"),
        ("dans #autre:localhost", "reminders.missing"),
        ("annuler", "reminders.bad_id"),
        ("annuler r7k2 r8m3", "reminders.bad_id"),
        ("--salon demain 9h x", "rooms.bad"),
        ("--salon", "rooms.bad"),
        ("--toux demain 9h x", "reminders.unknown_option"),
        ("--salon #a:b --salon #c:d 9h x", "reminders.two_rooms"),
    ],
)
def test_malformed_remind_arguments_are_refused(args: str, key: str) -> None:
    """A missing id, a bad room or an unknown option gets its own explanation."""
    with pytest.raises(UsageError) as refused:
        parse_remind_args(args)
    assert refused.value.key == key


@pytest.mark.parametrize("language", LANGUAGES)
def test_reminder_commands_have_usage_and_help(language: str) -> None:
    """!rappel and !rappels have their usage and help lines in each language."""
    t = catalogue(language)
    for command in reminder_commands.router.commands:
        assert t.has(command.usage_key) and t(command.help_key)
        assert set(command.words) == set(LANGUAGES)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def bot(db: Database, clock: FakeClock) -> Dispatcher:
    """The dispatcher as the app builds it, with the reminder commands."""
    text = f"""\
matrix: {{homeserver: "http://127.0.0.1:8008", user_id: "@bot:localhost", password: pw}}
rooms: ["{HUB}"]
organisers: ["{ORGANISER}"]
"""
    config = parse_config(text, source="test.yaml", environ={})
    services = replace(factory.services(config, clock, db), reminders=service(db, clock))
    dispatcher = Dispatcher(services, RateLimiter(clock, burst=50, per_seconds=1))
    dispatcher.include(meta.router, reminder_commands.router)
    return dispatcher


async def ask(bot: Dispatcher, body: str, sender: str = ORGANISER) -> str:
    """Send a command in the hub room; the bot's answer."""
    event_id = f"$command{next(_numbers)}"
    message = IncomingMessage(HUB, event_id, sender, body, NOW)
    await bot.handle(message)
    async with bot.services.db.session() as session:
        rows = await session.execute(
            select(OutboxRow.content).order_by(OutboxRow.id.desc()).limit(1)
        )
        content = rows.scalar_one()
    assert content["m.relates_to"]["m.in_reply_to"]["event_id"] == event_id
    return str(content["body"])


def reminder_id(answer: str) -> str:
    found = re.search(r"(?:rappel|reminder) (r[0-9a-z]{3,8})\b", answer)
    assert found, answer
    return found[1]


async def test_one_off_is_echoed_with_its_id_and_paris_time(bot: Dispatcher) -> None:
    """The organiser reads back the time understood, in Paris time, and a short id."""
    answer = await ask(bot, "!rappel lundi prochain à 14h30 Comité de pilotage")
    public_id = reminder_id(answer)
    assert answer == (
        f"C’est noté : rappel {public_id} le lundi 30 novembre 2026 à 14 h 30 (heure de Paris)"
        " — « Comité de pilotage »"
    )


async def test_recurring_is_echoed_with_its_rule_and_next_time(bot: Dispatcher) -> None:
    """A weekly reminder is echoed as a rule, with its first occurrence."""
    answer = await ask(bot, "!rappel chaque lundi 9h Point hebdo")
    assert answer == (
        f"C’est noté : rappel {reminder_id(answer)} chaque lundi à 9 h (heure de Paris), "
        "prochain le lundi 30 novembre 2026 à 9 h — « Point hebdo »"
    )


async def test_english_words_get_english_answers(bot: Dispatcher) -> None:
    """!remind answers in English, with the time written the English way."""
    answer = await ask(bot, "!remind tomorrow 9am Team meeting")
    assert answer == (
        f"Noted: reminder {reminder_id(answer)} on Tuesday 24 November 2026 at 9:00 (Paris time)"
        " — “Team meeting”"
    )


async def test_target_room_and_room_mention_are_echoed(bot: Dispatcher) -> None:
    """A reminder for another room, notifying everyone, says so in its echo."""
    answer = await ask(bot, "!rappel --tous dans #autre:localhost demain 9h AG")
    assert answer.endswith(
        "(heure de Paris) dans #autre:localhost, en notifiant tout le salon (@\u2060room) — « AG »"
    )
    async with bot.services.db.session() as session:
        row = await session.scalar(select(ReminderRow))
    assert row is not None and (row.room_id, row.mention_room) == (OTHER, True)


@pytest.mark.parametrize(
    ("room", "answer"),
    [
        (
            "#inconnu:localhost",
            "Je ne trouve pas le salon #inconnu:localhost. Vérifiez son adresse.",
        ),
        (
            "#parti:localhost",
            "Je ne suis pas dans le salon #parti:localhost : invitez-moi d’abord, "
            "puis recommencez.",
        ),
    ],
)
async def test_a_room_the_bot_is_not_in_is_refused(bot: Dispatcher, room: str, answer: str) -> None:
    """Only rooms the bot is in can receive reminders; nothing is stored otherwise."""
    assert await ask(bot, f"!rappel --salon {room} demain 9h x") == answer
    assert await reminder_rows(bot) == 0


@pytest.mark.parametrize(
    ("body", "start"),
    [
        (
            "!rappel hier 9h x",
            "Désolé, ce moment est déjà passé (dimanche 22 novembre 2026 à 9 h).",
        ),
        (
            "!rappel appeler Jean",
            "Désolé, je n’ai pas trouvé de moment au début de « appeler Jean »",
        ),
        ("!rappel demain 9h", "Désolé, il manque le texte du rappel après le moment."),
        ("!rappel demain 25h x", "Désolé, une heure de « demain 25h x » n’existe pas"),
        ("!rappel", "Désolé, il faut un moment puis un texte"),
    ],
)
async def test_unusable_times_are_explained_with_examples(
    bot: Dispatcher, body: str, start: str
) -> None:
    """A past, unreadable or impossible time gets a clear answer and the command's usage."""
    answer = await ask(bot, body)
    assert answer.startswith(start)
    assert "Utilisation : !rappel [--tous] [--salon <salon>] <quand> <texte>" in answer
    assert await reminder_rows(bot) == 0


async def test_unreadable_time_answer_gives_examples(bot: Dispatcher) -> None:
    """The answer to a time the bot cannot read shows phrasings it can."""
    answer = await ask(bot, "!rappel appeler Jean")
    assert "demain 9h" in answer and "chaque lundi 9h" in answer


async def test_members_cannot_set_reminders(bot: Dispatcher) -> None:
    """A member's !rappel and !rappels are refused and store nothing."""
    refused = "Cette commande est réservée aux organisateurs."
    assert await ask(bot, "!rappel demain 9h x", sender=MEMBER) == refused
    assert await ask(bot, "!rappels", sender=MEMBER) == refused
    assert await reminder_rows(bot) == 0


async def test_listing_shows_time_rule_room_and_delivery(bot: Dispatcher, clock: FakeClock) -> None:
    """!rappels lists the planned reminders, and a fired one until its message is sent."""
    assert await ask(bot, "!rappels") == (
        "Aucun rappel prévu. Pour en programmer un : !rappel demain 9h Réunion d’équipe"
    )
    one_off = reminder_id(await ask(bot, "!rappel aujourd'hui 11h Café"))
    weekly = reminder_id(await ask(bot, "!rappel dans #autre:localhost chaque lundi 9h Point"))
    advance_to(clock, NOW.replace(hour=10))
    assert bot.services.reminders is not None
    await bot.services.reminders.run_due(clock.now())
    assert (await ask(bot, "!rappels")).split("\n") == [
        "Rappels prévus (heure de Paris) :",
        f"• {one_off} — le lundi 23 novembre 2026 à 11 h — ce salon — « Café »"
        " — dernier envoi : en attente",
        f"• {weekly} — chaque lundi à 9 h, prochain le lundi 30 novembre 2026 à 9 h"
        f" — {OTHER} — « Point »",
    ]


async def test_cancel_by_id(bot: Dispatcher) -> None:
    """An organiser cancels a reminder by its id; a second cancel or an unknown id is explained."""
    public_id = reminder_id(await ask(bot, "!rappel demain 9h Réunion"))
    assert (
        await ask(bot, f"!rappel annuler {public_id}") == f"Rappel {public_id} annulé — « Réunion »"
    )
    assert await ask(bot, f"!remind cancel {public_id}") == (
        f"Reminder {public_id} is no longer planned (already sent or cancelled)."
    )
    assert await ask(bot, "!rappel annuler rzzz") == "Je ne connais pas de rappel rzzz."
    assert "Aucun rappel prévu" in await ask(bot, "!rappels")


async def test_room_mention_written_in_the_text_counts_as_asked(
    bot: Dispatcher, clock: FakeClock
) -> None:
    """Writing @room in the reminder's text notifies the room when it fires."""
    await ask(bot, "!rappel aujourd'hui 11h @room réunion dans 5 minutes")
    advance_to(clock, NOW.replace(hour=10))
    assert bot.services.reminders is not None
    await bot.services.reminders.run_due(clock.now())
    fired = (await posted(bot.services.db))[-1]
    assert fired.body == "⏰ Rappel : @room réunion dans 5 minutes"
    assert fired.mentions == {"user_ids": [], "room": True}


async def reminder_rows(bot: Dispatcher) -> int:
    async with bot.services.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ReminderRow)) or 0)
