"""The subscriber repository on SQLite and PostgreSQL: erasure, counts, recipients, offers."""

from __future__ import annotations

from datetime import timedelta

from bot.storage import outbox
from bot.storage import subscriptions as store
from bot.storage.db import Database
from bot.storage.subscriptions import IMPORT, TCHAP, Contact, Offer
from tests.fakes import FakeClock

CAMILLE = Contact("camille.durand@insee.fr", "Camille Durand", "insee.fr")


async def add(db: Database, clock: FakeClock, user: str, contact: Contact, dm: bool) -> int:
    async with db.session() as session:
        subscriber = await store.add(
            session, contact=contact, source=TCHAP, now=clock.now(), user_id=user,
            consent_version="v1", dm_room_id=f"!dm:{user}" if dm else None,
        )  # fmt: skip
    return subscriber.id


async def test_erasure_frees_the_address_and_the_account(
    db: Database, fake_clock: FakeClock
) -> None:
    """After erasure the same member may subscribe again with the same address."""
    first = await add(db, fake_clock, "@camille:tchap", CAMILLE, dm=True)
    async with db.session() as session:
        await store.erase(session, first, fake_clock.now())
    second = await add(db, fake_clock, "@camille:tchap", CAMILLE, dm=False)
    async with db.session() as session:
        current = await store.by_user(session, "@camille:tchap")
        assert await store.with_email(session, CAMILLE.email) == [current]
    assert current is not None and current.id == second != first


async def test_counts_and_dm_recipients(db: Database, fake_clock: FakeClock) -> None:
    """Only active members with a DM, never found unreachable, receive newsletters by DM."""
    reachable = await add(db, fake_clock, "@a:tchap", Contact("a@insee.fr", "A", "insee.fr"), True)
    gone = await add(db, fake_clock, "@b:tchap", Contact("b@insee.fr", "B", "insee.fr"), True)
    await add(db, fake_clock, "@c:tchap", Contact("c@insee.fr", "C", "insee.fr"), False)
    async with db.session() as session:
        await store.add(session, contact=Contact("d@insee.fr", "D", "insee.fr"), source=IMPORT,
                        now=fake_clock.now())  # fmt: skip
        await store.mark_unreachable(session, [gone], fake_clock.now())
    async with db.session() as session:
        recipients = [s.id for s in await store.dm_recipients(session)]
        counts = await store.counts(session)
    assert recipients == [reachable]
    assert (counts.active, counts.by_dm, counts.unreachable) == (4, 2, 1)


async def test_an_offer_is_replaced_and_forgotten_when_old(
    db: Database, fake_clock: FakeClock
) -> None:
    """A new offer replaces the member's previous one; old offers and their addresses go."""
    async with db.session() as session:
        old = Offer("@m:tchap", "!dm:tchap", ("a@insee.fr",), "fr", None, fake_clock.now())
        await store.put_offer(session, old)
    fake_clock.advance(3600)
    new = Offer("@m:tchap", "!dm2:tchap", ("b@insee.fr", "c@insee.fr"), "en", None,
                fake_clock.now())  # fmt: skip
    async with db.session() as session:
        await store.put_offer(session, new)
    async with db.session() as session:
        assert await store.offer_for(session, "@m:tchap") == new
        cutoff = fake_clock.now() + timedelta(seconds=1)
        assert await store.forget_offers_before(session, cutoff) == 1
        assert await store.offer_for(session, "@m:tchap") is None


async def test_many_bulk_rows_in_one_go_skip_used_keys(db: Database, fake_clock: FakeClock) -> None:
    """enqueue_many writes every new key once, across batches, and skips a key used before."""
    content = {"msgtype": "m.notice", "body": "Infolettre"}
    rows = [outbox.NewRow(f"!dm-{n}:x", "m.room.message", content, f"k{n}") for n in range(1200)]
    async with db.session() as session:
        await outbox.enqueue(session, room_id="!dm-7:x", event_type="m.room.message",
                             content=content, now=fake_clock.now(), dedupe_key="k7")  # fmt: skip
        written = await outbox.enqueue_many(session, rows, now=fake_clock.now(), bulk=True)
    assert len(written) == 1199 and "k7" not in {entry.dedupe_key for entry in written}
    async with db.session() as session:
        stored = await outbox.by_dedupe_key(session, "k1100")
        assert await outbox.depth(session) == 1200
    entry = next(e for e in written if e.dedupe_key == "k1100")
    assert stored is not None and (stored.id, stored.txn_id, stored.bulk) == (
        entry.id,
        entry.txn_id,
        True,
    )
