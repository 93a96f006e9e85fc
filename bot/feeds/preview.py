"""Dry runs: what a feed holds and what the bot would announce from it, sending nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import AnnouncementsConfig, Config
from bot.errors import FeedUnreachable
from bot.feeds.fetch import Validators
from bot.feeds.filters import Hold
from bot.feeds.normalise import FeedItem, NormaliseRules
from bot.feeds.plan import ItemStatus, Known, PollPolicy, plan_poll, stale
from bot.feeds.record import as_known
from bot.feeds.settings import FeedSettings, feed_section
from bot.feeds.watch import Fetcher, parse_batch
from bot.i18n import Catalogue, catalogue
from bot.services.announcements import Announcer
from bot.storage import feeds
from bot.storage.feeds import ItemRecord

PREVIEW_ROOM = "!preview:localhost"
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PreviewLine:
    """One item of the feed and what a poll would do with it (and which filter rule would
    hold it back, when one would)."""

    item: FeedItem
    verdict: str  # an ItemStatus value, "known" or "edited"
    hold: Hold | None = None


def is_web_address(target: str) -> bool:
    """Whether ``target`` is an http(s) URL, whatever the case of its scheme (``HTTP://`` is a
    URL, never a file path)."""
    try:
        return urlsplit(target.strip()).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def settings_for(config: Config | None, target: str) -> FeedSettings:
    """The configured feed's settings for ``target``, else those of a feed added by command
    (hub rules, every kind announced)."""
    if config is None:
        return FeedSettings(target, target, 300.0, NormaliseRules(), PollPolicy())
    summary = config.announcements.summary_chars
    if is_web_address(target):
        section = feed_section(config.feeds, target)
        return FeedSettings.from_config(section, config.tz, summary)
    rules = NormaliseRules(tz=config.tz, summary_chars=summary)
    return FeedSettings(target, target, 300.0, rules, PollPolicy())


async def fetch_items(url: str, settings: FeedSettings, fetcher: Fetcher) -> list[FeedItem]:
    """The normalised items of the feed at ``url``, over the network only (an organiser's
    preview never reads a file); raises a ``FeedError``."""
    if not is_web_address(url):
        raise FeedUnreachable("not an http(s) address")
    result = await fetcher.fetch(url, Validators())
    assert result.body is not None  # an unconditional fetch always carries the body
    body, content_type = result.body, result.content_type
    return await parse_batch(body, url, content_type, settings.rules)


async def read_file_items(path: str, settings: FeedSettings) -> list[FeedItem]:
    """The normalised items of a feed file (the command line's preview); raises ``OSError`` or
    a ``FeedError``."""
    body = await asyncio.to_thread(Path(path).read_bytes)
    return await parse_batch(body, path, None, settings.rules)


async def stored_known(session: AsyncSession, url: str) -> dict[str, Known] | None:
    """The items stored for the feed at ``url``, or None when it was never polled."""
    state = await feeds.find_feed(session, url)
    if state is None or not state.first_poll_done:
        return None
    return as_known(await feeds.feed_index(session, state.id))


def verdicts(
    items: Sequence[FeedItem],
    policy: PollPolicy,
    known: Mapping[str, Known] | None,
    *,
    first_poll: bool,
    now: datetime,
) -> list[PreviewLine]:
    """What a poll at ``now`` would do with each item; without ``known``, as if each were new."""
    if known is None:
        stale_ones = stale(items, (), policy, now)
        return [_alone(item, policy, stale_ones) for item in items]
    plan = plan_poll(items, known, [], first_poll=first_poll, policy=policy, now=now)
    edited = {item.identity for item in plan.edited}
    return [
        PreviewLine(item, _verdict(item.identity, plan.new, edited), plan.holds.get(item.identity))
        for item in items
    ]


def _alone(item: FeedItem, policy: PollPolicy, stale_ones: Mapping[str, ItemStatus]) -> PreviewLine:
    """The verdict on an item judged by itself: the feed's filter, then its age."""
    hold = policy.filter.held(item)
    if hold is not None:
        return PreviewLine(item, ItemStatus.FILTERED, hold)
    return PreviewLine(item, stale_ones.get(item.identity, ItemStatus.ANNOUNCED))


def _verdict(
    identity: str, new: Mapping[str, tuple[FeedItem, ItemStatus]], edited: set[str]
) -> str:
    if identity in new:
        return new[identity][1].value
    return "edited" if identity in edited else "known"


def as_record(item: FeedItem) -> ItemRecord:
    """An unsaved item, shaped as stored, so the announcer can render it."""
    return ItemRecord(
        id=0, feed_id=0, identity=item.identity, kind=str(item.kind), title=item.title,
        link=item.link, summary=item.summary, published=item.published,
        newsletter_number=item.newsletter_number, fingerprint=item.fingerprint,
        status="preview", first_seen_at=item.published or _EPOCH, first_seen_poll=0,
        event=item.event, categories=item.categories,
    )  # fmt: skip


def report_lines(
    target: str, items: Sequence[FeedItem], lines: Sequence[PreviewLine], config: Config | None
) -> list[str]:
    """The CLI's printout: every normalised item, then the messages that would be sent."""
    language = config.language if config else "fr"
    t = catalogue(language)
    announcements = config.announcements if config else AnnouncementsConfig()
    announcer = Announcer(announcements, t, config.tz if config else ZoneInfo("Europe/Paris"))
    out = [t("feeds.preview_header", url=target, count=len(items)), ""]
    for line in lines:
        out += _item_lines(line, announcer, t)
    out += ["", t("feeds.preview_messages"), ""]
    for line in lines:
        if line.verdict == ItemStatus.ANNOUNCED:
            message = announcer.announcement(as_record(line.item), PREVIEW_ROOM, feed=target)
            out += [message.text, ""]
    return out


def preview_line(line: PreviewLine, t: Catalogue) -> str:
    """One item and what a poll would do with it, in words."""
    verdict = t(f"feeds.verdict.{line.verdict}")
    if line.hold is not None:
        verdict = t("feeds.verdict.held", hold=hold_text(line.hold, t))
    kind = t(f"kinds.{line.item.kind}")
    return t("feeds.preview_line", kind=kind, title=line.item.title, verdict=verdict)


def hold_text(hold: Hold, t: Catalogue) -> str:
    """Which filter rule holds an item back, in words."""
    value = (
        t(f"kinds.{hold.value}")
        if hold.rule == "kind" and t.has(f"kinds.{hold.value}")
        else hold.value
    )
    key = f"holds.{hold.rule}"
    return t(key, value=value) if t.has(key) else hold.code


def _item_lines(line: PreviewLine, announcer: Announcer, t: Catalogue) -> list[str]:
    item = line.item
    out = [preview_line(line, t)]
    out.append(f"    identity:  {item.identity}")
    out.append(f"    link:      {item.link or '-'}")
    out.append(f"    published: {item.published.isoformat() if item.published else '-'}")
    if item.event is not None:
        out.append(f"    when:      {announcer.dates.when(item.event)}")
    if item.categories:
        out.append(f"    categories: {', '.join(item.categories)}")
    return out
