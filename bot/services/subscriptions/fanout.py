"""Each new newsletter to every subscriber who chose DM delivery: queued in the announcement's
unit of work (one bulk outbox row each, deduplicated), then watched until every row is settled.

The outbox makes it resumable: a crash before the commit queues nothing and the next poll sees
the newsletter as new again; after the commit, every row is sent exactly once, paced. Refused
rows mark their subscriber unreachable, so no later newsletter tries that DM again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.i18n import Catalogue
from bot.messages import Audience, Mentions, Message, Postbox
from bot.services.announcements import Announcer
from bot.storage import subscriptions as store
from bot.storage import subscriptions_fanout as fanouts
from bot.storage.db import Database
from bot.storage.feeds import ItemRecord
from bot.storage.subscriptions import Subscriber
from bot.storage.subscriptions_fanout import Progress
from bot.supervise import pause

log = logging.getLogger(__name__)


class Reachability(Protocol):
    """Whether a DM still reaches its member, from what the Matrix layer knows (no network)."""

    def reachable(self, room_id: str, user_id: str) -> bool: ...


def dedupe_key(item_id: int, subscriber_id: int) -> str:
    """The outbox key of one newsletter to one subscriber: queued once, whatever happens."""
    return f"newsletter-dm:{item_id}:{subscriber_id}"


class NewsletterDelivery:
    """Queues a newsletter's announcement in the DM of every subscriber who chose it."""

    def __init__(self, postbox: Postbox, direct: Reachability, announcer: Announcer) -> None:
        self.postbox = postbox
        self.direct = direct
        self.announcer = announcer

    async def fan_out(
        self, session: AsyncSession, item: ItemRecord, feed: str, now: datetime
    ) -> None:
        """In the caller's unit of work: one bulk outbox row per reachable subscriber."""
        if not await fanouts.start(session, item.id, item.title, now):
            return
        recipients = await store.dm_recipients(session)
        reachable = [s for s in recipients if self._reaches(s)]
        gone = [s.id for s in recipients if not self._reaches(s)]
        await store.mark_unreachable(session, gone, now)
        messages = [(self._message(item, feed, s), dedupe_key(item.id, s.id)) for s in reachable]
        ids = await self.postbox.post_many(session, messages, bulk=True)
        sends = [(s.id, ids[dedupe_key(item.id, s.id)]) for s in reachable]
        await fanouts.record(session, item.id, sends, len(gone))
        log.info("newsletter %d: queued by DM for %d subscriber(s), %d unreachable",
                 item.id, len(sends), len(gone))  # fmt: skip

    def _reaches(self, subscriber: Subscriber) -> bool:
        assert subscriber.dm_room_id is not None and subscriber.user_id is not None
        return self.direct.reachable(subscriber.dm_room_id, subscriber.user_id)

    def _message(self, item: ItemRecord, feed: str, subscriber: Subscriber) -> Message:
        """The announcement, private to the subscriber: it goes only to their true DM."""
        assert subscriber.dm_room_id is not None
        message = self.announcer.announcement(item, subscriber.dm_room_id, feed=feed)
        return replace(message, private_for=subscriber.user_id)


class FanoutMonitor:
    """Logs each fan-out's progress, marks refused subscribers, reports the end to organisers."""

    def __init__(
        self,
        db: Database,
        postbox: Postbox,
        clock: Clock,
        t: Catalogue,
        *,
        audience: Audience,
        interval: float,
        prefix: str = "!",
    ) -> None:
        self.db = db
        self.postbox = postbox
        self.clock = clock
        self.t = t
        self.audience = audience
        self.interval = interval
        self.prefix = prefix

    async def run(self, stop: asyncio.Event) -> None:
        """Check every ``interval`` seconds until ``stop``; a failing check is logged, not fatal."""
        while not await pause(stop, self.interval):
            try:
                await self.check()
            except Exception:
                log.exception("newsletter fan-out check failed")

    async def check(self) -> list[Progress]:
        """One round: act on refused DMs, log running fan-outs, close and report finished ones."""
        now = self.clock.now()
        async with self.db.session() as session:
            await self._failures(session, now)
            running = await fanouts.progress(session, unfinished=True)
            for progress in running:
                await self._follow(session, progress, now)
        return running

    async def _failures(self, session: AsyncSession, now: datetime) -> None:
        failures = await fanouts.new_failures(session)
        if not failures:
            return
        ids = sorted({f.subscriber_id for f in failures if f.subscriber_id is not None})
        await store.mark_unreachable(session, ids, now)
        await fanouts.mark_seen(session, failures)
        log.warning("newsletter by DM refused for subscriber(s) %s: marked unreachable",
                    ", ".join(map(str, ids)) or "(erased)")  # fmt: skip

    async def _follow(self, session: AsyncSession, progress: Progress, now: datetime) -> None:
        log.info("newsletter %d by DM: %d/%d sent, %d failed, %d pending, %d unreachable",
                 progress.item_id, progress.sent, progress.queued, progress.failed,
                 progress.pending, progress.unreachable)  # fmt: skip
        if progress.pending:
            return
        await fanouts.finish(session, progress.item_id, now)
        log.info("newsletter %d by DM: finished", progress.item_id)
        if progress.failed or progress.unreachable:
            await self._report(session, progress)

    async def _report(self, session: AsyncSession, progress: Progress) -> None:
        """Tell the organisers how many could not be reached (counts only, never who)."""
        text = self.t(
            "subscriptions.fanout_report", title=progress.title, sent=progress.sent,
            failed=progress.failed, unreachable=progress.unreachable, prefix=self.prefix,
        )  # fmt: skip
        for room_id in self.audience.organisers:
            message = Message(room_id, text, mentions=Mentions())
            key = f"newsletter-dm-report:{progress.item_id}:{room_id}"
            await self.postbox.post(session, message, dedupe_key=key)


def progress_lines(latest: Sequence[Progress], t: Catalogue) -> list[str]:
    """The latest newsletters sent by DM and where each stands, for ``!flux``."""
    if not latest:
        return []
    lines = [t("subscriptions.fanout_header")]
    for p in latest:
        state = t("subscriptions.fanout_running" if p.pending else "subscriptions.fanout_done")
        lines.append(
            t(
                "subscriptions.fanout_line", title=p.title, sent=p.sent, queued=p.queued,
                failed=p.failed, pending=p.pending, unreachable=p.unreachable, state=state,
            )
        )  # fmt: skip
    return lines
