"""What one poll does with a batch: new, edited, announced now, held, filtered — no I/O here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bot.feeds.normalise import FeedItem, ItemKind

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


class ItemStatus(StrEnum):
    """What the bot did with an item when it first saw it (or since)."""

    ANNOUNCED = "announced"
    RECORDED_SILENTLY = "recorded_silently"  # the feed's first poll
    HELD_BY_BREAKER = "held_by_breaker"
    FILTERED = "filtered"  # a kind this feed does not announce
    DEFERRED = "deferred"  # over the per-poll cap: announced by a later poll


@dataclass(frozen=True)
class PollPolicy:
    """One feed's announcing rules."""

    announce: frozenset[ItemKind] = frozenset({ItemKind.NEWSLETTER, ItemKind.EVENT})
    announce_latest: int = 0
    max_per_poll: int = 5
    flood_share: float = 0.5


@dataclass(frozen=True)
class Known:
    """What the plan needs of a stored item."""

    identity: str
    fingerprint: str


@dataclass(frozen=True)
class Plan:
    """A poll's decisions.

    ``new`` maps each unseen identity to its item and the status it is stored with;
    ``announce`` lists, oldest first, the identities (new or deferred earlier) announced now;
    ``waiting`` counts those left for later polls by the cap.
    """

    new: dict[str, tuple[FeedItem, ItemStatus]]
    edited: list[FeedItem]
    announce: list[str]
    flood: bool
    batch: int
    waiting: int = 0

    @property
    def held(self) -> int:
        return sum(status is ItemStatus.HELD_BY_BREAKER for _, status in self.new.values())


def unique(items: Sequence[FeedItem]) -> list[FeedItem]:
    """The batch without repeated identities (the first occurrence wins)."""
    return list({item.identity: item for item in reversed(items)}.values())[::-1]


def oldest_first(items: Sequence[FeedItem]) -> list[FeedItem]:
    """Items by publication time; feed order (newest first) breaks ties and missing dates."""
    ranked = list(enumerate(items))
    ranked.sort(key=lambda pair: (pair[1].published or _EPOCH, -pair[0]))
    return [item for _, item in ranked]


def is_flood(new: int, batch: int, policy: PollPolicy) -> bool:
    """More than the configured share of the batch looks new (and more than one item)."""
    return new > 1 and new > policy.flood_share * batch


def plan_poll(
    items: Sequence[FeedItem],
    known: Mapping[str, Known],
    deferred: Sequence[str],
    *,
    first_poll: bool,
    policy: PollPolicy,
    slots: int | None = None,
) -> Plan:
    """Decide a poll; ``deferred`` are earlier identities still waiting for a slot."""
    batch = unique(items)
    fresh = [item for item in batch if item.identity not in known]
    edited = [
        i for i in batch if i.identity in known and known[i.identity].fingerprint != i.fingerprint
    ]
    flood = not first_poll and is_flood(len(fresh), len(batch), policy)
    chosen = _candidates(fresh, policy, first_poll=first_poll, flood=flood)
    queue = [*deferred, *(item.identity for item in oldest_first(chosen))]
    cap = policy.max_per_poll if slots is None else min(slots, policy.max_per_poll)
    announce = queue[:cap]
    statuses = {item.identity: _status(item, policy, first_poll, flood) for item in fresh}
    for item in chosen:
        now = item.identity in announce
        statuses[item.identity] = ItemStatus.ANNOUNCED if now else ItemStatus.DEFERRED
    new = {item.identity: (item, statuses[item.identity]) for item in fresh}
    return Plan(new, edited, announce, flood, len(batch), len(queue) - len(announce))


def _candidates(
    fresh: list[FeedItem], policy: PollPolicy, *, first_poll: bool, flood: bool
) -> list[FeedItem]:
    """The new items to announce: all wanted ones, or the newest few on a first poll or flood."""
    wanted = [item for item in fresh if item.kind in policy.announce]
    if not (first_poll or flood):
        return wanted
    count = policy.announce_latest if first_poll else 1
    return oldest_first(wanted)[-count:] if count else []


def _status(item: FeedItem, policy: PollPolicy, first_poll: bool, flood: bool) -> ItemStatus:
    """The status of a new item not announced."""
    if item.kind not in policy.announce:
        return ItemStatus.FILTERED
    if first_poll:
        return ItemStatus.RECORDED_SILENTLY
    return ItemStatus.HELD_BY_BREAKER if flood else ItemStatus.ANNOUNCED
