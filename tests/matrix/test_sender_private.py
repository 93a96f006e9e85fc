"""Private messages at the sending edge: checked right before their PUT, sent only to their
member's true DM, held while the member is invited, refused (and emptied) anywhere else."""

from __future__ import annotations

import pytest

from bot.matrix.privacy import Verdict
from bot.matrix.sender import Sender
from bot.messages import Message
from bot.storage import outbox
from bot.storage.db import Database
from tests.factory import postbox as make_postbox
from tests.fakes import FakeClock, FixedPrivacy, RecordingTransport
from tests.matrix.test_sender import HUB, make_sender, row


@pytest.fixture
def homeserver() -> RecordingTransport:
    return RecordingTransport()


ALICE = "@alice:localhost"
DM = "!dm-alice:localhost"


async def post_private(db: Database, clock: FakeClock, room_id: str, text: str) -> int:
    """Queue a message carrying Alice's private data, as the subscription service does."""
    async with db.session() as session:
        message = Message(room_id, text, private_for=ALICE)
        return await make_postbox(clock, db).post(session, message)


async def test_a_private_message_goes_only_to_the_members_true_dm_and_keeps_nothing(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """Checked right before its PUT: sent to the true DM, after which the row keeps neither
    its content nor the member; refused in any other room, never PUT, content dropped."""
    sent = await post_private(db, fake_clock, DM, "adresse : alice@insee.fr")
    refused = await post_private(db, fake_clock, HUB, "adresse : alice@insee.fr")
    privacy = FixedPrivacy({(DM, ALICE): Verdict.READY})
    sender = Sender(db, homeserver, fake_clock, pace_seconds=0, privacy=privacy)
    for _ in range(3):
        await sender.flush()
    assert [(put.room_id, put.content["body"]) for put in homeserver.puts] == [
        (DM, "adresse : alice@insee.fr")
    ]
    done, dropped = await row(db, sent), await row(db, refused)
    assert (done.status, done.content, done.private_for) == ("sent", {}, None)
    assert (dropped.status, dropped.content, dropped.private_for) == ("failed", {}, None)
    assert sorted(privacy.asked) == sorted([(DM, ALICE), (HUB, ALICE)])


async def test_a_private_message_waits_for_the_member_to_join_then_goes(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """While the member is only invited to the DM the row is held (not PUT, and not counted as
    an outbox stuck), then sent once they joined; held past a day, it is refused."""
    waiting = await post_private(db, fake_clock, DM, "bonjour")
    privacy = FixedPrivacy({(DM, ALICE): Verdict.WAITING})
    sender = Sender(db, homeserver, fake_clock, pace_seconds=0, privacy=privacy)
    await sender.flush()
    assert homeserver.puts == [] and (await row(db, waiting)).status == "pending"
    async with db.session() as session:  # waiting on the member, not a stuck outbox
        assert await outbox.depth(session) == 1 and await outbox.oldest_pending_at(session) is None
    privacy.verdicts[(DM, ALICE)] = Verdict.READY
    fake_clock.advance(2)
    await sender.flush()
    assert [put.content["body"] for put in homeserver.puts] == ["bonjour"]
    stale = await post_private(db, fake_clock, DM, "trop tard")
    privacy.verdicts[(DM, ALICE)] = Verdict.WAITING
    fake_clock.advance(25 * 3600)
    await sender.flush()
    assert (await row(db, stale)).status == "failed" and len(homeserver.puts) == 1


async def test_without_a_dm_check_every_private_message_is_refused(
    db: Database, fake_clock: FakeClock, homeserver: RecordingTransport
) -> None:
    """A sender built without the DM check refuses private rows rather than risk them."""
    entry = await post_private(db, fake_clock, DM, "secret")
    await make_sender(db, homeserver, fake_clock).flush()
    assert homeserver.puts == [] and (await row(db, entry)).status == "failed"
