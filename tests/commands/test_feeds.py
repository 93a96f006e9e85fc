"""Organiser feed commands: !flux, !flux apercu and !pourquoi, answered from real polls."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.commands import feeds as feed_commands
from bot.commands.declare import Role
from bot.commands.feed_args import parse_feeds_args, parse_ref
from bot.errors import UsageError
from bot.i18n import catalogue
from tests.commands import feeds_rig
from tests.commands.feeds_rig import ORGANISER, seeded
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import items, with_items
from tests.feeds.layouts import EVENTS, old_event_feed, old_newsletter_feed
from tests.feeds.rig import Rig, database_url, db, postgres_database_url, rig

__all__ = ["database_url", "db", "postgres_database_url", "rig"]

NEWSLETTERS = load_feed("infolettre").decode()
NEWEST = "https://ssphub.netlify.app/infolettre/infolettre_26/"
BEFORE = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


async def ask(rig: Rig, body: str, sender: str = ORGANISER) -> str:
    """Dispatch ``body`` in the hub room (the configuration's feeds seeded) and return the
    answer's text."""
    await seeded(rig)
    return await feeds_rig.ask(rig, body, sender)


async def polled(rig: Rig, xml: str = NEWSLETTERS) -> None:
    """One poll of the newsletter feed serving ``xml``."""
    rig.server.serve("/infolettre.xml", xml)
    await rig.watcher("/infolettre.xml").poll_once()


@pytest.mark.parametrize("args", ["apercu", "apercu pas-une-url", "aperçu ftp://x", "voir"])
def test_bad_feeds_arguments_are_usage_errors(args: str) -> None:
    """An unknown subcommand, or apercu without a feed number or http(s) URL, is refused."""
    with pytest.raises(UsageError):
        request = parse_feeds_args(args)
        parse_ref(request.rest, request.subcommand)


def test_feeds_arguments_read_a_preview_url() -> None:
    """Nothing means the state; apercu (any spelling) takes one URL."""
    assert parse_feeds_args("").subcommand == "status"
    url = "https://ssphub.netlify.app/event.xml"
    request = parse_feeds_args(f"APERÇU <{url}>")
    assert (request.subcommand, parse_ref(request.rest, "preview")) == ("preview", url)


async def test_state_of_every_feed_in_french_and_paris_time(rig: Rig) -> None:
    """!flux gives each feed's number, state, origin, rooms, kinds, then its last poll,
    success, next poll and items; never-polled ones too."""
    await seeded(rig)
    await polled(rig)
    lines = (await ask(rig, "!flux")).splitlines()
    assert lines == [
        "Flux suivis :",
        "• n°1 Infolettre — actif, du fichier de configuration",
        "  salons : les salons du hub ; types annoncés : infolettre, événement",
        "  dernière relève : lundi 2 mars 2026 à 10 h 00 ; dernier succès : lundi 2 mars 2026 "
        "à 10 h 00 ; prochaine relève : lundi 2 mars 2026 à 10 h 05 ; éléments connus : 20",
        "• n°2 Événements — actif, du fichier de configuration",
        "  salons : les salons du hub ; types annoncés : infolettre, événement",
        "  dernière relève : jamais ; dernier succès : jamais ; prochaine relève : jamais ; "
        "éléments connus : 0",
    ]


async def test_state_shows_the_last_error(rig: Rig) -> None:
    """A failing feed's line is followed by its error kind, count and reason."""
    rig.server.serve("/infolettre.xml", b"", status=503)
    await rig.watcher("/infolettre.xml").poll_once()
    answer = await ask(rig, "!flux")
    assert "dernière erreur (http_5xx, 1 échec(s) d’affilée) : http_5xx: HTTP 503" in answer


async def test_members_may_not_see_the_feeds(rig: Rig) -> None:
    """!flux is for organisers only."""
    answer = await ask(rig, "!flux", sender="@membre:localhost")
    assert answer == "Cette commande est réservée aux organisateurs."


async def test_preview_says_what_the_next_poll_would_announce_and_sends_nothing(rig: Rig) -> None:
    """A dry run of a known feed marks the new item and shows its message; nothing is stored."""
    await polled(rig, with_items(NEWSLETTERS, items(NEWSLETTERS)[1:]))
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    answer = await ask(rig, f"!flux apercu {rig.server.url('/infolettre.xml')}")
    lines = answer.splitlines()
    assert lines[0].endswith(": 20 éléments. Rien n’est envoyé.")
    assert (
        lines[1].startswith("• [infolettre] Le prix de statistiques indépendantes")
        and "serait annoncé" in lines[1]
    )
    assert all(line.endswith("déjà connu") for line in lines[2:21])
    assert "📰 Nouvelle infolettre n°26 — " in answer
    assert len(await rig.items()) == 19 and len(await rig.queued()) == 1


async def test_preview_of_an_unreadable_feed_says_why(rig: Rig) -> None:
    """A dry run of a broken address answers with the reason instead of failing."""
    answer = await ask(rig, f"!flux apercu {rig.server.url('/absent.xml')}")
    assert answer == "Je n’ai pas pu lire ce flux (http_4xx: HTTP 404)."


async def test_why_an_item_was_announced_names_rooms_and_events(rig: Rig) -> None:
    """!pourquoi on an announced item tells when it was first seen and where it went."""
    await polled(rig, with_items(NEWSLETTERS, items(NEWSLETTERS)[1:]))
    await polled(rig)
    await rig.send_all()
    answer = await ask(rig, f"!pourquoi {NEWEST}")
    lines = answer.splitlines()
    assert lines[0].startswith(
        "« Le prix de statistiques indépendantes » (infolettre, flux Infolettre)"
    )
    assert lines[0].endswith(
        ": vu pour la première fois le lundi 2 mars 2026 à 10 h 00, à la relève n°2."
    )
    assert lines[1] == "Annoncé dans :"
    assert sorted(lines[2:]) == [
        "  • !salon-a:hub.test : envoyé ($event1)",
        "  • !salon-b:hub.test : envoyé ($event2)",
    ]


async def test_why_an_item_was_not_announced(rig: Rig) -> None:
    """An item of the first poll, asked by another spelling of its link, was recorded silently."""
    await polled(rig)
    preview_link = NEWEST.replace("ssphub.netlify.app", "deploy-preview-7--ssphub.netlify.app")
    answer = await ask(rig, f"!pourquoi {preview_link.rstrip('/')}")
    assert answer.splitlines()[1] == (
        "Non annoncé : il était déjà là à la première relève du flux, enregistrée sans annonce."
    )


async def test_why_an_unknown_link_says_so(rig: Rig) -> None:
    """A link no feed ever showed is unknown."""
    answer = await ask(rig, "!pourquoi https://example.org/rien/")
    assert answer.startswith("Je ne connais aucun élément de flux avec ce lien.")


async def restructured(rig: Rig) -> None:
    """The event and newsletter feeds polled in May 2026, then after the site's restructuring in
    December: old items came back into both."""
    rig.clock.advance((BEFORE - rig.clock.now()).total_seconds())
    rig.server.serve("/event.xml", old_event_feed())
    await polled(rig, old_newsletter_feed())
    await rig.watcher("/event.xml", default_kind="event").poll_once()
    rig.clock.advance((AFTER - rig.clock.now()).total_seconds())
    rig.server.serve("/event.xml", EVENTS)
    await polled(rig)
    await rig.watcher("/event.xml", default_kind="event").poll_once()


@pytest.mark.parametrize(
    ("command", "link", "reason"),
    [
        (
            "!pourquoi",
            "https://ssphub.netlify.app/talk/2021-06-22-funathon/",
            "Non annoncé : c’était un événement déjà passé quand il est apparu dans le flux "
            "(un événement du jour compte encore comme à venir).",
        ),
        (
            "!why",
            "https://ssphub.netlify.app/infolettre/infolettre_old/",
            "Not announced: it is dated before the newest item of kind newsletter already known "
            "in this feed; an old item back in the feed’s window.",
        ),
    ],
)
async def test_why_an_old_item_was_not_announced(
    rig: Rig, command: str, link: str, reason: str
) -> None:
    """!pourquoi on an item that came back old after the restructuring gives the reason."""
    await restructured(rig)
    assert len(await rig.queued()) == 0
    assert (await ask(rig, f"{command} {link}")).splitlines()[1] == reason


async def test_preview_marks_old_items_and_shows_no_message_for_them(rig: Rig) -> None:
    """A dry run of the restructured event feed says the returned events are past."""
    rig.clock.advance((BEFORE - rig.clock.now()).total_seconds())
    rig.server.serve("/event.xml", old_event_feed())
    await rig.watcher("/event.xml", default_kind="event").poll_once()
    rig.clock.advance((AFTER - rig.clock.now()).total_seconds())
    rig.server.serve("/event.xml", EVENTS)
    answer = await ask(rig, f"!flux apercu {rig.server.url('/event.xml')}")
    past = [line for line in answer.splitlines() if line.endswith("(événement déjà passé)")]
    assert len(past) == 4 and "Funathon de juin 2021" in "".join(past)
    assert "Messages qui seraient envoyés" not in answer


@pytest.mark.parametrize("language", ["fr", "en"])
def test_feed_commands_have_words_usage_and_help_in_both_languages(language: str) -> None:
    """!flux and !pourquoi are declared for organisers, with their catalogue lines."""
    t = catalogue(language)
    for command in feed_commands.router.commands:
        assert command.role is Role.ORGANISER and set(command.words) == {"fr", "en"}
        assert t.has(command.usage_key) and t(command.help_key)
