"""The sender's token buckets and answers' priority, flush by flush on a real database."""

from __future__ import annotations

import pytest

from bot.matrix.sender import Sender
from bot.messages import Message, answering
from bot.storage import outbox
from bot.storage.db import Database
from tests.factory import postbox as make_postbox
from tests.fakes import FakeClock, RecordingTransport

HUB = "!hub:localhost"


async def announce(db: Database, clock: FakeClock, count: int) -> None:
    """``count`` announcements queued in the hub in one unit of work, as a feed poll does."""
    postbox = make_postbox(clock, db)
    async with db.session() as session:
        for n in range(count):
            await postbox.post(session, Message(HUB, f"annonce {n}"))


async def answer(
    db: Database, clock: FakeClock, event_id: str, sender: Sender | None = None
) -> int:
    """An answer to a member's event, queued in the unit of work that handles it."""
    postbox = make_postbox(clock, db, sender)
    async with db.session() as session:
        answering(session, event_id)
        return await postbox.post(session, Message(HUB, f"pong {event_id}"))


def bodies(transport: RecordingTransport) -> list[str]:
    return [put.content["body"] for put in transport.puts]


def paced(db: Database, transport: RecordingTransport, clock: FakeClock) -> Sender:
    """A sender with the shipped pacing: 1 s, a room burst of 5, an overall burst of 10."""
    return Sender(db, transport, clock, pace_seconds=1.0, room_burst=5, burst=10)


async def test_back_to_back_answers_in_a_room_go_without_waiting(
    db: Database, fake_clock: FakeClock
) -> None:
    """Five answers queued at the same instant in one room all go at once, none paced."""
    transport = RecordingTransport()
    sender = paced(db, transport, fake_clock)
    for n in range(5):
        await answer(db, fake_clock, f"$command{n}")
    for _ in range(5):
        assert await sender.flush() == 0.0
    assert bodies(transport) == [f"pong $command{n}" for n in range(5)]


async def test_a_burst_of_announcements_is_paced_after_its_share_of_the_burst(
    db: Database, fake_clock: FakeClock
) -> None:
    """Ten announcements: three go at once, then one per second, in order."""
    transport = RecordingTransport()
    sender = paced(db, transport, fake_clock)
    await announce(db, fake_clock, 10)
    delay = 0.0
    while delay == 0.0:
        delay = await sender.flush()
    assert bodies(transport) == ["annonce 0", "annonce 1", "annonce 2"]
    assert delay == pytest.approx(1.0)
    fake_clock.advance(1.0)
    await sender.flush()
    assert await sender.flush() == pytest.approx(1.0)
    assert bodies(transport)[3:] == ["annonce 3"]


async def test_an_answer_overtakes_queued_announcements_and_is_not_held(
    db: Database, fake_clock: FakeClock
) -> None:
    """While announcements wait for their pace, a member's answer goes at once, before them;
    they resume once the answer's token is refilled too."""
    transport = RecordingTransport()
    sender = paced(db, transport, fake_clock)
    await announce(db, fake_clock, 10)
    while await sender.flush() == 0.0:
        pass
    await answer(db, fake_clock, "$ping")
    await sender.flush()
    assert bodies(transport) == ["annonce 0", "annonce 1", "annonce 2", "pong $ping"]
    fake_clock.advance(1.0)
    await sender.flush()
    assert bodies(transport)[4:] == []
    fake_clock.advance(1.0)
    await sender.flush()
    assert bodies(transport)[4:] == ["annonce 3"]


async def test_a_submitted_answer_goes_directly_past_a_room_busy_with_announcements(
    db: Database, fake_clock: FakeClock
) -> None:
    """The direct path (no outbox read) sends an answer even when its room has other rows
    pending, but never a second answer ahead of an earlier one."""
    transport = RecordingTransport()
    sender = paced(db, transport, fake_clock)
    await announce(db, fake_clock, 10)
    while await sender.flush() == 0.0:
        pass
    await answer(db, fake_clock, "$first", sender)
    await answer(db, fake_clock, "$second", sender)
    await sender.send_submitted()
    assert bodies(transport)[3:] == ["pong $first"]
    assert await sender.flush() == 0.0
    assert bodies(transport)[4:] == ["pong $second"]


async def test_an_answer_s_txn_id_comes_from_its_event_so_a_replay_writes_nothing_new(
    db: Database, fake_clock: FakeClock
) -> None:
    """The same event answered twice (a crash before the claim committed) gives one row with
    the same transaction id; another event gives another id."""
    first = await answer(db, fake_clock, "$command")
    again = await answer(db, fake_clock, "$command")
    other = await answer(db, fake_clock, "$other")
    async with db.session() as session:
        rows = [await outbox.get(session, entry_id) for entry_id in (first, again, other)]
    assert first == again != other
    assert [row is not None and row.answer for row in rows] == [True] * 3
    assert rows[0] is not None and rows[2] is not None
    assert rows[0].txn_id != rows[2].txn_id
