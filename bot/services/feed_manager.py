"""What organisers change on the feeds: add one (read, then its current items recorded without
announcement, as on any first poll), remove, pause or resume one, choose its rooms, filters and
templates. Each change is logged and kept with who made it, and wakes the watchers once the
command's unit of work commits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.errors import NotFound, UserError
from bot.feeds.changes import FeedChanges
from bot.feeds.fetch import FetchResult, Validators
from bot.feeds.filters import FilterRules
from bot.feeds.normalise import FeedItem
from bot.feeds.record import PollContext, PollRecorder, PollReport
from bot.feeds.settings import FeedAudience, FeedSettings, feed_section, settings_of
from bot.feeds.watch import Fetcher, parse_batch
from bot.messages import Audience
from bot.services.rooms import MATRIX_TO, RoomDirectory, room_the_bot_is_in
from bot.storage import feed_items, feed_setup, feeds
from bot.storage.db import Database
from bot.storage.feed_setup import COMMAND, CONFIG, FeedSetup


@dataclass(frozen=True)
class Fetched:
    """A feed read before it is added: its items, and the answer's validators."""

    url: str
    items: list[FeedItem]
    result: FetchResult


@dataclass(frozen=True)
class Added:
    """A feed just added (or brought back, ``revived``), and the items recorded silently."""

    feed: FeedSetup
    items: list[FeedItem]
    revived: bool


class FeedManager:
    """Organisers' changes to the feeds followed, in the command's unit of work."""

    def __init__(
        self,
        config: Config,
        db: Database,
        fetcher: Fetcher,
        hub: Audience,
        directory: RoomDirectory,
        recorder: PollRecorder,
        changes: FeedChanges,
    ) -> None:
        self.config = config
        self.db = db
        self.fetcher = fetcher
        self.hub = hub
        self.directory = directory
        self.recorder = recorder
        self.changes = changes

    # --- finding -------------------------------------------------------------------------------

    async def find(self, session: AsyncSession, reference: int | str) -> FeedSetup:
        """The feed followed with this number or URL; ``NotFound`` otherwise."""
        if isinstance(reference, int):
            found = await feed_setup.find(session, number=reference)
        else:
            found = await feed_setup.find(session, url=reference)
        if found is None or found.removed_at is not None:
            raise NotFound("feeds.unknown", feed=reference)
        return found

    async def look_up(self, reference: int | str) -> FeedSetup:
        """``find`` in a short unit of its own, for a command that fetches next (and must not
        hold its own unit of work, hence a connection, across the network)."""
        async with self.db.session() as session:
            return await self.find(session, reference)

    def settings(self, feed: FeedSetup) -> FeedSettings:
        """The settings a poll of ``feed`` uses now."""
        return settings_of(self.config, feed)

    def rooms_of(self, feed: FeedSetup) -> tuple[str, ...]:
        """Where the feed's announcements go now."""
        return tuple(FeedAudience(self.hub, feed.rooms).rooms)

    async def joined_room(self, reference: str) -> str:
        """The id of a room the bot is in (to announce a feed there); a ``UserError`` else."""
        return await room_the_bot_is_in(self.directory, reference)

    async def known_room(self, reference: str) -> str:
        """The id of a room, the bot in it or not (to stop announcing a feed there)."""
        reference = reference.removeprefix(MATRIX_TO)
        room_id = await self.directory.resolve_room(reference)
        if room_id is None:
            raise UserError("rooms.unknown", room=reference)
        return room_id

    # --- adding --------------------------------------------------------------------------------

    async def read(self, url: str) -> Fetched:
        """Fetch and read ``url`` (no database); a ``FeedError`` when it is no readable feed."""
        section = feed_section(self.config.feeds, url)
        summary = self.config.announcements.summary_chars
        rules = FeedSettings.from_config(section, self.config.tz, summary).rules
        result = await self.fetcher.fetch(url, Validators())
        assert result.body is not None  # an unconditional fetch always carries the body
        items = await parse_batch(result.body, url, result.content_type, rules)
        return Fetched(url, items, result)

    async def add(
        self, session: AsyncSession, fetched: Fetched, name: str | None, actor: str, now: datetime
    ) -> Added:
        """Follow the feed read, recording its current items without announcing them."""
        known = await feed_setup.find(session, url=fetched.url)
        if known is not None and known.removed_at is None:
            raise UserError("feeds.already", number=known.id, feed=known.label)
        origin = CONFIG if any(f.url == fetched.url for f in self.config.feeds) else COMMAND
        if known is None:
            feed = await feed_setup.create(
                session, fetched.url, name=name, origin=origin, actor=actor, now=now
            )
        else:
            feed = await self._revive(session, known, name, origin, actor, now)
        await self._record_silently(session, feed, fetched, now)
        await self.changes.record(
            session, feed, actor, "revived" if known else "added", now, name=name
        )
        return Added(feed, fetched.items, known is not None)

    async def _revive(
        self,
        session: AsyncSession,
        feed: FeedSetup,
        name: str | None,
        origin: str,
        actor: str,
        now: datetime,
    ) -> FeedSetup:
        """A removed feed followed again, with its number, history, rooms, filters and
        templates; paused no more."""
        values: dict[str, Any] = {
            "removed_at": None, "removed_by": None, "paused_at": None, "paused_by": None,
            "origin": origin, "added_at": now, "added_by": actor if origin == COMMAND else None,
            "first_poll_done": False, "name": name or feed.name,
        }  # fmt: skip
        await feed_setup.change(session, feed.id, **values)
        await feed_items.silence_waiting(session, feed.id)
        return replace(feed, removed_at=None, paused_at=None, origin=origin, name=name or feed.name)

    async def _record_silently(
        self, session: AsyncSession, feed: FeedSetup, fetched: Fetched, now: datetime
    ) -> None:
        """The feed's first poll, made of what was just read: the watcher's own rule (record
        without announcing), then the validators and the next poll."""
        settings = self.settings(feed)
        state, index = await feeds.state_and_index(session, feed.url)
        state = replace(state, first_poll_done=False)
        context = PollContext(
            state, state.polls + 1, now, settings.label, settings.policy,
            FeedAudience(self.hub, settings.rooms), check_deferred=False, check_edits=False,
            index=index, templates=settings.templates,
        )  # fmt: skip
        await self.recorder.record(session, context, fetched.items, PollReport(feed.url, "fetched"))
        validators = fetched.result.validators
        await feeds.poll_succeeded(
            session, feed.url, now=now,
            validators=(validators.etag, validators.last_modified, validators.body_hash),
            next_poll_at=now + timedelta(seconds=settings.interval),
            largest=max(state.largest_size_seen, len(fetched.items)),
        )  # fmt: skip

    # --- changing ------------------------------------------------------------------------------

    async def remove(
        self, session: AsyncSession, feed: FeedSetup, actor: str, now: datetime
    ) -> FeedSetup:
        """Stop following the feed; its items and history are kept (a feed from the
        configuration comes back at the next start while the file lists it)."""
        await feed_setup.change(session, feed.id, removed_at=now, removed_by=actor)
        await self.changes.record(session, feed, actor, "removed", now)
        return replace(feed, removed_at=now, removed_by=actor)

    async def pause(
        self, session: AsyncSession, feed: FeedSetup, actor: str, now: datetime
    ) -> FeedSetup:
        """No more fetching nor announcing until resumed, across restarts."""
        if feed.paused_at is not None:
            raise UserError("feeds.already_paused", number=feed.id, feed=feed.label)
        await feed_setup.change(session, feed.id, paused_at=now, paused_by=actor)
        await self.changes.record(session, feed, actor, "paused", now)
        return replace(feed, paused_at=now, paused_by=actor)

    async def resume(
        self, session: AsyncSession, feed: FeedSetup, actor: str, now: datetime
    ) -> FeedSetup:
        """Poll the feed again, at once."""
        if feed.paused_at is None:
            raise UserError("feeds.not_paused", number=feed.id, feed=feed.label)
        await feed_setup.change(session, feed.id, paused_at=None, paused_by=None, next_poll_at=now)
        await self.changes.record(session, feed, actor, "resumed", now)
        return replace(feed, paused_at=None, paused_by=None)

    async def set_rooms(
        self,
        session: AsyncSession,
        feed: FeedSetup,
        rooms: tuple[str, ...] | None,
        actor: str,
        now: datetime,
    ) -> FeedSetup:
        """Announce the feed in ``rooms`` (None: the hub's rooms, as they are configured)."""
        await feed_setup.change(session, feed.id, rooms=None if rooms is None else list(rooms))
        await self.changes.record(session, feed, actor, "rooms", now, rooms=rooms)
        return replace(feed, rooms=rooms)

    async def set_filters(
        self, session: AsyncSession, feed: FeedSetup, rules: FilterRules, actor: str, now: datetime
    ) -> FeedSetup:
        """Announce only what ``rules`` let through, from the next poll on."""
        data = rules.as_data()
        await feed_setup.change(session, feed.id, filters=data)
        await self.changes.record(session, feed, actor, "filters", now, filters=data)
        return replace(feed, filters=rules)

    async def set_template(
        self,
        session: AsyncSession,
        feed: FeedSetup,
        key: str,
        template: str | None,
        actor: str,
        now: datetime,
    ) -> FeedSetup:
        """The feed's own template for one kind of item (None: back to the default)."""
        templates = _with(feed.templates, key, template)
        await feed_setup.change(session, feed.id, templates=templates or None)
        await self.changes.record(
            session, feed, actor, "template", now, kind=key, template=template
        )
        return replace(feed, templates=templates)


def _with(templates: Mapping[str, str], key: str, template: str | None) -> dict[str, str]:
    """``templates`` with ``key`` set to ``template``, or removed when it is None."""
    changed = {name: text for name, text in templates.items() if name != key}
    if template is not None:
        changed[key] = template
    return changed
