"""The soak's room: members sending commands, the organiser setting reminders, and a ledger of
what was sent and of everything the bot said, as the organiser's client received it."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nio import MatrixRoom, MegolmEvent, RoomMessage

from bot.matrix.member import Member

COMMANDS = ("!ping", "!agenda", "!prochain", "!infolettre", "!aide")
COMMAND_PERIOD = 1.2  # seconds between two commands, the members taking turns
REMINDER_PERIOD = 30.0  # seconds between two reminders of the organiser
REMINDER_TAG = "soak-"
FIRED = "⏰ Rappel : "
ANNOUNCEMENT_MARKS = ("📰", "📅", "✍️", "🧩", "🔔", "🗓️", "⚠️")


@dataclass
class Ledger:
    """Commands sent (event id -> send moment), the bot's replies, reminders fired and
    announcements, as counts; moments on the ``time.perf_counter`` clock."""

    bot: str
    sent: dict[str, float] = field(default_factory=dict)
    replies: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    heard: list[tuple[float, str]] = field(default_factory=list)  # (moment, command replied to)
    reminders: list[str] = field(default_factory=list)
    fired: Counter[str] = field(default_factory=Counter)
    announced: Counter[str] = field(default_factory=Counter)
    undecryptable: int = 0
    send_failures: list[str] = field(default_factory=list)

    def listen(self, observer: Member) -> None:
        """Record what the bot says in the observer's rooms from now on."""
        observer.client.add_event_callback(self._on_message, RoomMessage)
        observer.client.add_event_callback(self._on_megolm, MegolmEvent)

    async def _on_message(self, room: MatrixRoom, event: Any) -> None:
        if event.sender != self.bot:
            return
        body = str(getattr(event, "body", ""))
        relation = (event.source.get("content") or {}).get("m.relates_to") or {}
        replied = (relation.get("m.in_reply_to") or {}).get("event_id")
        if replied:
            self.replies[replied] += 1
            self.heard.append((time.perf_counter(), replied))
        elif body.startswith(FIRED):
            self.fired[body.removeprefix(FIRED).splitlines()[0].strip()] += 1
        elif body.startswith(ANNOUNCEMENT_MARKS):
            self.announced[body.splitlines()[0]] += 1

    async def _on_megolm(self, room: MatrixRoom, event: MegolmEvent) -> None:
        if event.sender == self.bot:
            self.undecryptable += 1

    def answered(self) -> int:
        """Commands answered at least once."""
        return sum(1 for event_id in self.sent if self.replies.get(event_id))

    def latencies(self, since: float) -> list[float]:
        """Milliseconds from send to reply seen, for replies heard after ``since``."""
        return [
            (moment - self.sent[replied]) * 1000
            for moment, replied in self.heard
            if moment >= since and replied in self.sent
        ]

    def settled(self) -> bool:
        """Every command answered and every acknowledged reminder fired."""
        fired = all(self.fired[tag] for tag in self.reminders)
        return fired and all(self.replies.get(event_id) for event_id in self.sent)


async def send(ledger: Ledger, who: Member, room: str, body: str) -> str | None:
    """Send one command and note it; a failed send is noted, not raised (the run goes on)."""
    start = time.perf_counter()
    try:
        event_id = await who.send_text(room, body)
    except RuntimeError as error:
        ledger.send_failures.append(f"{who.user_id} {body}: {error}")
        print(f"note: send failed: {error}", file=sys.stderr)
        return None
    ledger.sent[event_id] = start
    return event_id


async def _paced(period: float, until: float) -> Any:
    """Yield 0, 1, 2… at ``period`` seconds apart on a fixed schedule, until ``until``."""
    start = time.perf_counter()
    n = 0
    while (due := start + n * period) < until:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        yield n
        n += 1


async def commands(ledger: Ledger, members: Sequence[Member], room: str, until: float) -> None:
    """One command every ``COMMAND_PERIOD``, the members in turn, each going through the mix."""
    async for n in _paced(COMMAND_PERIOD, until):
        who = members[n % len(members)]
        await send(ledger, who, room, COMMANDS[(n // len(members)) % len(COMMANDS)])


async def reminders(ledger: Ledger, organiser: Member, room: str, until: float) -> None:
    """A reminder for one minute later every ``REMINDER_PERIOD`` (the shortest the grammar has)."""
    async for n in _paced(REMINDER_PERIOD, until):
        tag = f"{REMINDER_TAG}{n}"
        if await send(ledger, organiser, room, f"!rappel dans 1 minute {tag}"):
            ledger.reminders.append(tag)
