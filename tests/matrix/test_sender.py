"""The outbox sender, driven flush by flush on a real database with a fake clock and homeserver."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from bot.errors import PermanentDeliveryError, RateLimited, TransientDeliveryError
from bot.matrix.sender import Sender, Transport
from bot.messages import Message
from bot.storage import outbox, state
from bot.storage.db import Database
from bot.storage.outbox import OutboxEntry
from tests.factory import postbox as make_postbox
from tests.fakes import FakeClock, RecordingTransport

HUB = "!hub:localhost"
OTHER = "!other:localhost"


class SimulatedCrash(BaseException):
    """The process dying: not an error any code path is meant to catch."""


class CrashAfterPut:
    """A transport whose PUT reaches the homeserver, after which the process dies."""

    def __init__(self, homeserver: RecordingTransport) -> None:
        self.homeserver = homeserver

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        await self.homeserver.send(room_id, event_type, content, txn_id)
        raise SimulatedCrash

    async def find_sent(self, room_id: str, txn_id: str) -> str | None:
        return await self.homeserver.find_sent(room_id, txn_id)


@pytest.fixture
def homeserver() -> RecordingTransport:
    return RecordingTransport()


def make_sender(
    db: Database,
    transport: Transport,
    clock: FakeClock,
    *,
    pace_seconds: float = 0.0,
    room_burst: int = 5,
    max_backoff_seconds: float = 300.0,
) -> Sender:
    """A sender with a seeded jitter, unpaced unless the test says otherwise."""
    return Sender(
        db,
        transport,
        clock,
        pace_seconds=pace_seconds,
        room_burst=room_burst,
        max_backoff_seconds=max_backoff_seconds,
        rng=random.Random(7),
    )


async def post(db: Database, clock: FakeClock, room_id: str, text: str) -> int:
    """Queue a notice the way services do, in its own unit of work."""
    async with db.session() as session:
        return await make_postbox(clock, db).post(session, Message(room_id, text))


async def row(db: Database, entry_id: int) -> OutboxEntry:
    async with db.session() as session:
        entry = await outbox.get(session, entry_id)
    assert entry is not None
    return entry


async def test_each_row_is_put_once_with_its_txn_id_and_marked_sent(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """Every queued message is PUT exactly once with its own txn id, then stored as sent."""
    ids = [await post(db, fake_clock, HUB, text) for text in ("un", "deux", "trois")]
    sender = make_sender(db, homeserver, fake_clock)
    for _ in range(5):
        await sender.flush()
    rows = [await row(db, entry_id) for entry_id in ids]
    assert homeserver.txn_ids() == [r.txn_id for r in rows]
    assert [put.content["body"] for put in homeserver.puts] == ["un", "deux", "trois"]
    assert [r.status for r in rows] == ["sent"] * 3
    assert [r.event_id for r in rows] == [put.event_id for put in homeserver.puts]
    assert sender.sent_count == 3


async def test_flush_sends_only_the_head_of_a_room(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """One flush sends one row per room and asks to be called again at once."""
    await post(db, fake_clock, HUB, "un")
    await post(db, fake_clock, HUB, "deux")
    delay = await make_sender(db, homeserver, fake_clock).flush()
    assert [put.content["body"] for put in homeserver.puts] == ["un"]
    assert delay == 0.0


async def test_rate_limit_holds_the_row_and_the_room_then_sends_in_order(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """After a 429 the row waits retry_after seconds, nothing overtakes it, then all go in order."""
    first = await post(db, fake_clock, HUB, "un")
    await post(db, fake_clock, HUB, "deux")
    sender = make_sender(db, homeserver, fake_clock)
    homeserver.fail_next(RateLimited(2.0))

    await sender.flush()
    held = await row(db, first)
    assert (held.status, held.attempts) == ("pending", 1)
    assert held.not_before == fake_clock.now() + timedelta(seconds=2)

    assert await sender.flush() == pytest.approx(2.0)
    fake_clock.advance(1.5)
    await sender.flush()
    assert homeserver.puts == []

    fake_clock.advance(0.5)
    await sender.flush()
    await sender.flush()
    assert [put.content["body"] for put in homeserver.puts] == ["un", "deux"]


async def test_rate_limit_in_one_room_does_not_hold_other_rooms(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """A room waiting out a 429 does not delay messages for another room."""
    await post(db, fake_clock, HUB, "hub")
    await post(db, fake_clock, OTHER, "other")
    sender = make_sender(db, homeserver, fake_clock)
    homeserver.fail_next(RateLimited(30.0))
    await sender.flush()
    assert [(put.room_id, put.content["body"]) for put in homeserver.puts] == [(OTHER, "other")]


async def test_transient_errors_back_off_exponentially_with_jitter_up_to_the_cap(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """Each retry waits a jittered delay in [c/2, c] with c doubling from 2 s, capped at 10 s."""
    entry_id = await post(db, fake_clock, HUB, "un")
    sender = make_sender(db, homeserver, fake_clock, max_backoff_seconds=10.0)
    homeserver.fail_next(TransientDeliveryError("502 Bad Gateway"), times=6)
    reference = random.Random(7)
    ceilings = [2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    for attempt, ceiling in enumerate(ceilings, start=1):
        await sender.flush()
        entry = await row(db, entry_id)
        assert entry.not_before is not None
        waited = (entry.not_before - fake_clock.now()).total_seconds()
        assert entry.attempts == attempt
        assert ceiling / 2 <= waited <= ceiling
        assert waited == pytest.approx(reference.uniform(ceiling / 2, ceiling), abs=1e-6)
        fake_clock.advance(waited)
    await sender.flush()
    entry = await row(db, entry_id)
    assert (entry.status, len(homeserver.puts)) == ("sent", 1)


async def test_permanent_error_fails_the_row_and_the_room_moves_on(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """A refused row is stored failed and the next message of that room is sent."""
    refused = await post(db, fake_clock, HUB, "refusé")
    following = await post(db, fake_clock, HUB, "suivant")
    sender = make_sender(db, homeserver, fake_clock)
    homeserver.fail_next(PermanentDeliveryError("M_FORBIDDEN: not in room"))
    await sender.flush()
    await sender.flush()
    failed = await row(db, refused)
    assert (failed.status, failed.attempts, failed.event_id) == ("failed", 1, None)
    assert (await row(db, following)).status == "sent"
    assert [put.content["body"] for put in homeserver.puts] == ["suivant"]


async def test_pace_spaces_the_rows_of_one_room_but_not_of_two_rooms(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """With a 1 s pace and a room burst of 1 a room gets one message per second, while another
    room goes at once."""
    await post(db, fake_clock, HUB, "hub 1")
    await post(db, fake_clock, HUB, "hub 2")
    await post(db, fake_clock, OTHER, "other 1")
    sender = make_sender(db, homeserver, fake_clock, pace_seconds=1.0, room_burst=1)

    await sender.flush()
    assert sorted(put.content["body"] for put in homeserver.puts) == ["hub 1", "other 1"]
    assert await sender.flush() == pytest.approx(1.0)
    assert len(homeserver.puts) == 2

    fake_clock.advance(1.0)
    await sender.flush()
    assert [put.content["body"] for put in homeserver.puts][-1] == "hub 2"


async def test_crash_after_put_resends_the_same_txn_and_the_room_has_one_event(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """A crash between the PUT and the mark leaves the row pending; the resend is deduplicated."""
    entry_id = await post(db, fake_clock, HUB, "une seule fois")
    with pytest.raises(SimulatedCrash):
        await make_sender(db, CrashAfterPut(homeserver), fake_clock).flush()
    pending = await row(db, entry_id)
    assert (pending.status, pending.event_id) == ("pending", None)

    await make_sender(db, homeserver, fake_clock).flush()
    sent = await row(db, entry_id)
    assert homeserver.txn_ids() == [sent.txn_id, sent.txn_id]
    assert homeserver.events_in(HUB) == [sent.event_id]
    assert sent.status == "sent"


async def test_row_older_than_txn_memory_found_in_the_room_is_marked_without_a_put(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """Past 23 h the sender looks for the event first and, finding it, does not PUT again."""
    entry_id = await post(db, fake_clock, HUB, "ancien")
    entry = await row(db, entry_id)
    event_id = await homeserver.send(HUB, entry.event_type, entry.content, entry.txn_id)
    fake_clock.advance(timedelta(hours=24).total_seconds())

    await make_sender(db, homeserver, fake_clock).flush()
    sent = await row(db, entry_id)
    assert homeserver.find_sent_calls == [(HUB, entry.txn_id)]
    assert len(homeserver.puts) == 1
    assert (sent.status, sent.event_id) == ("sent", event_id)


async def test_row_older_than_txn_memory_not_found_is_put(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """Past 23 h a row the room does not hold yet is PUT once, as usual."""
    entry_id = await post(db, fake_clock, HUB, "ancien")
    fake_clock.advance(timedelta(hours=24).total_seconds())
    await make_sender(db, homeserver, fake_clock).flush()
    sent = await row(db, entry_id)
    assert len(homeserver.puts) == 1
    assert (sent.status, sent.event_id) == ("sent", homeserver.puts[0].event_id)


async def test_recent_row_is_put_without_looking_first(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """Within the homeserver's txn memory the sender PUTs directly, without a lookup."""
    await post(db, fake_clock, HUB, "récent")
    fake_clock.advance(timedelta(hours=22).total_seconds())
    await make_sender(db, homeserver, fake_clock).flush()
    assert homeserver.find_sent_calls == []
    assert len(homeserver.puts) == 1


async def test_unexpected_transport_error_postpones_the_row_instead_of_stopping_the_sender(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """A network error while looking for an old row holds that row; flush() returns normally."""
    entry_id = await post(db, fake_clock, HUB, "ancien")
    fake_clock.advance(timedelta(hours=24).total_seconds())
    homeserver.fail_next_lookup(ConnectionResetError("connection reset by peer"))
    await make_sender(db, homeserver, fake_clock).flush()
    held = await row(db, entry_id)
    assert (held.status, held.attempts) == ("pending", 1)
    assert held.not_before is not None and held.not_before > fake_clock.now()


async def test_flush_with_an_empty_outbox_waits_the_idle_poll(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """With nothing to send, flush PUTs nothing and asks to be called again after the idle poll."""
    assert await make_sender(db, homeserver, fake_clock).flush() == 30.0
    assert homeserver.puts == []


async def test_postbox_queues_for_the_room_an_upgraded_room_became(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """A message for a room that was upgraded is sent to the new room."""
    async with db.session() as session:
        await state.add_redirect(session, HUB, "!hub-v12", fake_clock.now())
    await post(db, fake_clock, HUB, "annonce")
    await make_sender(db, homeserver, fake_clock).flush()
    assert [(put.room_id, put.content["body"]) for put in homeserver.puts] == [
        ("!hub-v12", "annonce")
    ]


async def post_and_submit(db: Database, clock: FakeClock, sender: Sender, text: str) -> int:
    """Queue a notice through a postbox wired to ``sender``, as the application does."""
    async with db.session() as session:
        return await make_postbox(clock, db, sender).post(session, Message(HUB, text))


async def test_committed_row_of_an_idle_room_goes_without_a_flush(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """A row committed for a room with nothing pending is PUT straight from the commit."""
    sender = make_sender(db, homeserver, fake_clock)
    await sender.flush()
    entry_id = await post_and_submit(db, fake_clock, sender, "bonjour")
    await sender.send_submitted()
    assert [put.content["body"] for put in homeserver.puts] == ["bonjour"]
    assert (await row(db, entry_id)).status == outbox.SENT


async def test_committed_row_waits_behind_an_older_pending_row(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """A room with an older row still pending keeps its order: the new row waits for flush."""
    sender = make_sender(db, homeserver, fake_clock)
    homeserver.fail_next(TransientDeliveryError("503"))
    await post(db, fake_clock, HUB, "premier")
    await sender.flush()
    await post_and_submit(db, fake_clock, sender, "second")
    await sender.send_submitted()
    assert homeserver.puts == []
    fake_clock.advance(600)
    await sender.flush()
    await sender.flush()
    assert [put.content["body"] for put in homeserver.puts] == ["premier", "second"]


async def test_nothing_goes_directly_before_the_first_flush(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """Until the sender has read the outbox once, committed rows wait for the flush."""
    sender = make_sender(db, homeserver, fake_clock)
    await post_and_submit(db, fake_clock, sender, "au démarrage")
    await sender.send_submitted()
    assert homeserver.puts == []
    await sender.flush()
    assert [put.content["body"] for put in homeserver.puts] == ["au démarrage"]


async def test_rolled_back_unit_of_work_submits_nothing(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """A message queued in a unit of work that fails is neither stored nor sent."""
    sender = make_sender(db, homeserver, fake_clock)
    await sender.flush()
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await make_postbox(fake_clock, db, sender).post(session, Message(HUB, "annulé"))
            raise RuntimeError("the handler failed")
    await sender.send_submitted()
    await sender.flush()
    assert homeserver.puts == []
