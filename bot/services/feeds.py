"""What organisers ask about the feeds: each feed's setup and state, a dry run of one, and why
an item was or was not announced. A dry run fetches with the watcher's own fetcher and sends
nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.feeds.normalise import canonical_url
from bot.feeds.plan import ItemStatus, oldest_first
from bot.feeds.preview import (
    PreviewLine,
    as_record,
    fetch_items,
    settings_for,
    stored_known,
    verdicts,
)
from bot.feeds.settings import FeedSettings, settings_of
from bot.feeds.watch import Fetcher
from bot.i18n import Catalogue
from bot.services.announcements import Announcer, template_key
from bot.storage import deliveries, feed_setup, feeds
from bot.storage import subscriptions_fanout as fanouts
from bot.storage.db import Database
from bot.storage.deliveries import DeliveryView
from bot.storage.feed_setup import FeedChange, FeedSetup
from bot.storage.feeds import FeedState, ItemRecord
from bot.storage.subscriptions_fanout import Progress

MAX_PREVIEW_MESSAGES = 5
HISTORY = 5  # changes shown in a feed's details


@dataclass(frozen=True)
class FeedStatus:
    """One feed followed: its setup, what its row says of its polls, its items known, and (for
    the details of one feed) its latest changes."""

    feed: FeedSetup
    state: FeedState
    items: int
    settings: FeedSettings
    history: list[FeedChange] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.feed.label


@dataclass(frozen=True)
class Overview:
    """Every feed followed, and the latest newsletters sent to subscribers by DM."""

    feeds: list[FeedStatus]
    newsletters: list[Progress]


@dataclass(frozen=True)
class Preview:
    """What the next poll of a feed would do with each item, and the first messages it would
    send (in the asker's language, for the asker's room); when it would send none, ``sample``
    shows the newest item the feed's filter lets through as it would be announced."""

    lines: list[PreviewLine]
    messages: list[str]
    sample: str | None = None


@dataclass(frozen=True)
class Explained:
    """One stored item carrying a link, its feed's name, and where its announcement went."""

    record: ItemRecord
    feed: str
    deliveries: list[DeliveryView]


class FeedReports:
    """Reads the feeds' state for organisers; fetches only for a dry run."""

    def __init__(self, config: Config, db: Database, fetcher: Fetcher) -> None:
        self.config = config
        self.db = db
        self.fetcher = fetcher

    async def overview(self, session: AsyncSession) -> Overview:
        """The state of every feed followed, and of the newsletters sent by DM."""
        found = [await self.status(session, feed) for feed in await feed_setup.setups(session)]
        return Overview(found, await fanouts.progress(session))

    async def status(
        self, session: AsyncSession, feed: FeedSetup, *, history: int = 0
    ) -> FeedStatus:
        """One feed's setup and state, with its latest ``history`` changes."""
        state = await feeds.feed_state(session, feed.url)
        count = await feeds.items_known(session, state.id)
        changes = await feed_setup.history(session, feed.id, history) if history else []
        return FeedStatus(feed, state, count, settings_of(self.config, feed), changes)

    async def preview(
        self,
        session: AsyncSession,
        target: str | FeedSetup,
        t: Catalogue,
        room_id: str,
        now: datetime,
    ) -> Preview:
        """Fetch and read a feed followed or any URL now (network first: ``session`` holds no
        connection yet), then say what a poll at ``now`` would do, with the feed's filters and
        templates; raises a ``FeedError`` when it cannot be read."""
        url = target if isinstance(target, str) else target.url
        settings = await self._settings(target)
        items = await fetch_items(url, settings, self.fetcher)
        known = await stored_known(session, url)
        lines = verdicts(items, settings.policy, known, first_poll=False, now=now)
        messages = self._messages(lines, t, room_id, settings)
        shown = [line.item for line in lines if settings.policy.filter.held(line.item) is None]
        if messages or not shown:
            return Preview(lines, messages)
        newest = oldest_first(shown)[-1]
        return Preview(lines, [], self._text(as_record(newest), t, room_id, settings))

    async def sample(
        self, session: AsyncSession, feed: FeedSetup, key: str, t: Catalogue, room_id: str
    ) -> str | None:
        """The feed's most recent stored item announced with the template ``key``, as it would
        be announced now; None when the feed has no such item."""
        settings = settings_of(self.config, feed)
        for record in await feeds.latest_items(session, feed.id):
            if template_key(record) == key:
                return self._text(record, t, room_id, settings)
        return None

    def _text(self, record: ItemRecord, t: Catalogue, room_id: str, settings: FeedSettings) -> str:
        """An item's announcement text with the feed's templates, in ``t``'s language."""
        announcer = Announcer(self.config.announcements, t, self.config.tz)
        message = announcer.announcement(
            record, room_id, feed=settings.label, templates=settings.templates
        )
        return message.text

    async def _settings(self, target: str | FeedSetup) -> FeedSettings:
        """A feed's settings; for a URL, those of the feed followed there if there is one."""
        if isinstance(target, str):
            async with self.db.session() as session:
                found = await feed_setup.find(session, url=target)
            if found is None or found.removed_at is not None:
                return settings_for(self.config, target)
            target = found
        return settings_of(self.config, target)

    def _messages(
        self, lines: list[PreviewLine], t: Catalogue, room_id: str, settings: FeedSettings
    ) -> list[str]:
        """The texts of the first announcements the poll would send."""
        chosen = [line for line in lines if line.verdict == ItemStatus.ANNOUNCED]
        return [
            self._text(as_record(line.item), t, room_id, settings)
            for line in chosen[:MAX_PREVIEW_MESSAGES]
        ]

    async def why(self, session: AsyncSession, link: str) -> list[Explained]:
        """Every stored item whose identity is ``link`` as any feed spells it, or whose link it
        is, with where it was delivered."""
        known = await feed_setup.setups(session, removed=True)
        rules = [settings_of(self.config, feed).rules for feed in known]
        identities = {link} | {canonical_url(link, feed_rules) for feed_rules in rules}
        matches = await deliveries.items_matching(session, sorted(identities), link)
        labels = {feed.url: feed.label for feed in known}
        return [
            Explained(
                record, labels.get(url, url), await deliveries.deliveries_of(session, record.id)
            )
            for record, url in matches
        ]
