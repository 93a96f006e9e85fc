"""Organisers manage the feeds by command: add, remove, pause, resume, rooms, filters and
templates, each answered with what changed and kept with who changed it."""

from __future__ import annotations

from bot.commands.router import Dispatcher
from bot.feeds.settings import ADDED_FEED_KINDS
from bot.storage import feed_setup
from tests.commands.feeds_rig import ORGANISER, KnownRooms, ask, config, dispatcher, seeded
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import items, with_items
from tests.feeds.rig import ROOMS, Rig, database_url, db, postgres_database_url, rig

__all__ = ["database_url", "db", "postgres_database_url", "rig"]

BLOG = load_feed("blog").decode()
NEWSLETTERS = load_feed("infolettre").decode()
ROOMS_HERE = KnownRooms(
    {"#annonces:hub.test": "!annonces:hub.test", "#salon-a:hub.test": ROOMS[0]},
    {"#ailleurs:hub.test": "!ailleurs:hub.test"},
)
MEMBER = "@membre:hub.test"


def without_newest(xml: str, count: int = 1) -> str:
    return with_items(xml, items(xml)[count:])


async def started(rig: Rig) -> Dispatcher:
    """The configuration's two feeds seeded, the newsletter one polled once; the dispatcher."""
    await seeded(rig)
    rig.server.serve("/infolettre.xml", without_newest(NEWSLETTERS))
    await rig.watcher("/infolettre.xml").poll_once()
    return dispatcher(rig, directory=ROOMS_HERE)


async def history(rig: Rig, number: int) -> list[tuple[str, str]]:
    async with rig.db.session() as session:
        changes = await feed_setup.history(session, number)
    return [(change.actor, change.action) for change in reversed(changes)]


async def test_adding_a_feed_records_its_items_silently_and_announces_the_next_one(
    rig: Rig,
) -> None:
    """!flux ajouter reads the feed, lists its newest items, records them all without a word,
    and the feed's next new post is announced by its watcher."""
    handler = await started(rig)
    rig.server.serve("/blog.xml", without_newest(BLOG))
    url = rig.server.url("/blog.xml")
    lines = (await ask(rig, f"!flux ajouter {url}  Le blog", handler=handler)).splitlines()
    assert lines[:3] == [
        "C’est noté : flux n°3 « Le blog » ajouté. Ses 10 éléments actuels sont enregistrés "
        "sans annonce : seuls les nouveaux seront annoncés.",
        "Annoncé dans : les salons du hub ; types annoncés : infolettre, événement, billet, "
        "projet, autre.",
        "• [billet] Journées datascience & open source",
    ]
    assert lines[-1] == "… et 5 autres." and len(lines) == 8
    stored = [row for row in (await rig.items()).values() if row.feed_id == 3]
    assert len(stored) == 10 and {row.status for row in stored} == {"recorded_silently"}
    assert await history(rig, 3) == [(ORGANISER, "added")]
    rig.server.serve("/blog.xml", BLOG)
    report = await rig.watcher("/blog.xml", announce=ADDED_FEED_KINDS).poll_once()
    assert (report.outcome, report.new, len(report.announced)) == ("fetched", 1, 1)
    posts = [q for q in await rig.queued() if q.body.startswith("✍️")]
    assert sorted(q.room_id for q in posts) == sorted(ROOMS)
    assert all("Retour sur les Rencontres R 2026 à Nantes" in q.body for q in posts)


async def test_a_page_that_is_no_feed_or_answers_an_error_is_refused_with_the_reason(
    rig: Rig,
) -> None:
    """Nothing is stored for an HTML page or a missing address; the answer says why."""
    handler = await started(rig)
    page = rig.server.serve("/page.html", "<html><body><p>Bonjour</p></body></html>")
    answer = await ask(rig, f"!flux ajouter {page}", handler=handler)
    assert answer.startswith(f"Je n’ajoute pas {page} : ce n’est pas un flux RSS ou Atom (")
    missing = rig.server.url("/absent.xml")
    answer = await ask(rig, f"!flux ajouter {missing}", handler=handler)
    assert answer == (
        f"Je n’ajoute pas {missing} : le serveur refuse la page (http_4xx: HTTP 404) ; "
        "vérifiez l’adresse."
    )
    async with rig.db.session() as session:
        assert len(await feed_setup.setups(session, removed=True)) == 2


async def test_adding_a_feed_already_followed_says_which_it_is(rig: Rig) -> None:
    """The configuration's newsletter feed cannot be added twice."""
    handler = await started(rig)
    url = rig.server.url("/infolettre.xml")
    answer = await ask(rig, f"!flux ajouter {url}", handler=handler)
    assert answer == "Je suis déjà ce flux : c’est le n°1 « Infolettre »."


async def test_a_removed_feed_added_again_keeps_its_past_silent(rig: Rig) -> None:
    """Removed, then added again while a new newsletter appeared: it is recorded, not announced;
    the answer says the feed is followed again."""
    handler = await started(rig)
    url = rig.server.url("/blog.xml")
    rig.server.serve("/blog.xml", without_newest(BLOG))
    await ask(rig, f"!flux ajouter {url}", handler=handler)
    removed = await ask(rig, "!flux retirer 3", handler=handler)
    assert removed.startswith(
        f"C’est fait : je ne suis plus le flux n°3 « {url} ». Ses éléments restent connus"
    )
    rig.server.serve("/blog.xml", BLOG)
    again = await ask(rig, f"!flux ajouter {url} Blog", handler=handler)
    assert again.startswith("C’est noté : flux n°3 « Blog » suivi à nouveau")
    assert {row.status for row in (await rig.items()).values() if row.feed_id == 3} == {
        "recorded_silently"
    }
    assert await history(rig, 3) == [
        (ORGANISER, "added"), (ORGANISER, "removed"), (ORGANISER, "revived"),
    ]  # fmt: skip


async def test_removing_a_config_feed_says_it_comes_back_at_the_next_start(rig: Rig) -> None:
    """A feed of the configuration is only put aside until the next start; !flux omits it."""
    handler = await started(rig)
    answer = await ask(rig, "!flux retirer 1", handler=handler)
    assert answer.startswith(
        "C’est fait : je ne relève plus le flux n°1 « Infolettre » jusqu’au prochain démarrage. "
        "Il vient du fichier de configuration : il reviendra au prochain démarrage"
    )
    assert "« !flux pause 1 »" in answer
    listing = await ask(rig, "!flux", handler=handler)
    assert "Infolettre" not in listing and "n°2 Événements" in listing
    await seeded(rig)
    assert "n°1 Infolettre — actif" in await ask(rig, "!flux", handler=handler)


async def test_pause_and_resume_are_answered_and_shown(rig: Rig) -> None:
    """A paused feed is listed as paused by whom; pausing twice or resuming an active feed
    is answered plainly."""
    handler = await started(rig)
    paused = await ask(rig, "!flux pause 1", handler=handler)
    assert paused.startswith("C’est noté : flux n°1 « Infolettre » en pause.")
    assert "jusqu’à « !flux reprendre 1 »" in paused
    listing = await ask(rig, "!flux", handler=handler)
    assert (
        f"• n°1 Infolettre — en pause depuis le lundi 2 mars 2026 à 10 h 00 (par {ORGANISER}), "
        "du fichier de configuration"
    ) in listing
    again = await ask(rig, "!flux pause 1", handler=handler)
    assert again == "Le flux n°1 « Infolettre » est déjà en pause."
    resumed = await ask(rig, "!flux reprendre 1", handler=handler)
    assert resumed.startswith("C’est noté : flux n°1 « Infolettre » repris")
    assert await ask(rig, "!flux reprendre 1", handler=handler) == (
        "Le flux n°1 « Infolettre » n’est pas en pause."
    )


async def test_a_feeds_rooms_are_added_removed_and_reset(rig: Rig) -> None:
    """Rooms given by alias must be rooms the bot is in; the last one cannot go; défaut
    brings back the hub's rooms."""
    handler = await started(rig)
    ask_ = lambda body: ask(rig, body, handler=handler)  # noqa: E731
    assert (
        await ask_("!flux salon 1") == "Flux n°1 « Infolettre » : annoncé dans les salons du hub."
    )
    assert await ask_("!flux salon 1 #annonces:hub.test") == (
        f"Flux n°1 « Infolettre » : annoncé dans {ROOMS[0]}, {ROOMS[1]}, !annonces:hub.test."
    )
    assert await ask_("!flux salon 1 ajouter #ailleurs:hub.test") == (
        "Je ne suis pas dans le salon #ailleurs:hub.test : invitez-moi d’abord, puis recommencez."
    )
    await ask_(f"!flux salon 1 retirer {ROOMS[1]}")
    assert await ask_("!flux salon 1 retirer #salon-a:hub.test") == (
        "Flux n°1 « Infolettre » : annoncé dans !annonces:hub.test."
    )
    assert await ask_("!flux salon 1 retirer #annonces:hub.test") == (
        "Le flux n°1 « Infolettre » doit garder au moins un salon. Pour ne plus rien en "
        "annoncer : « pause 1 »."
    )
    assert await ask_("!flux salon 1 defaut") == (
        "Flux n°1 « Infolettre » : annoncé dans les salons du hub."
    )
    assert [action for _, action in await history(rig, 1)].count("rooms") == 4


async def test_rooms_set_by_command_receive_the_next_announcement(rig: Rig) -> None:
    """After !flux salon, the feed's next newsletter goes to that room alone."""
    handler = await started(rig)
    await ask(rig, "!flux salon 1 #annonces:hub.test", handler=handler)
    await ask(rig, f"!flux salon 1 retirer {ROOMS[0]}", handler=handler)
    await ask(rig, f"!flux salon 1 retirer {ROOMS[1]}", handler=handler)
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    await rig.watcher("/infolettre.xml").poll_once()
    announced = [q for q in await rig.queued() if q.body.startswith("📰")]
    assert [q.room_id for q in announced] == ["!annonces:hub.test"]


async def test_filters_are_set_shown_and_explained_by_why(rig: Rig) -> None:
    """An excluded title word holds the next newsletter back; !pourquoi names the filter."""
    handler = await started(rig)
    changed = await ask(rig, "!flux filtre 1 sauf-mot prix", handler=handler)
    assert changed.startswith(
        "C’est noté. Flux n°1 « Infolettre » : types annoncés : infolettre, événement · sauf "
        "avec dans le titre « prix ». Cela vaut dès sa prochaine relève"
    )
    shown = await ask(rig, "!flux filtre 1", handler=handler)
    assert shown == (
        "Flux n°1 « Infolettre » : types annoncés : infolettre, événement · sauf avec dans le "
        "titre « prix »."
    )
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    report = await rig.watcher("/infolettre.xml").poll_once()
    assert (report.new, report.announced) == (1, [])
    why = await ask(
        rig, "!pourquoi https://ssphub.netlify.app/infolettre/infolettre_26/", handler=handler
    )
    assert why.splitlines()[1] == (
        "Non annoncé : retenu par le filtre du flux — son titre contient « prix », exclu."
    )
    absent = await ask(rig, "!flux filtre 1 retirer mot prix", handler=handler)
    assert absent == "Le flux n°1 « Infolettre » n’a pas de filtre « prix »."
    cleared = await ask(rig, "!flux filtre 1 aucun", handler=handler)
    assert "types annoncés : infolettre, événement. Cela vaut" in cleared


async def test_a_kind_filter_replaces_the_kinds_a_feed_announces(rig: Rig) -> None:
    """ "type evenement" on the newsletter feed holds its next newsletter by its kind."""
    handler = await started(rig)
    await ask(rig, "!flux filtre 1 type evenement", handler=handler)
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    await rig.watcher("/infolettre.xml").poll_once()
    why = await ask(
        rig, "!pourquoi https://ssphub.netlify.app/infolettre/infolettre_26/", handler=handler
    )
    assert why.splitlines()[1] == (
        "Non annoncé : retenu par le filtre du flux — ce flux n’annonce pas les éléments de "
        "type infolettre."
    )


async def test_a_template_is_set_with_a_sample_and_used_by_the_preview(rig: Rig) -> None:
    """The answer shows the template on the feed's latest newsletter; !flux apercu announces
    the next one with it."""
    handler = await started(rig)
    answer = await ask(rig, "!flux modele 1 infolettre 📨 {title} (n°{number})", handler=handler)
    assert answer.splitlines()[:3] == [
        "C’est noté : flux n°1 « Infolettre », modèle des infolettres : 📨 {title} (n°{number})",
        "Exemple avec son dernier élément de ce type :",
        "📨 Des agents en folie (n°25)",
    ]
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    preview = await ask(rig, "!flux apercu 1", handler=handler)
    assert "📨 Le prix de statistiques indépendantes (n°26)" in preview
    templates = await ask(rig, "!flux modele 1", handler=handler)
    assert templates.splitlines() == [
        "Modèles du flux n°1 « Infolettre » :",
        "  infolettres : 📨 {title} (n°{number})",
    ]
    reset = await ask(rig, "!flux modele 1 infolettre", handler=handler)
    assert reset.startswith(
        "C’est noté : flux n°1 « Infolettre », les infolettres reprennent le modèle par défaut."
    )


async def test_a_bad_template_is_answered_with_the_template_usage(rig: Rig) -> None:
    """An unknown placeholder or @room is refused with the subcommand's usage line (the answer
    itself never pings: its "@room" carries a word joiner)."""
    handler = await started(rig)
    answer = await ask(rig, "!flux modele 1 billet {titre}", handler=handler)
    assert answer == (
        "Désolé, je ne connais pas {titre} : utilisez title, number, when, place, summary, link "
        "ou feed. Utilisation : !flux modele <n> [<type> [<modèle>]]"
    )
    english = await ask(rig, "!feeds template 1 post @room {title}", handler=handler)
    assert english == (
        "Sorry, a template cannot notify the whole room (@\u2060room). Usage: !feeds template <n> "
        "[<kind> [<template>]]"
    )


async def test_one_feed_in_detail_shows_its_setup_and_who_changed_it(rig: Rig) -> None:
    """!flux 1 lists the feed, its address, templates and its latest changes with their authors."""
    handler = await started(rig)
    await ask(rig, "!flux modele 1 evenement 📅 {title}", handler=handler)
    await ask(rig, "!flux pause 1", handler=handler)
    lines = (await ask(rig, "!flux 1", handler=handler)).splitlines()
    assert lines[0].startswith("• n°1 Infolettre — en pause depuis le lundi 2 mars 2026")
    assert f"  adresse : {rig.server.url('/infolettre.xml')}" in lines
    assert "  événements : 📅 {title}" in lines
    assert lines[-4:] == [
        "Derniers changements :",
        f"• le lundi 2 mars 2026 à 10 h 00, {ORGANISER} : mis en pause",
        f"• le lundi 2 mars 2026 à 10 h 00, {ORGANISER} : modèle des événements : 📅 {{title}}",
        "• le lundi 2 mars 2026 à 10 h 00, le fichier de configuration : ajouté depuis la "
        "configuration",
    ]


async def test_english_words_answer_in_english(rig: Rig) -> None:
    """!feeds pause and resume work as the French words, answered in English."""
    handler = await started(rig)
    paused = await ask(rig, "!feeds pause 2", handler=handler)
    assert paused.startswith("Done: feed no. 2 “Événements” paused.")
    assert "until “!feeds resume 2”" in paused
    assert (await ask(rig, "!feeds rooms 2", handler=handler)) == (
        "Feed no. 2 “Événements”: announced in the hub’s rooms."
    )


async def test_members_cannot_manage_feeds_and_unknown_feeds_are_named(rig: Rig) -> None:
    """A member is refused; an organiser naming a feed that does not exist is told so."""
    handler = await started(rig)
    url = rig.server.url("/blog.xml")
    refused = await ask(rig, f"!flux ajouter {url}", sender=MEMBER, handler=handler)
    assert refused == "Cette commande est réservée aux organisateurs."
    assert rig.server.requests == [("/infolettre.xml", 200)]
    unknown = await ask(rig, "!flux pause 9", handler=handler)
    assert unknown == (
        "Je ne suis aucun flux « 9 ». La liste des flux, sans argument, donne leurs numéros."
    )
    usage = await ask(rig, "!flux pause", handler=handler)
    assert usage == (
        "Désolé, il faut le numéro du flux (tel que la liste des flux le donne) ou son adresse. "
        "Utilisation : !flux pause <n>"
    )


def test_config_helper_builds_a_configuration_without_feeds(rig: Rig) -> None:
    """The rig's configuration may list no feed at all."""
    assert config(rig, []).feeds == ()


async def test_help_on_the_feeds_command_details_each_subcommand(rig: Rig) -> None:
    """!aide flux gives the command's usage, then each subcommand's usage and what it does."""
    handler = await started(rig)
    lines = (await ask(rig, "!aide flux", handler=handler)).splitlines()
    assert lines[0].startswith("!flux [<n>] · apercu · ajouter")
    assert [line.split(" — ")[0] for line in lines[1:]] == [
        "• !flux <n>", "• !flux apercu <n|adresse>", "• !flux ajouter <adresse> [nom]",
        "• !flux retirer <n|adresse>", "• !flux pause <n>", "• !flux reprendre <n>",
        "• !flux salon <n> [[ajouter|retirer] <salon> | defaut]",
        "• !flux filtre <n> [type <types…>|tous · categorie <c> · sauf-categorie <c> · mot <m> · "
        "sauf-mot <m> · retirer <categorie|sauf-categorie|mot|sauf-mot> <valeur> · aucun]",
        "• !flux modele <n> [<type> [<modèle>]]",
    ]  # fmt: skip
    english = await ask(rig, "!help feeds", handler=handler)
    assert "• !feeds room <n> [[add|remove] <room> | default] — the rooms" in english
