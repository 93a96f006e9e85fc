"""Shared by the agenda tests: the hub's real event feed stored, manual events, the poster."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import AgendaConfig
from bot.feeds.normalise import FeedItem, ItemKind, NormaliseRules, normalise_entries
from bot.feeds.parse import parse_feed
from bot.services.agenda import Agenda, AgendaEvent
from bot.services.agenda.posts import AgendaPoster
from bot.storage import feed_items, feeds
from bot.storage.agenda import NewEvent
from bot.storage.db import Database
from tests.factory import hub_rooms, postbox
from tests.fakes import FakeClock
from tests.feeds.conftest import load_feed

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 2 March 2026, 10:00 in Paris
HUB = "!hub:localhost"
ORGA = "!orga:localhost"
ORGANISER = "@orga:localhost"
EVENT_FEED = "https://ssphub.netlify.app/event.xml"
NEWSLETTER_FEED = "https://ssphub.netlify.app/infolettre/infolettre.xml"
DARES = "Analyse textuelle de documents longs : cas des accords d’entreprise"
AGRI = (
    "Génération de commentaire de graphiques : retour d’expérience sur les statistiques "
    "agricoles et pistes d’amélioration"
)
JDOS = "Journées data science & open-source"


def paris(text: str) -> datetime:
    """A Paris wall-clock time written ``YYYY-MM-DD HH:MM``, as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


def fixture_items(name: str, kind: ItemKind = ItemKind.EVENT) -> list[FeedItem]:
    """The items of one of the hub's real feeds, normalised as the watcher does."""
    parsed = parse_feed(load_feed(name), url=f"https://ssphub.netlify.app/{name}.xml")
    return normalise_entries(parsed.entries, NormaliseRules(default_kind=kind))


async def store_items(
    db: Database, url: str, items: Sequence[FeedItem], now: datetime = NOW
) -> None:
    """Store items as a feed poll records them (their events go to the agenda)."""
    async with db.session() as session:
        state = await feeds.feed_state(session, url)
        await feed_items.add_items(
            session, state.id, [(i, "announced") for i in items], now=now, poll=1
        )


async def store_event_feed(db: Database, now: datetime = NOW) -> None:
    await store_items(db, EVENT_FEED, fixture_items("event"), now)


async def upcoming(db: Database, now: datetime = NOW, days: int = 30) -> list[AgendaEvent]:
    async with db.session() as session:
        return await Agenda(PARIS).upcoming(session, now, days)


async def add_event(
    db: Database,
    title: str,
    start: datetime,
    *,
    known: bool = True,
    now: datetime = NOW,
    place: str | None = None,
    link: str | None = None,
) -> AgendaEvent:
    """An event added by hand, committed."""
    async with db.session() as session:
        new = NewEvent(title, start, known, place, link, ORGANISER)
        return await Agenda(PARIS).add(session, new, now)


def poster(
    db: Database,
    clock: FakeClock,
    config: AgendaConfig | None = None,
    grace: timedelta = timedelta(hours=1),
) -> AgendaPoster:
    """The automatic poster as the app builds it, posting to the real outbox (nothing is sent)."""
    return AgendaPoster(
        db,
        postbox(clock, db),
        Agenda(PARIS),
        config or AgendaConfig(),
        tz=PARIS,
        language="fr",
        grace=grace,
        audience=hub_rooms(db, clock, [HUB], organiser_room=ORGA),
    )


async def run_through(target: AgendaPoster, clock: FakeClock, until: datetime) -> None:
    """Run the poster at each wake-up it asks for up to ``until``, as the scheduler does."""
    await target.run_due(clock.now())
    while (wake := await target.next_due(clock.now())) is not None and wake <= until:
        clock.advance((wake - clock.now()).total_seconds())
        await target.run_due(clock.now())
    clock.advance((until - clock.now()).total_seconds())
    await target.run_due(clock.now())
