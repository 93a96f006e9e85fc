"""One feed's settings as the watcher uses them, made from its configuration section."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.config import FeedConfig
from bot.feeds.normalise import HUB_KIND_RULES, ItemKind, KindRule, NormaliseRules
from bot.feeds.plan import PollPolicy


@dataclass(frozen=True)
class FeedSettings:
    """One feed's settings, as the watcher uses them."""

    url: str
    label: str
    interval: float
    rules: NormaliseRules
    policy: PollPolicy

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
            announce=frozenset(ItemKind(kind) for kind in feed.announce),
            announce_latest=feed.announce_latest,
            max_per_poll=feed.max_per_poll,
            flood_share=feed.flood_share,
            flood_min_items=feed.flood_min_items,
            max_age_days=feed.max_age_days,
            tz=tz,
        )
        return cls(feed.url, feed.label, float(feed.interval), rules, policy)
