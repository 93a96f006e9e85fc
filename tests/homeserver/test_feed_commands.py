"""Organisers manage the feeds by command against a real Synapse and a real feed server: the
running bot follows each change without a restart, and keeps it across one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import App
from bot.clock import SystemClock
from bot.config import Config
from bot.matrix.member import Member, Seen
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import FeedServer, feed_server, items, newest_dated_lately, with_items
from tests.homeserver.harness import bot_config, member, poll, register, started

pytestmark = pytest.mark.homeserver

NOW = SystemClock().now()
NEWSLETTERS = newest_dated_lately(load_feed("infolettre").decode(), 2, NOW)
BLOG = newest_dated_lately(load_feed("blog").decode(), 2, NOW)
PRIX = "Le prix de statistiques indépendantes"
NANTES = "Retour sur les Rencontres R 2026 à Nantes"  # the blog's newest post
JOURNEES = "Journées datascience & open source"  # and the one before


def without_newest(xml: str, count: int) -> str:
    return with_items(xml, items(xml)[count:])


@dataclass
class Desk:
    """An organiser's room with the bot following the newsletter feed, and the feed server."""

    synapse: LocalSynapse
    orga: Member
    room: str
    bot_user: SynapseUser
    password: str
    data_dir: Path
    server: FeedServer
    app: App

    def config(self) -> Config:
        url = self.server.url("/infolettre.xml")
        extra = f"feeds:\n  - {{url: {url}, interval: 3600, name: Infolettre}}\n"
        return bot_config(
            self.synapse, self.bot_user, self.password, self.data_dir, rooms=[self.room],
            organisers=[self.orga.user_id], extra=extra,
        )  # fmt: skip

    async def ask(self, body: str, room: str | None = None) -> str:
        """The bot's answer to the organiser's ``body``."""
        room = room or self.room
        event_id = await self.orga.send_text(room, body)
        return (await self.orga.wait_for_reply(room, event_id, timeout=30)).body

    async def restart(self) -> None:
        await self.app.stop()
        self.app = await started(self.config())

    def fetches(self, path: str) -> int:
        return sum(1 for requested, _ in self.server.requests if requested == path)

    async def watching(self, path: str, expected: bool = True) -> None:
        """Wait until the running bot has (or no longer has) a watcher for ``path``."""
        url = self.server.url(path)

        async def settled() -> bool:
            assert self.app.feeds is not None
            return (url in [watcher.url for watcher in self.app.feeds.watchers]) is expected

        await poll(settled)

    async def shown(self, room: str, start: str) -> Seen:
        return await self.orga.wait_for(
            lambda seen: seen.room_id == room and seen.body.startswith(start), timeout=30
        )


@pytest_asyncio.fixture(loop_scope="session")
async def desk(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[Desk]:
    """The bot started on a newsletter feed whose two newest items are not published yet."""
    bot_user, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    orga = await member(synapse, orga_user, tmp_path)
    room = await orga.create_room(invite=[bot_user.user_id], encrypted=False)
    async with feed_server() as server:
        server.serve("/infolettre.xml", without_newest(NEWSLETTERS, 2))
        desk = Desk(synapse, orga, room, bot_user, password, tmp_path / "bot", server, None)  # type: ignore[arg-type]
        desk.app = await started(desk.config())
        try:
            await orga.wait_for_member(room, bot_user.user_id, timeout=30)
            await poll(lambda: _fetched(desk, "/infolettre.xml"))
            yield desk
        finally:
            await desk.app.stop()
            await orga.stop()


async def _fetched(desk: Desk, path: str) -> bool:
    return desk.fetches(path) >= 1


async def test_a_feed_added_during_the_run_is_polled_announces_and_survives_a_restart(
    desk: Desk,
) -> None:
    """!flux ajouter: the running bot gets a watcher for the feed, whose next new post is
    announced; after a restart the feed is still followed, and announces the one after."""
    desk.server.serve("/blog.xml", without_newest(BLOG, 2))
    url = desk.server.url("/blog.xml")
    answer = await desk.ask(f"!flux ajouter {url} Le blog")
    assert answer.startswith("C’est noté : flux n°2 « Le blog » ajouté. Ses 9 éléments actuels")
    await desk.watching("/blog.xml")
    desk.server.serve("/blog.xml", without_newest(BLOG, 1))
    assert desk.app.feeds is not None
    reports = {report.url: report for report in await desk.app.feeds.poll_now()}
    assert len(reports[url].announced) == 1
    await desk.shown(desk.room, f"✍️ Nouveau billet — {JOURNEES}")
    await desk.restart()
    listing = await desk.ask("!flux")
    assert f"• n°2 Le blog — actif, ajouté par {desk.orga.user_id} le " in listing
    await desk.watching("/blog.xml")
    desk.server.serve("/blog.xml", BLOG)
    reports = {report.url: report for report in await desk.app.feeds.poll_now()}
    assert len(reports[url].announced) == 1
    await desk.shown(desk.room, f"✍️ Nouveau billet — {NANTES}")


async def test_a_paused_feed_is_not_fetched_even_after_a_restart_until_resumed(
    desk: Desk,
) -> None:
    """!flux pause: the feed server hears nothing more from the bot, across a restart;
    !flux reprendre: it is fetched again at once."""
    answer = await desk.ask("!flux pause 1")
    assert answer.startswith("C’est noté : flux n°1 « Infolettre » en pause.")
    await desk.watching("/infolettre.xml", expected=False)
    before = desk.fetches("/infolettre.xml")
    assert desk.app.feeds is not None and await desk.app.feeds.poll_now() == []
    await desk.restart()
    assert "• n°1 Infolettre — en pause depuis le " in await desk.ask("!flux")
    assert desk.app.feeds is not None and await desk.app.feeds.poll_now() == []
    assert desk.fetches("/infolettre.xml") == before
    resumed = await desk.ask("!flux reprendre 1")
    assert resumed.startswith("C’est noté : flux n°1 « Infolettre » repris")
    await poll(lambda: _more(desk, before))


async def _more(desk: Desk, before: int) -> bool:
    return desk.fetches("/infolettre.xml") > before


async def test_rooms_filters_and_templates_set_by_command_shape_the_next_announcement(
    desk: Desk,
) -> None:
    """Moved to a second room, with a title word excluded and a template of its own, the
    feed's next newsletter goes to that room alone in that template; the held one is
    explained by !pourquoi, and !flux apercu showed both beforehand."""
    other = await desk.orga.create_room(invite=[desk.bot_user.user_id], encrypted=False)
    await desk.orga.wait_for_member(other, desk.bot_user.user_id, timeout=30)
    assert await desk.ask(f"!flux salon 1 {other}") == (
        f"Flux n°1 « Infolettre » : annoncé dans {desk.room}, {other}."
    )
    assert await desk.ask(f"!flux salon 1 retirer {desk.room}") == (
        f"Flux n°1 « Infolettre » : annoncé dans {other}."
    )
    assert (await desk.ask("!flux filtre 1 sauf-mot agents")).startswith("C’est noté.")
    assert (await desk.ask("!flux modele 1 infolettre 📨 {title}")).startswith(
        "C’est noté : flux n°1 « Infolettre », modèle des infolettres : 📨 {title}"
    )
    desk.server.serve("/infolettre.xml", NEWSLETTERS)
    preview = await desk.ask("!flux apercu 1")
    assert "— non annoncé (son titre contient « agents », exclu)" in preview
    assert f"📨 {PRIX}" in preview
    assert desk.app.feeds is not None
    (report,) = await desk.app.feeds.poll_now()
    assert (report.new, len(report.announced)) == (2, 1)
    await desk.shown(other, f"📨 {PRIX}")
    why = await desk.ask("!pourquoi https://ssphub.netlify.app/infolettre/infolettre_25/")
    assert why.splitlines()[1] == (
        "Non annoncé : retenu par le filtre du flux — son titre contient « agents », exclu."
    )
    bot = desk.bot_user.user_id
    posted_here = [
        seen for seen in desk.orga.seen
        if (seen.room_id, seen.sender, seen.in_reply_to) == (desk.room, bot, None)
    ]  # fmt: skip
    assert not [seen for seen in posted_here if "📨" in seen.body]


async def test_removal_refusal_details_and_usage_are_answered(desk: Desk) -> None:
    """A page that is no feed is refused with the reason; a bad filter gets the filter's
    usage; !flux 1 shows who changed what; a config feed removed says it comes back."""
    page = desk.server.serve("/page.html", "<html><body>Bonjour</body></html>")
    refused = await desk.ask(f"!feeds add {page}")
    assert refused.startswith(f"I am not adding {page}: it is no RSS or Atom feed (")
    usage = await desk.ask("!flux filtre 1 couleur bleu")
    assert usage.startswith(
        "Désolé, je ne connais pas le filtre « couleur ». Utilisation : !flux filtre <n> ["
    )
    await desk.ask("!flux pause 1")
    detail = await desk.ask("!flux 1")
    assert f", {desk.orga.user_id} : mis en pause" in detail
    assert "le fichier de configuration : ajouté depuis la configuration" in detail
    removed = await desk.ask("!flux retirer 1")
    assert "il reviendra au prochain démarrage tant que le fichier le liste" in removed
    assert (await desk.ask("!flux")).startswith("Aucun flux n’est suivi.")
