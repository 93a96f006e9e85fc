"""Edited items: updated in place; a moved event's announcement is edited, with a short notice."""

from __future__ import annotations

from typing import Any

from bot.config import AnnouncementsConfig
from bot.feeds.watch import FeedWatcher
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import items, redate, retitle, with_items
from tests.feeds.rig import ROOMS, Rig, database_url, db, postgres_database_url, rig

__all__ = ["database_url", "db", "postgres_database_url", "rig"]

EVENTS = load_feed("event").decode()
MOVED = "Tue, 23 Jun 2026 00:00:00 GMT"
NEW_DATES = "du mardi 23 au mercredi 24 juin 2026"


def edited(change: str) -> str:
    """The events feed with its newest item moved a week later, or retitled."""
    blocks = items(EVENTS)
    blocks[0] = redate(blocks[0], MOVED) if change == "date" else retitle(blocks[0], "JDOS 2026")
    return with_items(EVENTS, blocks)


async def announced_event(rig: Rig, **options: Any) -> FeedWatcher:
    """A watcher whose feed's newest event was just announced in both rooms."""
    rig.server.serve("/event.xml", with_items(EVENTS, items(EVENTS)[1:]))
    watcher = rig.watcher("/event.xml", **options)
    await watcher.poll_once()
    rig.server.serve("/event.xml", EVENTS)
    await watcher.poll_once()
    return watcher


async def test_moved_event_gets_its_announcement_edited_and_a_notice(rig: Rig) -> None:
    """Once sent, an announcement of an event whose date changed is replaced, with a notice."""
    watcher = await announced_event(rig)
    await rig.send_all()
    originals = {put.room_id: put.event_id for put in rig.transport.puts}
    rig.server.serve("/event.xml", edited("date"))
    report = await watcher.poll_once()
    assert (report.new, report.edited, report.edits_queued) == (0, 1, 2)
    queued = (await rig.queued())[2:]
    edits = [q for q in queued if "m.new_content" in q.content]
    notices = [q for q in queued if "m.new_content" not in q.content]
    assert sorted(q.room_id for q in edits) == sorted(ROOMS) == sorted(q.room_id for q in notices)
    for edit in edits:
        relation = edit.content["m.relates_to"]
        assert relation == {"rel_type": "m.replace", "event_id": originals[edit.room_id]}
        assert NEW_DATES in edit.content["m.new_content"]["body"]
    for notice in notices:
        assert notice.body.startswith("🗓️ Date modifiée : Journées data science")
        assert notice.body.endswith(NEW_DATES)
        reply = notice.content["m.relates_to"]["m.in_reply_to"]["event_id"]
        assert reply == originals[notice.room_id]
    assert (await watcher.poll_once()).edits_queued == 0


async def test_event_moved_before_its_announcement_went_out_is_edited_once_sent(rig: Rig) -> None:
    """A pending announcement is left alone; the edit follows on the first poll after it is sent."""
    watcher = await announced_event(rig)
    rig.server.serve("/event.xml", edited("date"))
    report = await watcher.poll_once()
    assert (report.edited, report.edits_queued) == (1, 0)
    assert len(await rig.queued()) == 2
    await rig.send_all()
    later = await watcher.poll_once()
    assert (later.outcome, later.edits_queued) == ("not_modified", 2)


async def test_date_change_notice_can_be_turned_off(rig: Rig) -> None:
    """With date_change_notice off, only the edits are queued."""
    config = AnnouncementsConfig(date_change_notice=False)
    watcher = await announced_event(rig, announcements=config)
    await rig.send_all()
    rig.server.serve("/event.xml", edited("date"))
    await watcher.poll_once()
    assert all("m.new_content" in q.content for q in (await rig.queued())[2:])
    assert len(await rig.queued()) == 4


async def test_retitled_event_is_updated_but_not_edited(rig: Rig) -> None:
    """A title change alone updates the stored item and its agenda event, and sends nothing."""
    watcher = await announced_event(rig)
    await rig.send_all()
    rig.server.serve("/event.xml", edited("title"))
    report = await watcher.poll_once()
    assert (report.edited, report.edits_queued) == (1, 0)
    assert "JDOS 2026" in await rig.items()
    assert len(await rig.queued()) == 2
