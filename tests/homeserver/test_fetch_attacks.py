"""An organiser's previews and the hub's own feeds against internal addresses, on the real
homeserver with real local HTTP servers: no internal fetch, no redirect inward, no file read."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage import feeds
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import Route, feed_server, items, retitle, with_items
from tests.homeserver.conftest import Community
from tests.homeserver.harness import bot_config, poll
from tests.homeserver.hostile import ask, restart

pytestmark = pytest.mark.homeserver

SECRET = "Projet interne confidentiel"
NEWSLETTERS = load_feed("infolettre").decode()
INTERNAL = with_items(NEWSLETTERS, [retitle(items(NEWSLETTERS)[0], SECRET)])


async def test_attack_3_a_preview_never_reaches_an_internal_address(community: Community) -> None:
    """Without an allowance, !flux apercu of a loopback address (by address, by name, as IPv4
    in IPv6), of PostgreSQL's port or of the metadata address is refused before any connection:
    the internal server hears nothing, and an open port reads like a closed one."""
    config = bot_config(
        community.synapse, community.bot_user, community.bot_password, community.data_dir,
        rooms=[community.room_id], organisers=[], allow_private=(),
    )  # fmt: skip
    await restart(community, config)
    async with feed_server() as internal:
        url = internal.serve("/interne.xml", INTERNAL)
        port = url.split(":")[2].split("/")[0]
        answers = [
            (await ask(community.orga, community.room_id, f"!flux apercu {target}")).body
            for target in (
                url, f"http://localhost:{port}/interne.xml",
                f"http://[::ffff:127.0.0.1]:{port}/interne.xml", "http://127.0.0.1:5432/",
                "http://169.254.169.254/latest/meta-data/",
            )
        ]  # fmt: skip
    assert internal.requests == [] and not [a for a in answers if SECRET in a]
    assert [a.startswith("Je n’ai pas pu lire ce flux (forbidden: ") for a in answers] == [True] * 5
    assert answers[0].replace(port, "P") == answers[3].replace("5432", "P")
    assert "cloud metadata" in answers[4]


async def test_attack_3_a_feed_cannot_bounce_the_poller_inward(community: Community) -> None:
    """The hub's feed host (allowed) answers with a redirect to another internal address: the
    poller refuses that hop, the internal server hears nothing, and !flux says why."""
    async with feed_server() as feed, feed_server("127.0.0.2") as internal:
        secret = internal.serve("/secret.xml", INTERNAL)
        url = feed.url("/infolettre.xml")
        feed.routes["/infolettre.xml"] = Route(status=302, headers={"Location": secret})
        extra = f"feeds:\n  - url: {url}\n    interval: 60\n"
        await restart(community, community.config(extra))

        async def polled() -> bool:
            async with community.app.db.session() as session:
                state = await feeds.find_feed(session, url)
            return state is not None and state.last_error_kind is not None

        await poll(polled)
        status = (await ask(community.orga, community.room_id, "!flux")).body
        assert feed.requests == [("/infolettre.xml", 302)] and internal.requests == []
    assert "forbidden" in status and "127.0.0.2" in status and SECRET not in status


async def test_attack_4_an_upper_case_scheme_is_fetched_never_read_from_disk(
    community: Community, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``!flux apercu HTTP://…`` is a web address: with a directory named ``HTTP:`` holding a
    decoy file at the same path, the preview shows the served feed, never the file."""
    monkeypatch.chdir(tmp_path)
    async with feed_server() as server:
        url = server.serve("/infolettre.xml", NEWSLETTERS)
        shouted = url.replace("http://", "HTTP://")
        decoy = tmp_path / "HTTP:" / url.split("//")[1]
        decoy.parent.mkdir(parents=True)
        decoy.write_text(INTERNAL, "utf-8")
        answer = (await ask(community.orga, community.room_id, f"!flux apercu {shouted}")).body
        assert server.requests == [("/infolettre.xml", 200)]
    assert SECRET not in answer and "Le prix de statistiques indépendantes" in answer
