"""One poll's unit of work: store what was seen, queue announcements and edits, prune.

Everything here runs in the caller's session: an item is marked announced in the same
transaction as the outbox rows and delivery records of its announcement, so a crash before the
commit leaves nothing behind and the next poll sees the item as new again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.feeds.normalise import FeedItem
from bot.feeds.plan import ItemStatus, Known, Plan, PollPolicy, overdue, plan_poll, unique
from bot.messages import Audience, Postbox
from bot.services.announcements import Announcer
from bot.storage import deliveries, feed_items, feeds
from bot.storage.deliveries import DeliveryView
from bot.storage.feeds import FeedState, IndexEntry, ItemRecord

log = logging.getLogger(__name__)

MIN_KEEP = 50  # items kept per feed for dedupe, at least; more when the feed is larger


@dataclass
class PollReport:
    """What one poll did, for the logs, the tests and the organisers."""

    url: str
    outcome: str  # fetched · not_modified · unchanged · failed
    poll: int = 0
    batch: int = 0
    new: int = 0
    edited: int = 0
    held: int = 0
    old: int = 0
    flood: bool = False
    announced: list[int] = field(default_factory=list)
    deferred_left: int = 0
    edits_queued: int = 0
    edits_owed: bool = False
    pruned: int = 0
    error_kind: str | None = None
    next_delay: float = 0.0


@dataclass(frozen=True)
class PollContext:
    """The fixed facts of one poll."""

    feed: FeedState
    poll: int
    now: datetime
    label: str
    policy: PollPolicy
    audience: Audience
    check_deferred: bool = True  # an unchanged feed may still owe capped announcements
    check_edits: bool = True  # some announcement may still owe an edit
    index: Sequence[IndexEntry] | None = None  # the stored items, when already loaded
    templates: Mapping[str, str] = field(default_factory=dict)  # the feed's own, by kind


class NewsletterFanOut(Protocol):
    """Who else gets a newsletter once it is announced (subscribers, by DM), same unit of work."""

    async def fan_out(
        self, session: AsyncSession, item: ItemRecord, feed: str, now: datetime
    ) -> None: ...


def as_known(index: Iterable[IndexEntry]) -> dict[str, Known]:
    """The stored items as the planner reads them, by identity."""
    return {e.identity: Known(e.identity, e.fingerprint, e.kind, e.published) for e in index}


class PollRecorder:
    """Applies a poll's batch to storage and the outbox."""

    def __init__(
        self,
        postbox: Postbox,
        announcer: Announcer,
        *,
        date_notice: bool,
        newsletter: NewsletterFanOut | None = None,
    ) -> None:
        self.postbox = postbox
        self.announcer = announcer
        self.date_notice = date_notice
        self.newsletter = newsletter

    async def record(
        self,
        session: AsyncSession,
        ctx: PollContext,
        items: Sequence[FeedItem] | None,
        report: PollReport,
    ) -> None:
        """Apply ``items`` (None when the feed did not change) and fill in ``report``."""
        if items is not None:
            await self._batch(session, ctx, items, report)
        elif ctx.check_deferred:
            await self._announce_deferred(session, ctx, report)
        if ctx.check_edits or report.edited:
            await self._edits(session, ctx, report)

    async def _batch(
        self, session: AsyncSession, ctx: PollContext, items: Sequence[FeedItem], report: PollReport
    ) -> None:
        batch = unique(items)
        index = ctx.index if ctx.index is not None else await feeds.feed_index(session, ctx.feed.id)
        known = {entry.identity: entry for entry in index}
        waiting = []
        if any(entry.status == ItemStatus.DEFERRED for entry in index):
            waiting = await self._still_due(session, ctx)
        plan = plan_poll(
            batch,
            as_known(index),
            [record.identity for record in waiting],
            first_poll=not ctx.feed.first_poll_done,
            policy=ctx.policy,
            now=ctx.now,
            slots=None if ctx.audience.rooms else 0,
        )
        for item in plan.edited:
            await feed_items.update_item(session, known[item.identity].id, item, ctx.now)
        holds = {identity: hold.code for identity, hold in plan.holds.items()}
        added = await feed_items.add_items(
            session, ctx.feed.id, list(plan.new.values()), now=ctx.now, poll=ctx.poll, holds=holds
        )
        report.announced = await self._announce(session, ctx, plan.announce, [*added, *waiting])
        if plan.flood:
            await self._flood_notice(session, ctx, plan, added)
        if added:
            report.pruned = await self._prune(session, ctx, batch, index, added)
        _fill(report, plan)

    async def _prune(
        self,
        session: AsyncSession,
        ctx: PollContext,
        batch: Sequence[FeedItem],
        index: Sequence[IndexEntry],
        added: Sequence[ItemRecord],
    ) -> int:
        """Keep at least twice the largest batch seen; the items of this batch always stay.

        Only a poll that adds items can overflow the window, and only then does recency matter:
        such a poll marks the known items it saw and forgets the least recently seen ones."""
        keep = max(MIN_KEEP, 2 * max(ctx.feed.largest_size_seen, len(batch)))
        if len(index) + len(added) <= keep:
            return 0
        present = {item.identity for item in batch}
        seen = [replace(e, last_seen_poll=ctx.poll) for e in index if e.identity in present]
        await feed_items.touch(session, [entry.id for entry in seen], ctx.poll)
        entries = [e for e in index if e.identity not in present] + seen
        entries += [
            IndexEntry(r.id, r.identity, r.fingerprint, r.status, ctx.poll, r.kind, r.published)
            for r in added
        ]
        doomed = feeds.beyond_window(entries, keep)
        await feed_items.delete_items(session, doomed)
        return len(doomed)

    async def _announce_deferred(
        self, session: AsyncSession, ctx: PollContext, report: PollReport
    ) -> None:
        """An unchanged feed may still owe announcements held back by the per-poll cap."""
        if not ctx.audience.rooms:
            return
        waiting = await self._still_due(session, ctx)
        due = [record.identity for record in waiting[: ctx.policy.max_per_poll]]
        report.announced = await self._announce(session, ctx, due, waiting)
        report.deferred_left = len(waiting) - len(due)

    async def _still_due(self, session: AsyncSession, ctx: PollContext) -> list[ItemRecord]:
        """The items waiting for their turn that may still be announced; the others (an event
        over meanwhile, or held by the feed's filter as it is now) get their final status."""
        waiting = await feeds.deferred_items(session, ctx.feed.id)
        dropped = overdue(waiting, ctx.policy, ctx.now)
        for record in waiting:
            if record.identity in dropped:
                status, hold = dropped[record.identity]
                code = hold.code if hold is not None else None
                await feed_items.set_status(session, [record.id], status, held_by=code)
        if dropped:
            log.info("feed %s: %d waiting item(s) no longer announced", ctx.feed.id, len(dropped))
        return [record for record in waiting if record.identity not in dropped]

    async def _announce(
        self,
        session: AsyncSession,
        ctx: PollContext,
        identities: Sequence[str],
        candidates: Sequence[ItemRecord],
    ) -> list[int]:
        """Queue each item's announcement to every room, with its delivery record; the ids."""
        if not identities:
            return []
        records = {record.identity: record for record in candidates}
        chosen = [records[identity] for identity in identities]
        for record in chosen:
            await self._announce_one(session, ctx, record)
        earlier = [record.id for record in chosen if record.status == ItemStatus.DEFERRED]
        await feed_items.set_status(session, earlier, ItemStatus.ANNOUNCED)
        return [record.id for record in chosen]

    async def _announce_one(
        self, session: AsyncSession, ctx: PollContext, item: ItemRecord
    ) -> None:
        outbox_ids = {}
        for room_id in ctx.audience.rooms:
            message = self.announcer.announcement(
                item, room_id, feed=ctx.label, templates=ctx.templates
            )
            key = f"announce:{item.id}:{room_id}"
            outbox_ids[room_id] = await self.postbox.post(session, message, dedupe_key=key)
        await deliveries.add_deliveries(session, item, outbox_ids, ctx.now)
        log.info("feed %s: item %d announced to %d room(s)", ctx.feed.id, item.id, len(outbox_ids))
        if self.newsletter is not None and item.kind == "newsletter":
            await self.newsletter.fan_out(session, item, ctx.label, ctx.now)

    async def _flood_notice(
        self, session: AsyncSession, ctx: PollContext, plan: Plan, added: Sequence[ItemRecord]
    ) -> None:
        """Tell the organisers, once for this poll, that the feed looked all new."""
        newest = next((r.title for r in added if r.identity in plan.announce), None)
        log.warning(
            "feed %s: %d of %d items look new at once; held by the flood breaker",
            ctx.feed.id,
            len(plan.new),
            plan.batch,
        )
        for room_id in ctx.audience.organisers:
            message = self.announcer.flood_notice(
                room_id, feed=ctx.label, new=len(plan.new), total=plan.batch, newest=newest
            )
            key = f"flood:{ctx.feed.id}:{ctx.poll}:{room_id}"
            await self.postbox.post(session, message, dedupe_key=key)

    async def _edits(self, session: AsyncSession, ctx: PollContext, report: PollReport) -> None:
        """Edit sent announcements of events whose time changed; note those still unsent."""
        stale = await deliveries.stale_deliveries(session, ctx.feed.id)
        due = [(delivery, item) for delivery, item in stale if delivery.event_id is not None]
        for delivery, item in due:
            await self._edit(session, ctx, delivery, item)
        report.edits_queued = len(due)
        report.edits_owed = len(due) < len(stale)

    async def _edit(
        self, session: AsyncSession, ctx: PollContext, delivery: DeliveryView, item: ItemRecord
    ) -> None:
        """Replace one room's announcement, and (if configured) say the date changed."""
        assert delivery.event_id is not None
        n = delivery.edits + 1
        edit = self.announcer.announcement(
            item, delivery.room_id, feed=ctx.label, replaces=delivery.event_id,
            templates=ctx.templates,
        )  # fmt: skip
        await self.postbox.post(session, edit, dedupe_key=f"edit:{delivery.id}:{n}")
        if self.date_notice:
            notice = self.announcer.date_changed(item, delivery.room_id, delivery.event_id)
            await self.postbox.post(session, notice, dedupe_key=f"date:{delivery.id}:{n}")
        await deliveries.mark_edited(session, delivery.id, feeds.when_key(item.event))
        log.info(
            "feed %s: item %d moved; edit queued for %s", ctx.feed.id, item.id, delivery.room_id
        )


def _fill(report: PollReport, plan: Plan) -> None:
    report.batch = plan.batch
    report.new = len(plan.new)
    report.edited = len(plan.edited)
    report.held = plan.held
    report.old = plan.old
    report.flood = plan.flood
    report.deferred_left = plan.waiting
