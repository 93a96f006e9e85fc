"""One feed's settings as the watcher uses them: how to read it (from its configuration section,
or the defaults for a feed added by command), and what organisers set on it (name, rooms,
filters, templates), taken from the database at every poll."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from bot.config import Config, FeedConfig
from bot.config.schema import ItemKindName
from bot.feeds.filters import ItemFilter
from bot.feeds.normalise import HUB_KIND_RULES, ItemKind, KindRule, NormaliseRules
from bot.feeds.plan import PollPolicy
from bot.messages import Audience
from bot.storage.feed_setup import FeedSetup

# A feed an organiser adds announces every kind of item until a filter says otherwise.
ADDED_FEED_KINDS: tuple[ItemKindName, ...] = ("newsletter", "event", "post", "project", "other")


@dataclass(frozen=True)
class FeedSettings:
    """One feed's settings, as the watcher uses them; ``rooms`` None means the hub's rooms."""

    url: str
    label: str
    interval: float
    rules: NormaliseRules
    policy: PollPolicy
    rooms: tuple[str, ...] | None = None
    templates: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, feed: FeedConfig, tz: ZoneInfo, summary_chars: int = 300) -> FeedSettings:
        """Settings from the feed's configuration section."""
        kinds: tuple[KindRule, ...] = HUB_KIND_RULES
        if feed.kinds is not None:
            kinds = tuple(KindRule(rule.path, ItemKind(rule.kind)) for rule in feed.kinds)
        rules = NormaliseRules(
            base_urls=feed.base_urls,
            kind_rules=kinds,
            tz=tz,
            summary_chars=summary_chars,
            default_kind=ItemKind(feed.default_kind),
        )
        policy = PollPolicy(
            filter=ItemFilter(frozenset(ItemKind(kind) for kind in feed.announce)),
            announce_latest=feed.announce_latest,
            max_per_poll=feed.max_per_poll,
            flood_share=feed.flood_share,
            flood_min_items=feed.flood_min_items,
            max_age_days=feed.max_age_days,
            tz=tz,
        )
        return cls(feed.url, feed.label, float(feed.interval), rules, policy)

    def managed(self, setup: FeedSetup) -> FeedSettings:
        """These settings with what organisers set on the feed: its name, rooms, filters and
        templates (the kinds announced stay these settings' own unless a filter names some)."""
        own = self.policy.filter.kinds
        policy = replace(self.policy, filter=ItemFilter.of(own, setup.filters))
        label = setup.name or self.label
        return replace(
            self, label=label, policy=policy, rooms=setup.rooms, templates=setup.templates
        )


def feed_section(configured: Sequence[FeedConfig], url: str) -> FeedConfig:
    """The configuration's section for ``url``, or the defaults of a feed added by command."""
    for feed in configured:
        if feed.url == url:
            return feed
    return FeedConfig(url=url, announce=ADDED_FEED_KINDS)


def settings_of(config: Config, setup: FeedSetup) -> FeedSettings:
    """The settings a poll of ``setup`` uses now."""
    section = feed_section(config.feeds, setup.url)
    summary = config.announcements.summary_chars
    return FeedSettings.from_config(section, config.tz, summary).managed(setup)


@dataclass(frozen=True)
class FeedAudience:
    """Where one feed's announcements go: its own rooms when organisers chose some, else the
    hub's; trouble is still told to the organisers."""

    hub: Audience
    own: tuple[str, ...] | None

    @property
    def rooms(self) -> Sequence[str]:
        return self.own if self.own is not None else self.hub.rooms

    @property
    def organisers(self) -> Sequence[str]:
        return self.hub.organisers

    @property
    def shared(self) -> Sequence[str]:
        return [*self.hub.shared, *(room for room in self.own or () if room not in self.hub.shared)]
