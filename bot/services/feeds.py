"""What organisers ask about the feeds: each feed's state, a dry run of one, and why an item was
or was not announced. A dry run fetches with the watcher's own fetcher and sends nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.feeds.normalise import canonical_url
from bot.feeds.plan import ItemStatus
from bot.feeds.preview import (
    PreviewLine,
    as_record,
    fetch_items,
    settings_for,
    stored_known,
    verdicts,
)
from bot.feeds.watch import Fetcher
from bot.i18n import Catalogue
from bot.services.announcements import Announcer
from bot.storage import deliveries, feeds
from bot.storage import subscriptions_fanout as fanouts
from bot.storage.deliveries import DeliveryView
from bot.storage.feeds import FeedState, ItemRecord
from bot.storage.subscriptions_fanout import Progress

MAX_PREVIEW_MESSAGES = 5


@dataclass(frozen=True)
class FeedStatus:
    """One configured feed: its name, what its row says (None before its first poll), items."""

    label: str
    state: FeedState | None
    items: int


@dataclass(frozen=True)
class Overview:
    """Every configured feed, and the latest newsletters sent to subscribers by DM."""

    feeds: list[FeedStatus]
    newsletters: list[Progress]


@dataclass(frozen=True)
class Preview:
    """What the next poll of a feed would do with each item, and the first messages it would
    send (in the asker's language, for the asker's room)."""

    lines: list[PreviewLine]
    messages: list[str]


@dataclass(frozen=True)
class Explained:
    """One stored item carrying a link, its feed's name, and where its announcement went."""

    record: ItemRecord
    feed: str
    deliveries: list[DeliveryView]


class FeedReports:
    """Reads the feeds' state for organisers; fetches only for a dry run."""

    def __init__(self, config: Config, fetcher: Fetcher) -> None:
        self.config = config
        self.fetcher = fetcher

    async def overview(self, session: AsyncSession) -> Overview:
        """The state of every configured feed, and of the newsletters sent by DM."""
        found = []
        for feed in self.config.feeds:
            state = await feeds.find_feed(session, feed.url)
            count = await feeds.items_known(session, state.id) if state else 0
            found.append(FeedStatus(feed.label, state, count))
        return Overview(found, await fanouts.progress(session))

    async def preview(
        self, session: AsyncSession, url: str, t: Catalogue, room_id: str, now: datetime
    ) -> Preview:
        """Fetch and read ``url`` now (network first: ``session`` holds no connection yet), then
        say what a poll at ``now`` would do; raises a ``FeedError`` when it cannot be read."""
        settings = settings_for(self.config, url)
        items = await fetch_items(url, settings, self.fetcher)
        known = await stored_known(session, url)
        lines = verdicts(items, settings.policy, known, first_poll=False, now=now)
        return Preview(lines, self._messages(lines, t, room_id, url))

    def _messages(
        self, lines: list[PreviewLine], t: Catalogue, room_id: str, url: str
    ) -> list[str]:
        """The texts of the first announcements the poll would send."""
        chosen = [line for line in lines if line.verdict == ItemStatus.ANNOUNCED]
        announcer = Announcer(self.config.announcements, t, self.config.tz)
        return [
            announcer.announcement(as_record(line.item), room_id, feed=url).text
            for line in chosen[:MAX_PREVIEW_MESSAGES]
        ]

    async def why(self, session: AsyncSession, link: str) -> list[Explained]:
        """Every stored item whose identity is ``link`` as any configured feed spells it, or
        whose link it is, with where it was delivered."""
        rules = [settings_for(self.config, feed.url).rules for feed in self.config.feeds]
        identities = {link} | {canonical_url(link, feed_rules) for feed_rules in rules}
        matches = await deliveries.items_matching(session, sorted(identities), link)
        labels = {feed.url: feed.label for feed in self.config.feeds}
        return [
            Explained(
                record, labels.get(url, url), await deliveries.deliveries_of(session, record.id)
            )
            for record, url in matches
        ]
