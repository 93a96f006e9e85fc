"""What organisers set on a feed reaches its next poll: pause, rooms, filters, templates; and an
item held back by the per-poll cap is judged again when its turn comes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.feeds.filters import FilterRules
from bot.feeds.watch import PAUSED
from bot.storage import feed_setup
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import items, retitle, with_items
from tests.feeds.rig import ROOMS, Rig, database_url, db, postgres_database_url, rig

__all__ = ["database_url", "db", "postgres_database_url", "rig"]

EVENTS = load_feed("event").decode()
NEWSLETTERS = load_feed("infolettre").decode()
APRIL_20 = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)  # the event of 14 April is over


def without_newest(xml: str, count: int = 1) -> str:
    """The feed as it was before its ``count`` newest items were published."""
    return with_items(xml, items(xml)[count:])


async def set_up(rig: Rig, path: str, **values: object) -> None:
    """Change what organisers set on the feed served at ``path``."""
    async with rig.db.session() as session:
        found = await feed_setup.find(session, url=rig.server.url(path))
        assert found is not None
        await feed_setup.change(session, found.id, **values)


def headlines(bodies: list[str]) -> list[str]:
    return [body.splitlines()[0] for body in bodies]


@pytest.mark.parametrize("changed", [False, True], ids=["unchanged-feed", "changed-feed"])
async def test_an_event_over_while_it_waited_for_its_turn_is_never_announced(
    rig: Rig, changed: bool
) -> None:
    """Three new events, one announced per poll: by the next poll the April one is over, so it
    is recorded as past and the June one goes out instead, whether the feed changed or not."""
    rig.server.serve("/event.xml", without_newest(EVENTS, 3))
    watcher = rig.watcher("/event.xml", default_kind="event", max_per_poll=1, rooms=ROOMS[:1])
    await watcher.poll_once()
    rig.server.serve("/event.xml", EVENTS)
    assert len((await watcher.poll_once()).announced) == 1
    rig.clock.advance((APRIL_20 - rig.clock.now()).total_seconds())
    if changed:
        blocks = items(EVENTS)
        rig.server.serve("/event.xml", with_items(EVENTS, [*blocks[:-1], retitle(blocks[-1], "X")]))
    third = await watcher.poll_once()
    assert (third.outcome, len(third.announced)) == ("fetched" if changed else "not_modified", 1)
    stored = {row.published.date().isoformat(): row.status for row in (await rig.items()).values()}
    assert [stored["2026-03-18"], stored["2026-04-14"], stored["2026-06-16"]] == [
        "announced", "past_event", "announced",
    ]  # fmt: skip
    assert len(await rig.queued()) == 2


async def test_rooms_filters_and_templates_set_on_a_feed_apply_at_its_next_poll(rig: Rig) -> None:
    """Two new newsletters: the one whose title holds an excluded word is recorded with that
    rule; the other goes to the feed's own room only, with the feed's own template."""
    rig.server.serve("/infolettre.xml", without_newest(NEWSLETTERS, 2))
    watcher = rig.watcher("/infolettre.xml")
    await watcher.poll_once()
    rules = FilterRules(without_words=("agents",))
    await set_up(
        rig, "/infolettre.xml", rooms=["!partenaires:hub.test"], filters=rules.as_data(),
        templates={"newsletter": "Lettre {number} : {title} ({feed})"}, name="La lettre",
    )  # fmt: skip
    blocks = items(NEWSLETTERS)
    rig.server.serve(
        "/infolettre.xml",
        with_items(
            NEWSLETTERS, [blocks[0], retitle(blocks[1], "Des agents en folie"), *blocks[2:]]
        ),
    )
    report = await watcher.poll_once()
    assert (report.new, len(report.announced)) == (2, 1)
    queued = await rig.queued()
    assert [q.room_id for q in queued] == ["!partenaires:hub.test"]
    assert headlines([q.body for q in queued]) == [
        "Lettre 26 : Le prix de statistiques indépendantes (La lettre)"
    ]
    held = (await rig.items())["Des agents en folie"]
    assert (held.status, held.held_by) == ("filtered", "word_excluded:agents")


async def test_a_paused_feed_is_not_fetched_and_its_watcher_stops(rig: Rig) -> None:
    """Once paused, a poll sends no request to the feed's server; resumed, it fetches again."""
    rig.server.serve("/infolettre.xml", NEWSLETTERS)
    watcher = rig.watcher("/infolettre.xml")
    await watcher.poll_once()
    await set_up(rig, "/infolettre.xml", paused_at=rig.clock.now(), paused_by="@orga:hub.test")
    assert (await watcher.poll_once()).outcome == PAUSED
    assert len(rig.server.requests) == 1
    await set_up(rig, "/infolettre.xml", paused_at=None, paused_by=None)
    assert (await watcher.poll_once()).outcome == "not_modified"
    assert len(rig.server.requests) == 2
