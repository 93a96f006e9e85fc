"""A feed's announcing rules come from its configuration section: age limit and flood floor."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.config import Config, parse_config
from bot.errors import ConfigError
from bot.feeds.settings import FeedSettings

PARIS = ZoneInfo("Europe/Paris")
HEAD = """\
matrix: {homeserver: "http://127.0.0.1:8008", user_id: "@bot:localhost", password: pw}
rooms: ["!hub:localhost"]
feeds:
"""


def parse(feeds: str) -> Config:
    return parse_config(HEAD + feeds, source="bot.yaml", environ={})


def test_defaults_are_fourteen_days_and_five_items() -> None:
    """A feed that says nothing is limited to items of the last 14 days and a floor of 5."""
    (feed,) = parse("  - url: https://ssphub.netlify.app/event.xml\n").feeds
    policy = FeedSettings.from_config(feed, PARIS).policy
    assert (policy.max_age_days, policy.flood_min_items, policy.tz) == (14, 5, PARIS)


def test_each_feed_sets_its_own_age_limit_and_floor() -> None:
    """One feed lifts the age limit with null, another sets 30 days and a floor of 3."""
    config = parse(
        "  - {url: https://a.example/feed.xml, max_age_days: null}\n"
        "  - {url: https://b.example/feed.xml, max_age_days: 30, flood_min_items: 3}\n"
    )
    policies = [FeedSettings.from_config(feed, PARIS).policy for feed in config.feeds]
    assert [(p.max_age_days, p.flood_min_items) for p in policies] == [(None, 5), (30, 3)]


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("max_age_days: 0", "feeds[0].max_age_days: must be at least 1"),
        ("flood_min_items: 1", "feeds[0].flood_min_items: must be at least 2"),
        ("max_age_days: deux", "feeds[0].max_age_days: "),
    ],
)
def test_bad_values_are_refused_with_their_key(setting: str, problem: str) -> None:
    """An age limit below one day or a floor below two items is refused, naming the key."""
    with pytest.raises(ConfigError) as caught:
        parse(f"  - {{url: https://a.example/feed.xml, {setting}}}\n")
    assert any(line.startswith(f"bot.yaml: {problem}") for line in caught.value.problems)
