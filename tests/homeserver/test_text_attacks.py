"""Hostile text on the real homeserver: edits and other relations never run commands; bidi,
invisible and control characters from members and feeds never come back out."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.clock import SystemClock
from bot.matrix.member import Seen
from bot.storage import feeds
from bot.storage import subscriptions as store
from bot.storage.models import ReminderRow
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import feed_server, items, newest_dated_lately, retitle, with_items
from tests.homeserver.conftest import Community
from tests.homeserver.harness import poll
from tests.homeserver.hostile import ask, from_bot, newcomer, send_raw
from tests.homeserver.test_health import get, with_web
from tests.homeserver.test_reminders import ShiftedClock
from tests.services.agenda.rig import DARES, paris

pytestmark = pytest.mark.homeserver

HOSTILE = "\x00\x1b[2J\x1b]0;pwned\x07\u202e"


def has_controls(text: str) -> bool:
    """Whether ``text`` holds a control character other than a line break, or a bidi one."""
    return any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u2066"
               for c in text)  # fmt: skip


async def reminders_stored(community: Community) -> int:
    async with community.app.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ReminderRow)) or 0)


def replies_to(community: Community, event_id: str) -> list[Seen]:
    bot = community.bot_user.user_id
    return [s for s in community.orga.seen if s.sender == bot and s.in_reply_to == event_id]


async def test_attack_5_an_edit_never_runs_a_command_again(community: Community) -> None:
    """Editing ``!rappel dans 3 heures point budget`` (an edit whose plain body lacks the
    usual ``* ``), or sending ``!ping`` as a reference to another event, runs nothing: one
    reminder, and no answer to either event."""
    command = "!rappel dans 3 heures point budget"
    original = await community.orga.send_text(community.room_id, command)
    await community.orga.wait_for_reply(community.room_id, original, timeout=30)
    edit = await send_raw(community.orga, community.room_id, {
        "msgtype": "m.text", "body": command,
        "m.new_content": {"msgtype": "m.text", "body": command},
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    })  # fmt: skip
    reference = await send_raw(community.orga, community.room_id, {
        "msgtype": "m.text", "body": "!ping",
        "m.relates_to": {"rel_type": "m.reference", "event_id": original},
    })  # fmt: skip
    assert (await ask(community.orga, community.room_id, "!ping")).body == "pong 🏓"
    assert await reminders_stored(community) == 1
    assert replies_to(community, edit) == [] and replies_to(community, reference) == []


async def test_attack_5_an_edit_is_no_answer_in_a_dm_either(
    community: Community, tmp_path: Path
) -> None:
    """An edit saying « oui » in the DM does not confirm a pending subscription offer."""
    async with newcomer(community, tmp_path, "paul.durand") as paul:
        await ask(paul, community.room_id, "!abonner")
        proposal = await paul.wait_for(from_bot(community, "Bonjour"), timeout=30)
        first = await paul.send_text(proposal.room_id, "je réfléchis")
        await send_raw(paul, proposal.room_id, {
            "msgtype": "m.text", "body": "oui",
            "m.new_content": {"msgtype": "m.text", "body": "oui"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": first},
        })  # fmt: skip
        assert (await ask(paul, proposal.room_id, "!ping")).body == "pong 🏓"
        async with community.app.db.session() as session:
            assert await store.by_user(session, paul.user_id) is None


async def test_attack_6_bidi_and_invisible_characters_never_come_back(
    community: Community,
) -> None:
    """A right-to-left override in a reminder's text is not echoed (nor stored), and a
    zero-width space inside a command word does not hide the command."""
    echo = await ask(community.orga, community.room_id, "!rappel dans 3 heures \u202epoint budget")
    assert "« point budget »" in echo.body and not has_controls(echo.body)
    async with community.app.db.session() as session:
        texts = list(await session.scalars(select(ReminderRow.text)))
    assert texts == ["point budget"]
    hidden = await ask(community.orga, community.room_id, "!ai\u200bde")
    assert hidden.body.startswith("Commandes disponibles :")


async def test_attack_7_control_characters_from_feeds_reach_no_member_nor_the_calendar(
    community: Community,
) -> None:
    """Feed items whose titles carry NUL, terminal escapes and a bidi override are stored,
    announced, listed by !agenda and served in /agenda.ics without any of them."""
    clock = ShiftedClock(paris("2026-03-02 10:00") - SystemClock().now())
    events = load_feed("event").decode()
    hostile_events = with_items(events, [
        retitle(block, f"{DARES}{HOSTILE}") if DARES in block else block for block in items(events)
    ])  # fmt: skip
    newsletters = newest_dated_lately(load_feed("infolettre").decode(), 1, clock.now())
    hostile_news = with_items(
        newsletters, [retitle(block, f"Infolettre{HOSTILE}") for block in items(newsletters)]
    )
    async with feed_server() as server:
        extra = (
            f"feeds:\n  - url: {server.serve('/event.xml', hostile_events)}\n"
            "    interval: 60\n    default_kind: event\n"
            f"  - url: {server.serve('/infolettre.xml', hostile_news)}\n"
            "    interval: 60\n    announce_latest: 1\n"
        )
        await community.app.stop()
        community.app = App(with_web(community.config(extra)), clock=clock)
        await community.app.start()
        announced = await community.alice.wait_for(
            lambda s: s.room_id == community.room_id and s.body.startswith("📰"), timeout=60
        )
        await poll(lambda: _first_polls_done(community.app))
        agenda = (await ask(community.alice, community.room_id, "!agenda")).body
        status, calendar = await get(community.app, "/agenda.ics")
    assert status == 200 and "— Infolettre" in announced.body and DARES in agenda
    shown = [announced.body, str(announced.content.get("formatted_body")), agenda]
    assert not [text for text in shown if has_controls(text)]
    unfolded = calendar.decode().replace("\r\n ", "").replace("\r\n", "\n")
    assert not has_controls(unfolded) and DARES in unfolded


async def _first_polls_done(app: App) -> bool:
    async with app.db.session() as session:
        states = [await feeds.find_feed(session, feed.url) for feed in app.config.feeds]
    return all(state is not None and state.first_poll_done for state in states)
