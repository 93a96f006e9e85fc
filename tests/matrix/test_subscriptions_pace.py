"""The sender's global pace for bulk rows (newsletters by DM), beside the per-room pace."""

from __future__ import annotations

import pytest

from bot.errors import HomeserverUnreachable, TransientDeliveryError
from bot.matrix.sender import Sender
from bot.messages import Message
from bot.storage import outbox
from bot.storage.db import Database
from tests.factory import postbox as make_postbox
from tests.fakes import FakeClock, RecordingTransport

DMS = ("!dm-1:localhost", "!dm-2:localhost", "!dm-3:localhost")
HUB = "!hub:localhost"


async def queue_bulk(db: Database, clock: FakeClock, sender: Sender | None = None) -> None:
    """One newsletter to three DMs, bulk, and one ordinary reply in the hub, in one unit."""
    postbox = make_postbox(clock, db, sender)
    async with db.session() as session:
        for room_id in DMS:
            await postbox.post(session, Message(room_id, "Infolettre"), bulk=True)
        await postbox.post(session, Message(HUB, "pong"))


def rooms_sent(transport: RecordingTransport) -> list[str]:
    return [put.room_id for put in transport.puts]


async def test_bulk_rows_go_one_per_pace_while_other_rows_do_not_wait(
    db: Database, fake_clock: FakeClock
) -> None:
    """With a 1 s bulk pace, one DM goes per second; the hub's reply goes at once."""
    transport = RecordingTransport()
    sender = Sender(db, transport, fake_clock, pace_seconds=0, bulk_pace_seconds=1.0)
    await queue_bulk(db, fake_clock)
    assert await sender.flush() == 0.0
    assert sorted(rooms_sent(transport)) == sorted([DMS[0], HUB])
    assert await sender.flush() == pytest.approx(1.0)
    assert len(transport.puts) == 2
    fake_clock.advance(1.0)
    await sender.flush()
    fake_clock.advance(1.0)
    await sender.flush()
    assert rooms_sent(transport)[2:] == [DMS[1], DMS[2]]


async def test_unpaced_bulk_rows_all_go_in_one_flush(db: Database, fake_clock: FakeClock) -> None:
    """A bulk pace of 0 lets every due DM go at once."""
    transport = RecordingTransport()
    sender = Sender(db, transport, fake_clock, pace_seconds=0, bulk_pace_seconds=0)
    await queue_bulk(db, fake_clock)
    await sender.flush()
    assert sorted(rooms_sent(transport)) == sorted([*DMS, HUB])


async def test_committed_bulk_rows_wait_for_the_flush(db: Database, fake_clock: FakeClock) -> None:
    """Freshly committed bulk rows never take the direct path that skips the global pace."""
    transport = RecordingTransport()
    sender = Sender(db, transport, fake_clock, pace_seconds=0, bulk_pace_seconds=1.0)
    await sender.flush()
    await queue_bulk(db, fake_clock, sender)
    await sender.send_submitted()
    assert rooms_sent(transport) == [HUB]


async def test_a_bulk_row_gives_up_after_its_attempts_but_a_reply_never_does(
    db: Database, fake_clock: FakeClock
) -> None:
    """Failing for ever, a DM newsletter is marked failed after 3 tries; a reply keeps trying."""
    transport = RecordingTransport()
    transport.fail_next(TransientDeliveryError("M_UNKNOWN"), times=10)
    sender = Sender(
        db, transport, fake_clock, pace_seconds=0, bulk_pace_seconds=0, max_bulk_attempts=3
    )
    postbox = make_postbox(fake_clock, db)
    async with db.session() as session:
        bulk_id = await postbox.post(session, Message(DMS[0], "Infolettre"), bulk=True)
        reply_id = await postbox.post(session, Message(HUB, "pong"))
    for _ in range(5):
        await sender.flush()
        fake_clock.advance(600)
    async with db.session() as session:
        bulk, reply = await outbox.get(session, bulk_id), await outbox.get(session, reply_id)
    assert bulk is not None and (bulk.status, bulk.attempts) == (outbox.FAILED, 3)
    assert reply is not None and (reply.status, reply.attempts) == (outbox.PENDING, 5)


async def test_a_bulk_row_outlasts_any_outage_of_the_homeserver(
    db: Database, fake_clock: FakeClock
) -> None:
    """Ten unanswered attempts (homeserver down) spend none of a DM newsletter's 3 tries: it is
    sent once the homeserver answers again."""
    transport = RecordingTransport()
    transport.fail_next(HomeserverUnreachable("ClientConnectorError"), times=10)
    sender = Sender(
        db, transport, fake_clock, pace_seconds=0, bulk_pace_seconds=0, max_bulk_attempts=3
    )
    async with db.session() as session:
        bulk_id = await make_postbox(fake_clock, db).post(
            session, Message(DMS[0], "Infolettre"), bulk=True
        )
    for _ in range(11):
        await sender.flush()
        fake_clock.advance(600)
    async with db.session() as session:
        bulk = await outbox.get(session, bulk_id)
    assert bulk is not None and bulk.status == outbox.SENT
    assert rooms_sent(transport) == [DMS[0]]


async def test_after_a_paced_bulk_row_the_sender_waits_for_the_next_slot(
    db: Database, fake_clock: FakeClock
) -> None:
    """Once only a DM newsletter went, the next flush is due at the next bulk slot (1 s), not
    at once: one read of the outbox per DM, not two."""
    transport = RecordingTransport()
    sender = Sender(db, transport, fake_clock, pace_seconds=0, bulk_pace_seconds=1.0)
    postbox = make_postbox(fake_clock, db)
    async with db.session() as session:
        for room_id in DMS:
            await postbox.post(session, Message(room_id, "Infolettre"), bulk=True)
    assert await sender.flush() == pytest.approx(1.0)
    fake_clock.advance(1.0)
    assert await sender.flush() == pytest.approx(1.0)
    assert rooms_sent(transport) == [DMS[0], DMS[1]]
