"""What one poll does with a batch: new, edited, announced now, held, old, filtered — no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.feeds.eventtime import EventTime
from bot.feeds.filters import Hold, ItemFilter
from bot.feeds.normalise import FeedItem, ItemKind

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_INSTANT = timedelta(microseconds=1)


class ItemStatus(StrEnum):
    """What the bot did with an item when it first saw it (or since)."""

    ANNOUNCED = "announced"
    RECORDED_SILENTLY = "recorded_silently"  # the feed's first poll
    HELD_BY_BREAKER = "held_by_breaker"
    FILTERED = "filtered"  # held by the feed's filter (its kinds, categories or title words)
    DEFERRED = "deferred"  # over the per-poll cap: announced by a later poll
    # First seen but clearly old (Quarto's 20-item window brings old items back):
    PAST_EVENT = "past_event"  # an event whose last day was before the day it appeared
    OLDER_THAN_NEWEST = "older_than_newest"  # dated before the newest known item of its kind
    TOO_OLD = "too_old"  # dated more than max_age_days before the day it appeared


OLD = frozenset({ItemStatus.PAST_EVENT, ItemStatus.OLDER_THAN_NEWEST, ItemStatus.TOO_OLD})


@dataclass(frozen=True)
class PollPolicy:
    """One feed's announcing rules."""

    filter: ItemFilter = field(default_factory=ItemFilter)
    announce_latest: int = 0
    max_per_poll: int = 5
    flood_share: float = 0.5
    flood_min_items: int = 5
    max_age_days: int | None = 14  # None: no age limit
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))  # where days turn


class Dated(Protocol):
    """What the age rules read of an item (a new ``FeedItem`` or a stored record)."""

    @property
    def kind(self) -> str: ...

    @property
    def published(self) -> datetime | None: ...

    @property
    def event(self) -> EventTime | None: ...


class Waiting(Dated, Protocol):
    """An item held back earlier for a later poll, as stored."""

    @property
    def identity(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def categories(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Known:
    """What the plan needs of a stored item: dedupe and edits, and how recent the feed is."""

    identity: str
    fingerprint: str
    kind: str
    published: datetime | None


@dataclass(frozen=True)
class Plan:
    """A poll's decisions.

    ``new`` maps each unseen identity to its item and the status it is stored with;
    ``announce`` lists, oldest first, the identities (new or deferred earlier) announced now;
    ``waiting`` counts those left for later polls by the cap; ``holds`` says, for each new item
    the feed's filter held, which rule did.
    """

    new: dict[str, tuple[FeedItem, ItemStatus]]
    edited: list[FeedItem]
    announce: list[str]
    flood: bool
    batch: int
    waiting: int = 0
    holds: dict[str, Hold] = field(default_factory=dict)

    @property
    def held(self) -> int:
        return sum(status is ItemStatus.HELD_BY_BREAKER for _, status in self.new.values())

    @property
    def old(self) -> int:
        """New items recorded silently because they were clearly old."""
        return sum(status in OLD for _, status in self.new.values())


def unique(items: Sequence[FeedItem]) -> list[FeedItem]:
    """The batch without repeated identities (the first occurrence wins)."""
    return list({item.identity: item for item in reversed(items)}.values())[::-1]


def oldest_first(items: Sequence[FeedItem]) -> list[FeedItem]:
    """Items by publication time; feed order (newest first) breaks ties and missing dates."""
    ranked = list(enumerate(items))
    ranked.sort(key=lambda pair: (pair[1].published or _EPOCH, -pair[0]))
    return [item for _, item in ranked]


def is_flood(new: int, batch: int, policy: PollPolicy) -> bool:
    """More than the configured share of the batch looks new, and at least ``flood_min_items``
    items (never a single one): a small feed with two genuinely new items is no flood."""
    return new >= max(2, policy.flood_min_items) and new > policy.flood_share * batch


def plan_poll(
    items: Sequence[FeedItem],
    known: Mapping[str, Known],
    deferred: Sequence[str],
    *,
    first_poll: bool,
    policy: PollPolicy,
    now: datetime,
    slots: int | None = None,
) -> Plan:
    """Decide a poll made at ``now``; ``deferred`` are earlier identities still waiting."""
    batch = unique(items)
    fresh = [item for item in batch if item.identity not in known]
    edited = [
        i for i in batch if i.identity in known and known[i.identity].fingerprint != i.fingerprint
    ]
    flood = not first_poll and is_flood(len(fresh), len(batch), policy)
    old = stale(fresh, known.values(), policy, now)
    holds = {i.identity: hold for i in fresh if (hold := policy.filter.held(i)) is not None}
    current = [item for item in fresh if item.identity not in old and item.identity not in holds]
    chosen = _candidates(current, policy, first_poll=first_poll, flood=flood)
    queue = [*deferred, *(item.identity for item in oldest_first(chosen))]
    cap = policy.max_per_poll if slots is None else min(slots, policy.max_per_poll)
    announce = queue[:cap]
    statuses = {
        item.identity: _status(item.identity in holds, first_poll, flood, old.get(item.identity))
        for item in fresh
    }
    for item in chosen:
        due = item.identity in announce
        statuses[item.identity] = ItemStatus.ANNOUNCED if due else ItemStatus.DEFERRED
    new = {item.identity: (item, statuses[item.identity]) for item in fresh}
    return Plan(new, edited, announce, flood, len(batch), len(queue) - len(announce), holds)


def stale(
    items: Sequence[FeedItem], known: Iterable[Known], policy: PollPolicy, now: datetime
) -> dict[str, ItemStatus]:
    """The items, seen for the first time at ``now``, that are clearly old, with the reason."""
    today = now.astimezone(policy.tz).date()
    newest = newest_known(known, policy.tz, today)
    reasons = {item.identity: age_reason(item, newest, today, policy) for item in items}
    return {identity: reason for identity, reason in reasons.items() if reason is not None}


def newest_known(known: Iterable[Known], tz: ZoneInfo, today: date) -> dict[str, date]:
    """Per kind, the day of the newest known item; events (dated ahead) and the future aside."""
    newest: dict[str, date] = {}
    for entry in known:
        if entry.published is None or entry.kind == ItemKind.EVENT:
            continue
        day = min(_day(entry.published, tz), today)  # a mistyped year must not silence the feed
        newest[entry.kind] = max(day, newest.get(entry.kind, day))
    return newest


def age_reason(
    item: FeedItem, newest: Mapping[str, date], today: date, policy: PollPolicy
) -> ItemStatus | None:
    """Why an item first seen ``today`` is clearly old, or None when it may well be new.

    An event is old once its last day is over (the same day still counts, whatever its date
    of publication: the hub publishes events ahead). Anything else is old when dated before the
    newest known item of its kind, or more than ``max_age_days`` ago; undated items never are."""
    if item.kind != ItemKind.EVENT and item.published is not None:
        day = _day(item.published, policy.tz)
        if day < newest.get(item.kind, day):
            return ItemStatus.OLDER_THAN_NEWEST
    return expired(item, today, policy)


def expired(item: Dated, today: date, policy: PollPolicy) -> ItemStatus | None:
    """Why an item is too old to announce ``today`` whenever it was first seen: an event over,
    anything else dated more than ``max_age_days`` ago. Checked again when an item held back
    by the per-poll cap (or waiting for a room) gets its turn."""
    if item.kind == ItemKind.EVENT:
        last = _last_day(item, policy.tz)
        return ItemStatus.PAST_EVENT if last is not None and last < today else None
    if item.published is None:
        return None
    limit, day = policy.max_age_days, _day(item.published, policy.tz)
    return ItemStatus.TOO_OLD if limit is not None and (today - day).days > limit else None


def overdue(
    waiting: Iterable[Waiting], policy: PollPolicy, now: datetime
) -> dict[str, tuple[ItemStatus, Hold | None]]:
    """The items waiting for their turn that must not be announced any more, when it comes at
    ``now``: held by the feed's filter as it is now, or too old (an event over meanwhile)."""
    today = now.astimezone(policy.tz).date()
    found: dict[str, tuple[ItemStatus, Hold | None]] = {}
    for item in waiting:
        hold = policy.filter.held(item)
        reason = ItemStatus.FILTERED if hold is not None else expired(item, today, policy)
        if reason is not None:
            found[item.identity] = (reason, hold)
    return found


def _last_day(item: Dated, tz: ZoneInfo) -> date | None:
    """The event's last day where it happens (its end is exclusive when it spans whole days)."""
    event = item.event
    if event is None:
        return None if item.published is None else _day(item.published, tz)
    if event.all_day and event.end is not None:
        return _day(event.end - _INSTANT, tz)
    return _day(event.end or event.start, tz)


def _day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _candidates(
    wanted: list[FeedItem], policy: PollPolicy, *, first_poll: bool, flood: bool
) -> list[FeedItem]:
    """The new items to announce: all wanted ones, or the newest few on a first poll or flood."""
    if not (first_poll or flood):
        return wanted
    count = policy.announce_latest if first_poll else 1
    return oldest_first(wanted)[-count:] if count else []


def _status(held: bool, first_poll: bool, flood: bool, old: ItemStatus | None) -> ItemStatus:
    """The status of a new item not announced; ``old`` is why it is clearly old, if it is."""
    if held:
        return ItemStatus.FILTERED
    if first_poll:
        return ItemStatus.RECORDED_SILENTLY
    if old is not None:
        return old
    return ItemStatus.HELD_BY_BREAKER if flood else ItemStatus.ANNOUNCED
