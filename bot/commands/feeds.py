"""Organiser commands about the feeds: their state, a dry run, and why an item was announced."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.commands.context import CommandContext
from bot.commands.declare import Role, Router
from bot.config import Config
from bot.errors import UsageError
from bot.feeds.fetch import FetchError
from bot.feeds.normalise import canonical_url
from bot.feeds.parse import FeedParseError
from bot.feeds.plan import ItemStatus
from bot.feeds.preview import (
    PreviewLine,
    as_record,
    fetch_items,
    settings_for,
    stored_known,
    verdicts,
)
from bot.services.announcements import Announcer, Dates
from bot.services.subscriptions.fanout import progress_lines
from bot.storage import deliveries, feeds
from bot.storage.deliveries import DeliveryView
from bot.storage.feeds import FeedState, ItemRecord

router = Router("feeds")
PREVIEW_WORDS = frozenset({"apercu", "aperçu", "preview"})
MAX_PREVIEW_MESSAGES = 5


def parse_feeds_args(args: str) -> str | None:
    """None for the state of every feed, or the URL of ``apercu <url>``; else UsageError."""
    word, _, rest = args.strip().partition(" ")
    if not word:
        return None
    if word.lower() not in PREVIEW_WORDS:
        raise UsageError("feeds.unknown_subcommand", word=word)
    return parse_url(rest)


def parse_url(text: str) -> str:
    """An http(s) URL with a host, alone; else UsageError ("http://" alone is no address)."""
    url = text.strip().strip("<>")
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[" and such
        raise UsageError("feeds.bad_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise UsageError("feeds.bad_url")
    return url


@router.command("feeds", fr="flux", en="feeds", role=Role.ORGANISER)
async def feeds_command(ctx: CommandContext) -> None:
    """The state of every configured feed, or a dry run of one feed."""
    url = parse_feeds_args(ctx.args)
    if url is None:
        await _status(ctx)
    else:
        await _preview(ctx, url)


async def _status(ctx: CommandContext) -> None:
    config = ctx.services.config
    if not config.feeds:
        await ctx.reply("feeds.none")
        return
    dates = Dates(ctx.t, config.tz)
    lines = [ctx.t("feeds.header")]
    for feed in config.feeds:
        state = await feeds.find_feed(ctx.session, feed.url)
        count = await feeds.items_known(ctx.session, state.id) if state else 0
        lines += _status_lines(ctx, dates, feed.label, state, count)
    lines += await progress_lines(ctx.session, ctx.t)
    await ctx.reply_text("\n".join(lines))


def _status_lines(
    ctx: CommandContext, dates: Dates, label: str, state: FeedState | None, count: int
) -> list[str]:
    """One feed's line, and its last error when it has one."""
    line = ctx.t(
        "feeds.line",
        feed=label,
        last_poll=dates.moment(state.last_poll_at if state else None),
        last_success=dates.moment(state.last_success_at if state else None),
        next_poll=dates.moment(state.next_poll_at if state else None),
        items=count,
    )
    if state is None or state.last_error_kind is None:
        return [line]
    failures = state.consecutive_failures
    error = ctx.t(
        "feeds.error", kind=state.last_error_kind, failures=failures, error=state.last_error
    )
    return [line, error]


async def _preview(ctx: CommandContext, url: str) -> None:
    """Fetch and read ``url`` now, and say what the next poll would do; nothing is sent."""
    config = ctx.services.config
    settings = settings_for(config, url)
    try:
        items = await fetch_items(url, settings, config.contact)
    except (FetchError, FeedParseError) as error:
        await ctx.reply("feeds.preview_failed", reason=str(error)[:200])
        return
    known = await stored_known(ctx.session, url)
    lines = verdicts(items, settings.policy, known, first_poll=False, now=ctx.now)
    await ctx.reply_text("\n".join(_preview_lines(ctx, config, url, lines)))


def _preview_lines(
    ctx: CommandContext, config: Config, url: str, lines: list[PreviewLine]
) -> list[str]:
    t = ctx.t
    out = [t("feeds.preview_header", url=url, count=len(lines))]
    for line in lines:
        verdict = t(f"feeds.verdict.{line.verdict}")
        kind = t(f"kinds.{line.item.kind}")
        out.append(t("feeds.preview_line", kind=kind, title=line.item.title, verdict=verdict))
    chosen = [line for line in lines if line.verdict == ItemStatus.ANNOUNCED]
    if chosen:
        announcer = Announcer(config.announcements, t, config.tz)
        out += ["", t("feeds.preview_messages")]
        for line in chosen[:MAX_PREVIEW_MESSAGES]:
            message = announcer.announcement(as_record(line.item), ctx.message.room_id, feed=url)
            out += ["", message.text]
    return out


@router.command("why", fr="pourquoi", en="why", role=Role.ORGANISER)
async def why_command(ctx: CommandContext) -> None:
    """Explain, for each stored item with this link, what the bot did with it."""
    link = ctx.args.strip().strip("<>")
    if not link:
        raise UsageError("why.missing")
    matches = await _items_with_link(ctx, link)
    if not matches:
        await ctx.reply("why.unknown")
        return
    config = ctx.services.config
    dates = Dates(ctx.t, config.tz)
    labels = {feed.url: feed.label for feed in config.feeds}
    lines: list[str] = []
    for record, url in matches:
        sent = await deliveries.deliveries_of(ctx.session, record.id)
        lines += _explain(ctx, dates, record, labels.get(url, url), sent)
    await ctx.reply_text("\n".join(lines))


async def _items_with_link(ctx: CommandContext, link: str) -> list[tuple[ItemRecord, str]]:
    """Stored items whose identity is ``link`` as any configured feed spells it, or its link."""
    config = ctx.services.config
    rules = [settings_for(config, feed.url).rules for feed in config.feeds]
    identities = {link} | {canonical_url(link, feed_rules) for feed_rules in rules}
    return await deliveries.items_matching(ctx.session, sorted(identities), link)


def _explain(
    ctx: CommandContext,
    dates: Dates,
    record: ItemRecord,
    feed: str,
    sent: list[DeliveryView],
) -> list[str]:
    """Why one item was, or was not, announced."""
    t = ctx.t
    kind = t(f"kinds.{record.kind}")
    header = t(
        "why.header",
        title=record.title,
        kind=kind,
        feed=feed,
        first_seen=dates.moment(record.first_seen_at),
        poll=record.first_seen_poll,
    )
    if record.status != ItemStatus.ANNOUNCED:
        return [header, t(f"why.{record.status}", kind=kind)]
    if not sent:
        return [header, t("why.no_room")]
    return [header, t("why.announced"), *(_delivery_line(ctx, d) for d in sent)]


def _delivery_line(ctx: CommandContext, delivery: DeliveryView) -> str:
    if delivery.status == "sent":
        return ctx.t("why.delivered", room=delivery.room_id, event_id=delivery.event_id)
    key = "why.failed" if delivery.status == "failed" else "why.pending"
    return ctx.t(key, room=delivery.room_id)
