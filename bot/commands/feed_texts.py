"""The feeds in words, for the organisers' answers: each feed's state, rooms, filters,
templates and changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.feeds.filters import FilterRules, ItemFilter
from bot.i18n import Catalogue
from bot.services.dates import Dates
from bot.services.feeds import FeedStatus
from bot.storage.feed_setup import CONFIG, FeedChange, FeedSetup

TEMPLATE_KINDS = ("newsletter", "newsletter_unnumbered", "event", "post", "project", "other")
_LISTS = (
    ("categories", "feeds.filters.categories"),
    ("without_categories", "feeds.filters.without_categories"),
    ("words", "feeds.filters.words"),
    ("without_words", "feeds.filters.without_words"),
)


def named(feed: FeedSetup) -> dict[str, Any]:
    """A feed's number and name, as the catalogue's answers about one feed take them."""
    return {"number": feed.id, "feed": feed.label}


def state_text(t: Catalogue, dates: Dates, feed: FeedSetup) -> str:
    """Active or paused (since when, by whom), and where the feed comes from."""
    if feed.paused_at is not None:
        state = t("feeds.state.paused", when=dates.moment(feed.paused_at), who=feed.paused_by)
    else:
        state = t("feeds.state.active")
    if feed.origin == CONFIG:
        return t("feeds.origin.config", state=state)
    added = dates.moment(feed.added_at)
    return t("feeds.origin.command", state=state, who=feed.added_by or "?", when=added)


def rooms_text(t: Catalogue, rooms: Sequence[str] | None) -> str:
    """The feed's rooms; the hub's, by default."""
    return t("feeds.rooms.hub") if rooms is None else ", ".join(rooms)


def quoted(t: Catalogue, values: Sequence[str]) -> str:
    """Values each in quotes, separated by commas."""
    return ", ".join(t("feeds.quoted", value=value) for value in values)


def kinds_text(t: Catalogue, kinds: frozenset[str]) -> str:
    """The kinds announced, in their words, in a fixed order."""
    order = ("newsletter", "event", "post", "project", "other")
    return ", ".join(t(f"kinds.{kind}") for kind in order if kind in kinds)


def filters_text(t: Catalogue, item_filter: ItemFilter) -> str:
    """The kinds announced, then each list of categories and words, in one line."""
    parts = [t("feeds.filters.kinds", kinds=kinds_text(t, frozenset(item_filter.kinds)))]
    rules: FilterRules = item_filter.rules
    for name, key in _LISTS:
        values: tuple[str, ...] = getattr(rules, name)
        if values:
            parts.append(t(key, values=quoted(t, values)))
    return " · ".join(parts)


def templates_lines(t: Catalogue, templates: Mapping[str, str]) -> list[str]:
    """One line per kind with a template of the feed's own."""
    return [
        t("feeds.templates.line", kind=t(f"feeds.template_kinds.{kind}"), template=templates[kind])
        for kind in TEMPLATE_KINDS
        if kind in templates
    ]


def poll_lines(t: Catalogue, dates: Dates, status: FeedStatus) -> list[str]:
    """When the feed was polled, and its last error when it has one."""
    state = status.state
    line = t(
        "feeds.line",
        last_poll=dates.moment(state.last_poll_at),
        last_success=dates.moment(state.last_success_at),
        next_poll=dates.moment(state.next_poll_at if status.feed.active else None),
        items=status.items,
    )
    if state.last_error_kind is None:
        return [line]
    failures = state.consecutive_failures
    error = t("feeds.error", kind=state.last_error_kind, failures=failures, error=state.last_error)
    return [line, error]


def feed_lines(t: Catalogue, dates: Dates, status: FeedStatus) -> list[str]:
    """One feed as ``!flux`` lists it."""
    feed = status.feed
    header = t("feeds.header_line", **named(feed), state=state_text(t, dates, feed))
    filters = filters_text(t, status.settings.policy.filter)
    setup = t("feeds.setup_line", rooms=rooms_text(t, feed.rooms), filters=filters)
    return [header, setup, *poll_lines(t, dates, status)]


def change_line(t: Catalogue, dates: Dates, change: FeedChange) -> str:
    """One change of a feed's history."""
    who = t("feeds.change.config") if change.actor == CONFIG else change.actor
    what = t(f"feeds.change.{change.action}", **_change_values(t, change.detail))
    return t("feeds.change.line", when=dates.moment(change.at), who=who, what=what)


def _change_values(t: Catalogue, detail: Mapping[str, Any]) -> dict[str, Any]:
    """A change's details as its sentence takes them."""
    values = {key: value for key, value in detail.items() if value is not None}
    if "rooms" in detail:
        values["rooms"] = rooms_text(t, detail["rooms"])
    if "filters" in detail:
        rules = FilterRules.from_data(detail["filters"])
        values["filters"] = t("feeds.filters.none") if rules.empty else _rules_text(t, rules)
    if "kind" in detail:
        values["kind"] = t(f"feeds.template_kinds.{detail['kind']}")
    return {"name": "", "template": "", **values}


def _rules_text(t: Catalogue, rules: FilterRules) -> str:
    """Rules alone (the kinds only when they were set), for the history."""
    parts = []
    if rules.kinds is not None:
        parts.append(t("feeds.filters.kinds", kinds=kinds_text(t, frozenset(rules.kinds))))
    parts += [
        t(key, values=quoted(t, getattr(rules, name)))
        for name, key in _LISTS
        if getattr(rules, name)
    ]
    return " · ".join(parts)
