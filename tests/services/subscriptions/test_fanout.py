"""A new newsletter reaches every subscriber who chose DM delivery once, through the outbox."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import AnnouncementsConfig
from bot.errors import PermanentDeliveryError
from bot.feeds.watch import FeedWatcher
from bot.i18n import catalogue
from bot.matrix.sender import Sender, Transport
from bot.services.announcements import Announcer
from bot.services.subscriptions.fanout import (
    FanoutMonitor,
    NewsletterDelivery,
    dedupe_key,
    progress_lines,
)
from bot.storage import subscriptions as store
from bot.storage import subscriptions_fanout as fanouts
from bot.storage.models import OutboxRow, SubscriberRow
from bot.storage.subscriptions import TCHAP, Contact
from tests.factory import hub_rooms
from tests.factory import postbox as make_postbox
from tests.fakes import EveryRoomIsADm, RecordingTransport
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import items, with_items
from tests.feeds.rig import ORGANISERS, ROOMS, Rig, database_url, db, postgres_database_url, rig

__all__ = ["database_url", "db", "postgres_database_url", "rig"]

NEWSLETTERS = load_feed("infolettre").decode()
EVENTS = load_feed("event").decode()
PARIS = ZoneInfo("Europe/Paris")
HEADLINE = "📰 Nouvelle infolettre n°26"


class Reach:
    """DMs the Matrix layer sees as still reaching their member."""

    def __init__(self) -> None:
        self.gone: set[str] = set()

    def reachable(self, room_id: str, user_id: str) -> bool:
        return user_id not in self.gone


def delivery(rig: Rig, reach: Reach) -> NewsletterDelivery:
    announcer = Announcer(AnnouncementsConfig(), catalogue("fr"), PARIS)
    return NewsletterDelivery(make_postbox(rig.clock, rig.db), reach, announcer)


async def subscribe(rig: Rig, n: int, *, dm: bool = True) -> int:
    """Subscriber ``n`` with DM ``!dm-n``; the row id."""
    async with rig.db.session() as session:
        row = await store.add(
            session, contact=Contact(f"membre{n}@insee.fr", f"Membre {n}", "insee.fr"),
            source=TCHAP, now=rig.clock.now(), user_id=f"@membre{n}:localhost",
            consent_version="v1", dm_room_id=f"!dm-{n}:localhost" if dm else None,
        )  # fmt: skip
    return row.id


async def two_polls(rig: Rig, watcher: FeedWatcher, xml: str = NEWSLETTERS) -> None:
    """A first (silent) poll without the newest item, then one that finds it."""
    rig.server.serve("/feed.xml", with_items(xml, items(xml)[1:]))
    await watcher.poll_once()
    rig.server.serve("/feed.xml", xml)
    await watcher.poll_once()


class Refusing:
    """The recording homeserver, refusing for good every event to one room."""

    def __init__(self, inner: RecordingTransport, room_id: str) -> None:
        self.inner = inner
        self.room_id = room_id

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        if room_id == self.room_id:
            raise PermanentDeliveryError("M_FORBIDDEN: not in room")
        return await self.inner.send(room_id, event_type, content, txn_id)

    async def find_sent(self, room_id: str, txn_id: str) -> str | None:
        return await self.inner.find_sent(room_id, txn_id)


async def send_all(rig: Rig, transport: Transport | None = None) -> None:
    """Let a sender with no bulk pace deliver every pending row to the recording transport."""
    sender = Sender(
        rig.db, transport or rig.transport, rig.clock, pace_seconds=0, bulk_pace_seconds=0,
        privacy=EveryRoomIsADm(),
    )  # fmt: skip
    while any(q.status == "pending" for q in await rig.queued()):
        await sender.flush()


async def dm_rows(rig: Rig) -> list[OutboxRow]:
    async with rig.db.session() as session:
        rows = await session.scalars(
            select(OutboxRow).where(OutboxRow.room_id.like("!dm-%")).order_by(OutboxRow.id)
        )
        return list(rows)


async def test_a_new_newsletter_is_queued_once_for_each_dm_subscriber(rig: Rig) -> None:
    """Subscribers with DM delivery get one bulk row each; the others get nothing."""
    reach = Reach()
    first = await subscribe(rig, 1)
    await subscribe(rig, 2, dm=False)
    gone = await subscribe(rig, 3)
    reach.gone.add("@membre3:localhost")
    erased = await subscribe(rig, 4)
    async with rig.db.session() as session:
        await store.erase(session, erased, rig.clock.now())
    watcher = rig.watcher("/feed.xml", newsletter=delivery(rig, reach))
    await two_polls(rig, watcher)
    [row] = await dm_rows(rig)
    item_id = (await rig.items())["Le prix de statistiques indépendantes"].id
    assert (row.room_id, row.bulk) == ("!dm-1:localhost", True)
    assert row.dedupe_key == dedupe_key(item_id, first)
    assert row.content["body"].startswith(HEADLINE)
    assert sorted(q.room_id for q in await rig.queued() if q.body.startswith(HEADLINE)) == sorted(
        [*ROOMS, "!dm-1:localhost"]
    )
    async with rig.db.session() as session:
        marked = await session.get(SubscriberRow, gone)
    assert marked is not None and marked.dm_unreachable_at == rig.clock.now()


async def test_the_same_newsletter_is_never_queued_twice(rig: Rig) -> None:
    """Polling again, or the announcement being recorded again, adds no DM row."""
    await subscribe(rig, 1)
    watcher = rig.watcher("/feed.xml", newsletter=delivery(rig, Reach()))
    await two_polls(rig, watcher)
    await watcher.poll_once()
    rig.server.serve("/feed.xml", NEWSLETTERS + " ")
    await watcher.poll_once()
    assert len(await dm_rows(rig)) == 1


async def test_events_are_not_sent_by_dm(rig: Rig) -> None:
    """Only newsletters go to subscribers; an announced event stays in the rooms."""
    await subscribe(rig, 1)
    watcher = rig.watcher("/feed.xml", newsletter=delivery(rig, Reach()))
    await two_polls(rig, watcher, EVENTS)
    assert any(q.room_id in ROOMS for q in await rig.queued())
    assert await dm_rows(rig) == []


async def test_every_subscriber_gets_exactly_one_put(rig: Rig) -> None:
    """Fifty DM subscribers: the sender PUTs one event in each DM, none twice."""
    for n in range(50):
        await subscribe(rig, n)
    watcher = rig.watcher("/feed.xml", newsletter=delivery(rig, Reach()))
    await two_polls(rig, watcher)
    await send_all(rig)
    dms = [put.room_id for put in rig.transport.puts if put.room_id.startswith("!dm-")]
    assert sorted(dms) == sorted(f"!dm-{n}:localhost" for n in range(50))


@pytest.fixture
def monitor(rig: Rig) -> FanoutMonitor:
    return FanoutMonitor(
        rig.db, make_postbox(rig.clock, rig.db), rig.clock, catalogue("fr"),
        audience=hub_rooms(rig.db, rig.clock, organiser_room=ORGANISERS), interval=30,
    )  # fmt: skip


async def test_refused_dms_mark_subscribers_and_organisers_hear_counts(
    rig: Rig, monitor: FanoutMonitor
) -> None:
    """A DM refused for good marks its subscriber; at the end organisers get counts only."""
    refused = await subscribe(rig, 1)
    await subscribe(rig, 2)
    watcher = rig.watcher("/feed.xml", newsletter=delivery(rig, Reach()))
    await two_polls(rig, watcher)
    [running] = await monitor.check()
    assert (running.queued, running.sent, running.pending) == (2, 0, 2)
    await send_all(rig, Refusing(rig.transport, "!dm-1:localhost"))
    await monitor.check()
    async with rig.db.session() as session:
        marked = await session.get(SubscriberRow, refused)
        lines = progress_lines(await fanouts.progress(session), catalogue("fr"))
    assert marked is not None and marked.dm_unreachable_at is not None
    report = [q.body for q in await rig.queued() if q.room_id == ORGANISERS]
    assert report == ["📬 Infolettre « Le prix de statistiques indépendantes » en message privé : "
                      "1 envoyée(s), 1 refusée(s) par le serveur, 0 abonné(s) injoignable(s). "
                      "L’envoi en message privé est suspendu pour eux ; « !abonnes export » les "
                      "liste (colonne MP_injoignable_depuis)."]  # fmt: skip
    assert "@" not in report[0]
    assert lines[1].endswith("1 envoyée(s) sur 2, 1 en échec, 0 en attente, "
                             "0 abonné(s) injoignable(s) — terminé")  # fmt: skip
    assert await monitor.check() == []
