"""Agenda commands answered end to end: !agenda, !prochain, !evenement, !infolettre, and English."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from bot.commands import agenda as agenda_commands
from bot.commands import meta
from bot.commands.router import Dispatcher
from bot.config import parse_config
from bot.feeds.normalise import ItemKind
from bot.i18n import LANGUAGES, catalogue
from bot.messages import IncomingMessage
from bot.services.ratelimit import RateLimiter
from bot.storage.db import Database
from bot.storage.models import EventRow, OutboxRow
from tests import factory
from tests.fakes import FakeClock
from tests.services.agenda.rig import (
    DARES,
    HUB,
    NEWSLETTER_FEED,
    NOW,
    ORGANISER,
    fixture_items,
    store_event_feed,
    store_items,
    upcoming,
)

MEMBER = "@membre:localhost"
DARES_LINK = "https://ssphub.netlify.app/event/2026-03-dares-conventions-collectives/"
_numbers = itertools.count(1)


@pytest.fixture
def bot(db: Database) -> Dispatcher:
    """The dispatcher as the app builds it, with the agenda commands."""
    text = f"""\
matrix: {{homeserver: "http://127.0.0.1:8008", user_id: "@bot:localhost", password: pw}}
rooms: ["{HUB}"]
organisers: ["{ORGANISER}"]
"""
    config = parse_config(text, source="test.yaml", environ={})
    clock = FakeClock(NOW)
    services = factory.services(config, clock, db)
    dispatcher = Dispatcher(services, RateLimiter(clock, burst=50, per_seconds=1))
    dispatcher.include(meta.router, agenda_commands.router)
    return dispatcher


async def ask(bot: Dispatcher, body: str, sender: str = ORGANISER) -> str:
    """Send a command in the hub room; the bot's answer."""
    event_id = f"$agenda{next(_numbers)}"
    await bot.handle(IncomingMessage(HUB, event_id, sender, body, NOW))
    async with bot.services.db.session() as session:
        rows = await session.execute(
            select(OutboxRow.content).order_by(OutboxRow.id.desc()).limit(1)
        )
        content = rows.scalar_one()
    assert content["m.relates_to"]["m.in_reply_to"]["event_id"] == event_id
    return str(content["body"])


async def test_agenda_lists_the_next_thirty_days_from_the_real_feed(
    db: Database, bot: Dispatcher
) -> None:
    """On 2 March 2026, !agenda shows the 18 March event: number, day, "horaire à préciser"."""
    await store_event_feed(db)
    assert await ask(bot, "!agenda", MEMBER) == (
        "📅 Agenda des 30 prochains jours (heure de Paris) :\n"
        f"• n°3 — mercredi 18 mars, horaire à préciser — {DARES} — {DARES_LINK}"
    )


async def test_a_longer_period_lists_more_events(db: Database, bot: Dispatcher) -> None:
    """!agenda 120 reaches the April and June events as well."""
    await store_event_feed(db)
    answer = await ask(bot, "!agenda 120", MEMBER)
    assert answer.count("\n• ") == 3
    assert "• n°1 — du mardi 16 au mercredi 17 juin — Journées data science" in answer


async def test_an_empty_week_is_a_friendly_sentence(db: Database, bot: Dispatcher) -> None:
    """!agenda semaine with nothing on says so, and names the next event."""
    await store_event_feed(db)
    assert await ask(bot, "!agenda semaine", MEMBER) == (
        "Rien au programme dans les 7 prochains jours pour l’instant 🙂 "
        f"Ensuite : n°3 — mercredi 18 mars, horaire à préciser — {DARES} — {DARES_LINK}"
    )


async def test_an_empty_agenda_is_never_an_empty_message(bot: Dispatcher) -> None:
    """With no event known at all, the answer is a sentence."""
    assert await ask(bot, "!agenda", MEMBER) == (
        "Rien au programme dans les 30 prochains jours pour l’instant 🙂"
    )
    assert await ask(bot, "!prochain", MEMBER) == (
        "Aucun événement à venir n’est connu pour l’instant 🙂 "
        "Les annonces arrivent ici dès qu’il y en a."
    )


async def test_a_bad_period_gets_the_reason_and_the_usage(bot: Dispatcher) -> None:
    """The router appends the usage line to the reason."""
    assert await ask(bot, "!agenda demain", MEMBER) == (
        "Désolé, « demain » n’est pas une période : donnez un nombre de jours de 1 à 366, "
        "« semaine » ou « mois ». Utilisation : !agenda [7|30|semaine|mois]"
    )


async def test_next_shows_the_next_event_in_full(db: Database, bot: Dispatcher) -> None:
    """!prochain gives title, number, day, summary and link."""
    await store_event_feed(db)
    answer = await ask(bot, "!prochain", MEMBER)
    lines = answer.split("\n")
    assert lines[:2] == [f"📅 {DARES} (n°3)", "🗓️ mercredi 18 mars 2026, horaire à préciser"]
    assert lines[2].startswith("Les accords d’entreprise")
    assert lines[3] == f"🔗 {DARES_LINK}"


async def test_english_words_get_english_answers(db: Database, bot: Dispatcher) -> None:
    """!next and !event answer in English, dates written the English way."""
    await store_event_feed(db)
    answer = await ask(bot, "!next", MEMBER)
    assert answer.split("\n")[:2] == [
        f"📅 {DARES} (no. 3)",
        "🗓️ Wednesday 18 March 2026, time to be confirmed",
    ]
    assert (await ask(bot, "!event 1", MEMBER)).split("\n")[1] == (
        "🗓️ from Tuesday 16 to Wednesday 17 June 2026"
    )


async def test_one_event_by_number(db: Database, bot: Dispatcher) -> None:
    """!evenement 3 shows that event; an unknown number is explained."""
    await store_event_feed(db)
    assert (await ask(bot, "!evenement n°3", MEMBER)).startswith(f"📅 {DARES} (n°3)")
    assert (await ask(bot, "!événement 3", MEMBER)).startswith(f"📅 {DARES} (n°3)")
    assert await ask(bot, "!evenement 99", MEMBER) == (
        "Je ne connais pas d’événement n°99. Les numéros sont dans l’agenda."
    )


async def test_the_latest_newsletter(db: Database, bot: Dispatcher) -> None:
    """!infolettre gives the newest newsletter's number, title and link."""
    await store_items(db, NEWSLETTER_FEED, fixture_items("infolettre", ItemKind.OTHER))
    answer = await ask(bot, "!infolettre", MEMBER)
    assert answer.startswith("📰 Dernière infolettre : n°26 — ")
    assert answer.split("\n")[1].startswith("https://ssphub.netlify.app/infolettre/")


async def test_members_cannot_change_the_agenda(db: Database, bot: Dispatcher) -> None:
    """A member's !evenement ajouter, modifier or supprimer is refused and changes nothing."""
    await store_event_feed(db)
    for command in (
        "!evenement ajouter jeudi 14h Atelier",
        "!evenement modifier 3 heure 15h",
        "!evenement supprimer 3",
    ):
        assert await ask(bot, command, MEMBER) == "Cette commande est réservée aux organisateurs."
    async with db.session() as session:
        assert len((await session.scalars(select(EventRow))).all()) == 20
    assert [event.title for event in await upcoming(db)] == [DARES]


async def test_an_organiser_adds_an_event_and_members_see_it(bot: Dispatcher) -> None:
    """The echo says the number and the time understood; !agenda then lists the event."""
    answer = await ask(bot, "!evenement ajouter jeudi 14h30 Atelier R | Salle 12 | https://x.fr/r")
    assert answer == (
        "C’est noté : événement n°1 — jeudi 5 mars 2026, 14 h 30 (heure de Paris) — Atelier R\n"
        "📍 Salle 12\n🔗 https://x.fr/r"
    )
    assert (await ask(bot, "!agenda 7", MEMBER)).endswith(
        "• n°1 — jeudi 5 mars, 14 h 30 — Atelier R — https://x.fr/r"
    )


async def test_an_event_without_a_time_is_to_be_confirmed(bot: Dispatcher) -> None:
    """A day without an hour is echoed as "horaire à préciser"."""
    assert await ask(bot, "!evenement ajouter le 20 mars Journée R") == (
        "C’est noté : événement n°1 — vendredi 20 mars 2026, horaire à préciser — Journée R"
    )


async def test_an_organiser_amends_a_feed_event(db: Database, bot: Dispatcher) -> None:
    """Time, end and place set on a feed event show in the echo and in the agenda."""
    await store_event_feed(db)
    await ask(bot, "!evenement modifier 3 heure 14h")
    await ask(bot, "!evenement modifier 3 fin 16h")
    answer = await ask(bot, "!evenement modifier 3 lieu Dares, Paris 15e")
    assert answer == (
        "C’est noté : événement n°3 modifié — mercredi 18 mars 2026, 14 h – 16 h (heure de Paris)"
        f" — {DARES}\n📍 Dares, Paris 15e\n🔗 {DARES_LINK}"
    )
    assert "• n°3 — mercredi 18 mars, 14 h – 16 h — " in await ask(bot, "!agenda", MEMBER)


async def test_a_bad_field_gets_the_reason_and_the_usage(db: Database, bot: Dispatcher) -> None:
    """An unknown field is named in the answer."""
    await store_event_feed(db)
    answer = await ask(bot, "!evenement modifier 3 couleur bleu")
    assert answer.startswith(
        "Désolé, je ne sais pas modifier « couleur » : les champs sont heure, fin, lieu, titre et "
        "lien. Utilisation : !evenement <n> · ajouter"
    )


async def test_removing_hides_a_feed_event_and_deletes_a_manual_one(
    db: Database, bot: Dispatcher
) -> None:
    """A feed event is hidden (and says so); a manual one is deleted; neither is listed."""
    await store_event_feed(db)
    await ask(bot, "!evenement ajouter jeudi 14h Atelier")
    assert await ask(bot, "!evenement supprimer 3") == (
        f"Événement n°3 retiré de l’agenda — « {DARES} ». Il vient d’un flux : les mises à jour "
        "du flux ne le feront pas revenir."
    )
    assert await ask(bot, "!evenement supprimer 21") == "Événement n°21 supprimé — « Atelier »"
    assert (await ask(bot, "!agenda", MEMBER)).startswith("Rien au programme")


async def test_english_add(bot: Dispatcher) -> None:
    """!event add answers in English."""
    assert await ask(bot, "!event add tomorrow 2pm R workshop") == (
        "Noted: event no. 1 — Tuesday 3 March 2026, 14:00 (Paris time) — R workshop"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_agenda_commands_have_words_usage_and_help(language: str) -> None:
    """Each agenda command has a word, a usage and a help line in each language."""
    t = catalogue(language)
    for command in agenda_commands.router.commands:
        assert t.has(command.usage_key) and t(command.help_key)
        assert set(command.words) == set(LANGUAGES)
