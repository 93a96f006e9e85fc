"""Test doubles: a clock that moves only when told, and a transport that records every PUT."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.matrix.privacy import Verdict

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    """A ``bot.clock.Clock`` frozen at ``start``; ``advance()`` and ``sleep()`` move it."""

    def __init__(self, start: datetime = START, monotonic: float = 1000.0) -> None:
        if start.tzinfo is None:
            raise ValueError("the fake clock needs an aware start time")
        self._now = start.astimezone(UTC)
        self._monotonic = monotonic

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass at once, then give other tasks their turn."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move both the wall clock and the monotonic clock forward."""
        if seconds < 0:
            raise ValueError("time does not go backwards")
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


@dataclass(frozen=True)
class Put:
    """One event PUT the homeserver accepted."""

    room_id: str
    event_type: str
    content: dict[str, Any]
    txn_id: str
    event_id: str


@dataclass
class RecordingTransport:
    """A ``bot.matrix.sender.Transport`` behaving like a homeserver, recording what it got.

    A transaction id PUT again returns the event id of its first PUT, as Synapse does. Errors
    scripted with ``fail_next`` are raised, in order, by the next calls to ``send``.
    """

    puts: list[Put] = field(default_factory=list)
    find_sent_calls: list[tuple[str, str]] = field(default_factory=list)
    _event_ids: dict[str, str] = field(default_factory=dict)
    _failures: list[BaseException] = field(default_factory=list)
    _find_failures: list[BaseException] = field(default_factory=list)

    def fail_next(self, error: BaseException, times: int = 1) -> None:
        """Make the next ``times`` sends raise ``error`` instead of reaching the room."""
        self._failures.extend([error] * times)

    def fail_next_lookup(self, error: BaseException) -> None:
        """Make the next ``find_sent`` raise ``error``."""
        self._find_failures.append(error)

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        if self._failures:
            raise self._failures.pop(0)
        event_id = self._event_ids.setdefault(txn_id, f"$event{len(self._event_ids) + 1}")
        self.puts.append(Put(room_id, event_type, content, txn_id, event_id))
        return event_id

    async def find_sent(self, room_id: str, txn_id: str) -> str | None:
        self.find_sent_calls.append((room_id, txn_id))
        if self._find_failures:
            raise self._find_failures.pop(0)
        found = (put for put in self.puts if (put.room_id, put.txn_id) == (room_id, txn_id))
        return next((put.event_id for put in found), None)

    def txn_ids(self) -> list[str]:
        """The transaction id of every PUT, in order, repeats included."""
        return [put.txn_id for put in self.puts]

    def events_in(self, room_id: str) -> list[str]:
        """The distinct events the room holds, in the order they appeared."""
        return list(dict.fromkeys(put.event_id for put in self.puts if put.room_id == room_id))


class NoPowers:
    """Power levels as the Matrix layer reports them: nobody has power in any room, so only
    the configured organisers are organisers."""

    def power_level(self, room_id: str, user_id: str) -> int | None:
        return None

    def room_version(self, room_id: str) -> str | None:
        return "10"

    async def room_creators(self, room_id: str) -> set[str]:
        return set()


@dataclass(frozen=True)
class FixedRooms:
    """The hub's rooms, fixed, for a unit test with no database (``HubRooms`` otherwise)."""

    rooms: tuple[str, ...] = ()
    organisers: tuple[str, ...] = ()

    @property
    def shared(self) -> tuple[str, ...]:
        return (*self.rooms, *self.organisers)


@dataclass
class FixedPrivacy:
    """The DM check as a table: each (room, member) judged as told, anything else refused."""

    verdicts: dict[tuple[str, str], Verdict] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)

    async def verdict(self, room_id: str, user_id: str) -> Verdict:
        self.asked.append((room_id, user_id))
        return self.verdicts.get((room_id, user_id), Verdict.REFUSED)


class EveryRoomIsADm:
    """The DM check of a test about something else: every room is its member's true DM."""

    async def verdict(self, room_id: str, user_id: str) -> Verdict:
        return Verdict.READY
