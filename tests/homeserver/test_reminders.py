"""Reminders end to end: set by an organiser's command, seen by a member, once, across restarts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from bot.app import App
from bot.clock import SystemClock
from bot.matrix.member import Seen
from bot.messages import Message
from bot.storage import reminders
from bot.storage.reminders import Reminder
from tests.homeserver.conftest import Community

pytestmark = pytest.mark.homeserver


class ShiftedClock(SystemClock):
    """The real clock, moved by an offset the test may change: the bot believes it is later."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return super().now() + self.offset

    def set(self, moment: datetime) -> None:
        """From now on, read ``moment`` now."""
        self.offset = moment - SystemClock().now()


async def set_reminder(community: Community, command: str) -> Reminder:
    """The organiser sets a reminder by command; the reminder the bot stored."""
    event_id = await community.orga.send_text(community.room_id, command)
    echo = await community.orga.wait_for_reply(community.room_id, event_id)
    found = re.search(r"C’est noté : rappel (r[0-9a-z]+) ", echo.body)
    assert found, echo.body
    async with community.app.db.session() as session:
        reminder = await reminders.by_public_id(session, found[1])
    assert reminder is not None
    return reminder


async def restart_at(community: Community, moment: datetime) -> ShiftedClock:
    """Stop the bot and start it again on a clock that reads ``moment`` now; that clock."""
    await community.app.stop()
    clock = ShiftedClock(moment - SystemClock().now())
    community.app = App(community.config(), clock=clock)
    await community.app.start()
    return clock


def reminders_seen(community: Community, text: str) -> list[Seen]:
    """The reminders the member received whose text holds ``text`` (not the command or echo)."""
    return [seen for seen in community.alice.seen if "⏰ Rappel" in seen.body and text in seen.body]


async def probe(community: Community) -> None:
    """Post a last message and wait until the member sees it: anything sent before is in."""
    assert community.app.dispatcher is not None
    async with community.app.db.session() as session:
        end = Message(room_id=community.room_id, text="fin de l’essai")
        await community.app.dispatcher.services.postbox.post(session, end)
    await community.alice.wait_for(
        lambda s: s.room_id == community.room_id and s.body == "fin de l’essai", timeout=30
    )


async def test_reminder_set_by_command_reaches_the_member_once_across_restarts(
    community: Community,
) -> None:
    """Set before a restart, the reminder's job fires it on the new process, once, without @room."""
    reminder = await set_reminder(community, "!rappel demain 9h Réunion d’équipe")
    clock = await restart_at(community, reminder.at - timedelta(hours=1))
    scheduler = community.app.scheduler
    assert scheduler is not None and scheduler.planned == {reminder.public_id: reminder.at}
    clock.set(reminder.at - timedelta(seconds=1))
    await scheduler.run_now()  # the jobs, rebuilt on the moved clock: one wakes in a second
    posted = await community.alice.wait_for(
        lambda s: s.body == "⏰ Rappel : Réunion d’équipe", timeout=30
    )
    assert posted.room_id == community.room_id and posted.decrypted
    assert posted.content["m.mentions"] == {"user_ids": []}
    await restart_at(community, reminder.at + timedelta(seconds=30))
    await probe(community)
    assert len(reminders_seen(community, "Réunion d’équipe")) == 1


async def test_reminder_due_while_the_bot_was_stopped_is_sent_late_with_a_note(
    community: Community,
) -> None:
    """Back ten minutes after the time, the bot sends the @room reminder with its late note."""
    reminder = await set_reminder(community, "!rappel --tous demain 9h Pot de départ")
    await restart_at(community, reminder.at + timedelta(minutes=10))
    posted = await community.alice.wait_for(lambda s: "⏰ Rappel : Pot" in s.body, timeout=30)
    assert posted.body == (
        "@room ⏰ Rappel : Pot de départ\n(envoyé avec 10 min de retard : le bot était arrêté)"
    )
    assert posted.content["m.mentions"] == {"user_ids": [], "room": True}
    await probe(community)
    assert len(reminders_seen(community, "Pot de départ")) == 1
