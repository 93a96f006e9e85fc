"""Erasure that erases: a member's private messages leave the outbox, and on SQLite not a byte
of their address is left in the database's files (main file, write-ahead log, shared memory)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.messages import Message
from bot.storage import outbox
from bot.storage.db import Database
from tests.factory import postbox as make_postbox
from tests.fakes import FakeClock
from tests.subscriptions_rig import CAMILLE, HUB, ORGANISER, SubscriptionRig

ADDRESS = "camille.durand@insee.fr"
TRACES = (ADDRESS.encode(), CAMILLE.encode(), b"Camille Durand")


async def private(db: Database, clock: FakeClock, room_id: str, user_id: str, text: str) -> int:
    async with db.session() as session:
        message = Message(room_id, text, private_for=user_id)
        return await make_postbox(clock, db).post(session, message)


async def test_a_members_private_rows_are_cancelled_or_emptied_and_others_kept(
    db: Database, fake_clock: FakeClock
) -> None:
    """Erasing a member cancels their waiting rows and empties their sent ones; another
    member's rows and public ones are untouched."""
    sent = await private(db, fake_clock, "!dm1:x", CAMILLE, "adresse : camille@insee.fr")
    waiting = await private(db, fake_clock, "!dm1:x", CAMILLE, "encore camille@insee.fr")
    theirs = await private(db, fake_clock, "!dm2:x", ORGANISER, "orga@insee.fr")
    async with db.session() as session:
        public = await make_postbox(fake_clock, db).post(session, Message(HUB, "bonjour"))
        await outbox.mark_sent(session, sent, "$sent", fake_clock.now())
        assert await outbox.erase_member(session, CAMILLE) == 1
    async with db.session() as session:
        rows = {i: await outbox.get(session, i) for i in (sent, waiting, theirs, public)}
    assert {i: (r.status, r.content, r.private_for) for i, r in rows.items() if r} == {
        sent: ("sent", {}, None),
        waiting: ("failed", {}, None),
        theirs: ("pending", rows[theirs].content, ORGANISER),  # type: ignore[union-attr]
        public: ("pending", rows[public].content, None),  # type: ignore[union-attr]
    }
    assert "orga@insee.fr" in str(rows[theirs].content)  # type: ignore[union-attr]


def files_of(db: Database) -> list[Path]:
    database = make_url(db.url).database
    assert database is not None
    main = Path(database)
    return [path for path in (main, main.with_name(main.name + "-wal"),
                              main.with_name(main.name + "-shm")) if path.exists()]  # fmt: skip


def traces(db: Database) -> list[str]:
    """Which of the member's data appear, byte for byte, in which database file."""
    found = []
    for path in files_of(db):
        data = path.read_bytes()
        found += [f"{path.name}: {trace.decode()}" for trace in TRACES if trace in data]
    return found


async def test_unsubscribing_leaves_no_byte_of_the_address_on_disk(
    db: Database, fake_clock: FakeClock
) -> None:
    """Subscribed, shown what is kept, exported, then !desabonner: the address, the Tchap id
    and the name were in the main file and the write-ahead log before, and are in none of the
    database's files after."""
    if not db.is_sqlite:
        pytest.skip("bytes on disk are SQLite's; PostgreSQL's autovacuum reclaims dead rows")
    rig = SubscriptionRig.build(db, fake_clock)
    rig.direct.names[CAMILLE] = "Camille Durand [Insee]"
    await rig.say(CAMILLE, "!abonner")
    await rig.say(CAMILLE, "oui", room_id=rig.direct.dms[CAMILLE])
    await rig.say(CAMILLE, "!abonnement")
    await rig.say(ORGANISER, "!abonnes export")
    await rig.mark_all_sent()
    await rig.say(CAMILLE, "!abonnement")  # a private row still waiting when the erasure comes
    await db.forget_old_pages()  # as after a while: the pages are in the main file, and
    await rig.say(CAMILLE, "!abonnement")  # the write-ahead log holds copies too
    assert {path.split(":")[0] for path in traces(db)} == {"bot.db", "bot.db-wal"}
    await rig.say(CAMILLE, "!desabonner")
    assert traces(db) == []
    assert "désabonné" in await rig.last(HUB)
