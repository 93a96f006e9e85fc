"""The words of reminders in their rooms: the reminder itself, its late note, the missed report."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Catalogue, catalogue
from bot.messages import Mentions, Message
from bot.services.dates import describe
from bot.services.reminders import times
from bot.storage.reminders import Reminder
from bot.when import OneOff

ROOM_PING = re.compile(r"@room\b", re.IGNORECASE)


def mentions_room(text: str) -> bool:
    """Whether the organiser wrote ``@room`` in the reminder's text."""
    return ROOM_PING.search(text) is not None


def moment(at: datetime, tz: ZoneInfo, language: str) -> str:
    """``lundi 30 novembre 2026 à 14 h 30`` in ``tz``."""
    return describe(OneOff(at), tz, language)


class ReminderTexts:
    """Builds the messages a reminder's firing posts; the report speaks ``language``."""

    def __init__(self, language: str, grace_minutes: int) -> None:
        self.language = language
        self.grace_minutes = grace_minutes

    def post(self, reminder: Reminder, occurrence: datetime, now: datetime) -> Message:
        """The reminder as posted in its room; ``@room`` only when the organiser asked."""
        t = catalogue(reminder.language)
        ping = reminder.mention_room and not mentions_room(reminder.text)
        text = t("reminders.post_room" if ping else "reminders.post", text=reminder.text)
        if times.is_late(occurrence, now):
            text += "\n" + t("reminders.late", minutes=times.late_minutes(occurrence, now))
        mentions = Mentions(room=reminder.mention_room)
        return Message(room_id=reminder.room_id, text=text, mentions=mentions)

    def missed(self, room_id: str, group: Sequence[times.CatchUp]) -> Message:
        """One notice listing the reminders whose occurrences were missed beyond the grace."""
        t = catalogue(self.language)
        lines = [t("reminders.missed.header", minutes=self.grace_minutes)]
        lines += [self._missed_line(t, plan) for plan in group]
        return Message(room_id=room_id, text="\n".join(lines))

    def _missed_line(self, t: Catalogue, plan: times.CatchUp) -> str:
        reminder, missed = plan.reminder, plan.missed
        tz = ZoneInfo(reminder.timezone)
        first = moment(missed[0], tz, t.language)
        if len(missed) == 1:
            return t("reminders.missed.once", id=reminder.public_id, when=first, text=reminder.text)
        last = moment(missed[-1], tz, t.language)
        return t(
            "reminders.missed.many",
            id=reminder.public_id, count=len(missed), first=first, last=last, text=reminder.text,
        )  # fmt: skip
