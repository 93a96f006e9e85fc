"""Retention on every backend: each table's prune keeps what must stay and removes the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.config.schema import RetentionConfig
from bot.metrics import Metrics
from bot.services.housekeeping import Housekeeping
from bot.storage import autoposts, outbox, state
from bot.storage.db import Database
from bot.storage.models import (
    AddressCheckRow,
    AutoPostRow,
    DeliveryRow,
    FeedChangeRow,
    FeedItemRow,
    FeedRow,
    HandledEvent,
    NewsletterDmRow,
    NewsletterFanoutRow,
    OutboxRow,
    ReminderFiringRow,
    ReminderRow,
    SubscriberRow,
    SubscriptionOfferRow,
)
from tests.fakes import FakeClock

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HUB = "!hub:localhost"
GRACE = timedelta(minutes=5)


def keeper(db: Database, **settings: Any) -> Housekeeping:
    clock = FakeClock(NOW)
    config = RetentionConfig(**settings)
    return Housekeeping(db, clock, Metrics(), config, command_grace=GRACE)


async def message(db: Database, *, at: datetime, status: str = "pending") -> int:
    """An outbox row written at ``at``, left pending or settled as ``status`` right away."""
    async with db.session() as session:
        entry = await outbox.enqueue(
            session, room_id=HUB, event_type="m.room.message", content={"body": "x"}, now=at
        )
        if status == "sent":
            await outbox.mark_sent(session, entry.id, f"$e{entry.id}", at)
        elif status == "failed":
            await outbox.mark_failed(session, entry.id, "M_FORBIDDEN")
    return entry.id


async def ids(db: Database, key: Any) -> set[Any]:
    async with db.session() as session:
        return set((await session.scalars(select(key))).all())


def feed_item(feed_id: int, identity: str, seen: datetime) -> FeedItemRow:
    return FeedItemRow(
        feed_id=feed_id, identity=identity, kind="newsletter", title="t", summary="",
        fingerprint="f", status="announced", first_seen_at=seen, first_seen_poll=1,
        last_seen_poll=1,
    )  # fmt: skip


async def add(db: Database, *rows: Any) -> None:
    async with db.session() as session:
        for row in rows:
            session.add(row)
            await session.flush()


async def test_sent_and_failed_messages_go_after_their_windows_pending_ones_never(
    db: Database,
) -> None:
    """A sent row goes 48 h after its send and a refused one after 30 days; a pending row
    stays however old, retried or not, and so does a recent sent or refused one."""
    ancient = NOW - timedelta(days=400)
    pending = await message(db, at=ancient)
    retried = await message(db, at=ancient)
    async with db.session() as session:
        await outbox.postpone(session, retried, not_before=NOW, error="M_LIMIT_EXCEEDED")
    await message(db, at=NOW - timedelta(hours=49), status="sent")
    new_sent = await message(db, at=NOW - timedelta(hours=47), status="sent")
    await message(db, at=NOW - timedelta(days=31), status="failed")
    new_failed = await message(db, at=NOW - timedelta(days=29), status="failed")
    pruned = await keeper(db).run_once()
    assert pruned == {"outbox": 2}
    assert await ids(db, OutboxRow.id) == {pending, retried, new_sent, new_failed}


async def test_a_message_something_points_at_stays_until_that_goes(db: Database) -> None:
    """An old sent announcement stays while its delivery record does (edits need its event
    id); an old reminder firing and its message both go once the reminder moved past it."""
    old = NOW - timedelta(days=200)
    announced = await message(db, at=old, status="sent")
    fired = await message(db, at=old, status="sent")
    feed = FeedRow(url="https://x/feed.xml")
    await add(db, feed)
    item = feed_item(feed.id, "a", old)
    reminder = ReminderRow(
        public_id="r1", room_id=HUB, author="@o:x", text="t", kind="recurring", at=NOW,
        timezone="Europe/Paris", language="fr", status="active", created_at=old,
    )  # fmt: skip
    await add(db, item, reminder)
    await add(
        db,
        DeliveryRow(item_id=item.id, room_id=HUB, outbox_id=announced, created_at=old),
        ReminderFiringRow(reminder_id=reminder.id, occurrence=old, outbox_id=fired, fired_at=old),
    )
    pruned = await keeper(db).run_once()
    assert pruned == {"reminder_firing": 1, "outbox": 1}
    assert await ids(db, OutboxRow.id) == {announced}


async def test_claims_go_after_their_window_but_never_within_the_command_grace(
    db: Database,
) -> None:
    """Claims older than the window go; with the window set below the command grace, a claim
    that could still guard against a replayed command stays."""
    async with db.session() as session:
        ages = {"$old": 49 * 60, "$day": 20 * 60, "$fresh": 4, "$edge": 14}
        for event_id, minutes in ages.items():
            age = timedelta(minutes=minutes)
            await state.claim_event(session, event_id, HUB, NOW - age)
    assert await keeper(db).run_once() == {"handled_event": 1}
    assert await ids(db, HandledEvent.event_id) == {"$day", "$fresh", "$edge"}
    assert await keeper(db, handled_events_hours=0.01).run_once() == {"handled_event": 1}
    assert await ids(db, HandledEvent.event_id) == {"$fresh", "$edge"}


async def test_ended_reminders_and_old_automatic_posts_go_active_ones_stay(db: Database) -> None:
    """A reminder that ended long ago goes with its firings; an active one stays with a firing
    it might still guard; automatic posts go only once before the agenda's watermark."""
    long_ago = NOW - timedelta(days=120)

    def reminder(public_id: str, status: str, at: datetime) -> ReminderRow:
        return ReminderRow(
            public_id=public_id, room_id=HUB, author="@o:x", text="t", kind="one_off", at=at,
            timezone="Europe/Paris", language="fr", status=status, created_at=long_ago,
        )  # fmt: skip

    done, planned = reminder("done", "done", long_ago), reminder("plan", "active", long_ago)
    await add(db, done, planned)
    await add(
        db,
        ReminderFiringRow(reminder_id=done.id, occurrence=long_ago, fired_at=long_ago),
        ReminderFiringRow(reminder_id=planned.id, occurrence=long_ago, fired_at=long_ago),
        AutoPostRow(kind="digest", subject="2026-W01", room_id=HUB, slot=long_ago,
                    posted_at=long_ago),
        AutoPostRow(kind="digest", subject="2026-W22", room_id=HUB, slot=NOW - timedelta(days=1),
                    posted_at=NOW),
    )  # fmt: skip
    pruned = await keeper(db).run_once()  # no watermark yet: automatic posts wait
    assert pruned == {"reminder_firing": 1, "reminder": 1}
    async with db.session() as session:
        await autoposts.set_watermark(session, NOW)
    assert await keeper(db).run_once() == {"auto_post": 1}
    assert await ids(db, ReminderRow.public_id) == {"plan"}
    assert await ids(db, AutoPostRow.subject) == {"2026-W22"}
    assert await ids(db, ReminderFiringRow.reminder_id) == {planned.id}


async def test_finished_deliveries_by_dm_go_unfinished_ones_and_subscribers_stay(
    db: Database,
) -> None:
    """A newsletter's delivery by DM that finished long ago goes with its records; one still
    running stays; the subscriber (their consent record) stays whatever happens."""
    old = NOW - timedelta(days=100)
    feed = FeedRow(url="https://x/feed.xml")
    subscriber = SubscriberRow(
        user_id="@a:x", email="a@x.fr", source="tchap", consent_at=old, subscribed_at=old
    )
    await add(db, feed, subscriber)
    items = [feed_item(feed.id, f"n{n}", old) for n in (1, 2)]
    await add(db, *items)
    sent = [await message(db, at=old, status="sent") for _ in items]
    await add(
        db,
        NewsletterFanoutRow(item_id=items[0].id, title="n1", queued=1, unreachable=0,
                            started_at=old, finished_at=old),
        NewsletterFanoutRow(item_id=items[1].id, title="n2", queued=1, unreachable=0,
                            started_at=old, finished_at=None),
    )  # fmt: skip
    await add(
        db,
        *(NewsletterDmRow(item_id=i.id, subscriber_id=subscriber.id, outbox_id=o)
          for i, o in zip(items, sent, strict=True)),
    )  # fmt: skip
    pruned = await keeper(db).run_once()
    assert pruned == {"newsletter_dm": 1, "newsletter_fanout": 1, "outbox": 1}
    assert await ids(db, NewsletterFanoutRow.title) == {"n2"}
    assert await ids(db, OutboxRow.id) == {sent[1]}
    assert await ids(db, SubscriberRow.user_id) == {"@a:x"}


async def test_old_feed_changes_expired_checks_and_stale_offers_go(db: Database) -> None:
    """Feed changes go after a year, address checks once expired, offers after a week."""
    feed = FeedRow(url="https://x/feed.xml")
    await add(db, feed)

    def change(days: int) -> FeedChangeRow:
        return FeedChangeRow(feed_id=feed.id, at=NOW - timedelta(days=days), actor="config",
                             action="added")  # fmt: skip

    def check(user: str, expires: datetime) -> AddressCheckRow:
        return AddressCheckRow(user_id=user, room_id="!dm:x", email="a@b.fr", code_hash="h",
                               language="fr", created_at=expires, expires_at=expires)  # fmt: skip

    def offer(user: str, days: int) -> SubscriptionOfferRow:
        at = NOW - timedelta(days=days)
        return SubscriptionOfferRow(
            user_id=user, room_id="!dm:x", candidates=["a@b.fr"], language="fr", created_at=at
        )

    await add(
        db, change(400), change(10), check("@old:x", NOW - timedelta(minutes=1)),
        check("@new:x", NOW + timedelta(minutes=20)), offer("@old:x", 8), offer("@new:x", 1),
    )  # fmt: skip
    pruned = await keeper(db).run_once()
    assert pruned == {"feed_change": 1, "address_check": 1, "subscription_offer": 1}
    assert await ids(db, AddressCheckRow.user_id) == {"@new:x"}
    assert await ids(db, SubscriptionOfferRow.user_id) == {"@new:x"}
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(FeedChangeRow)) == 1


async def test_a_pass_deletes_in_batches_and_counts_every_row_in_the_metric(db: Database) -> None:
    """1,050 old claims go in batches of 500 (three short transactions), all counted."""
    async with db.session() as session:
        for n in range(1050):
            await state.claim_event(session, f"$e{n}", HUB, NOW - timedelta(days=3))
    housekeeping = keeper(db)
    assert await housekeeping.run_once() == {"handled_event": 1050}
    sample = housekeeping.metrics.registry.get_sample_value
    assert sample("ssphub_pruned_rows_total", {"table": "handled_event"}) == 1050
    assert await housekeeping.run_once() == {}
