"""Organiser commands about the feeds: their state, a dry run, and why an item was announced."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.commands.context import CommandContext
from bot.commands.declare import Role, Router
from bot.errors import FeedError, UsageError
from bot.feeds.plan import ItemStatus
from bot.services.dates import Dates
from bot.services.feeds import Explained, FeedStatus, Preview
from bot.services.subscriptions.fanout import progress_lines
from bot.storage.deliveries import DeliveryView

router = Router("feeds")
PREVIEW_WORDS = frozenset({"apercu", "aperçu", "preview"})


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
    if not ctx.services.config.feeds:
        await ctx.reply("feeds.none")
        return
    overview = await ctx.services.feeds.overview(ctx.session)
    dates = Dates(ctx.t, ctx.services.config.tz)
    lines = [ctx.t("feeds.header")]
    for feed in overview.feeds:
        lines += _status_lines(ctx, dates, feed)
    lines += progress_lines(overview.newsletters, ctx.t)
    await ctx.reply_text("\n".join(lines))


def _status_lines(ctx: CommandContext, dates: Dates, feed: FeedStatus) -> list[str]:
    """One feed's line, and its last error when it has one."""
    state = feed.state
    line = ctx.t(
        "feeds.line",
        feed=feed.label,
        last_poll=dates.moment(state.last_poll_at if state else None),
        last_success=dates.moment(state.last_success_at if state else None),
        next_poll=dates.moment(state.next_poll_at if state else None),
        items=feed.items,
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
    try:
        reports = ctx.services.feeds
        preview = await reports.preview(ctx.session, url, ctx.t, ctx.message.room_id, ctx.now)
    except FeedError as error:
        await ctx.reply("feeds.preview_failed", reason=str(error)[:200])
        return
    await ctx.reply_text("\n".join(_preview_lines(ctx, url, preview)))


def _preview_lines(ctx: CommandContext, url: str, preview: Preview) -> list[str]:
    t = ctx.t
    out = [t("feeds.preview_header", url=url, count=len(preview.lines))]
    for line in preview.lines:
        verdict = t(f"feeds.verdict.{line.verdict}")
        kind = t(f"kinds.{line.item.kind}")
        out.append(t("feeds.preview_line", kind=kind, title=line.item.title, verdict=verdict))
    if preview.messages:
        out += ["", t("feeds.preview_messages")]
        for text in preview.messages:
            out += ["", text]
    return out


@router.command("why", fr="pourquoi", en="why", role=Role.ORGANISER)
async def why_command(ctx: CommandContext) -> None:
    """Explain, for each stored item with this link, what the bot did with it."""
    link = ctx.args.strip().strip("<>")
    if not link:
        raise UsageError("why.missing")
    matches = await ctx.services.feeds.why(ctx.session, link)
    if not matches:
        await ctx.reply("why.unknown")
        return
    dates = Dates(ctx.t, ctx.services.config.tz)
    lines: list[str] = []
    for found in matches:
        lines += _explain(ctx, dates, found)
    await ctx.reply_text("\n".join(lines))


def _explain(ctx: CommandContext, dates: Dates, found: Explained) -> list[str]:
    """Why one item was, or was not, announced."""
    t, record = ctx.t, found.record
    kind = t(f"kinds.{record.kind}")
    header = t(
        "why.header",
        title=record.title,
        kind=kind,
        feed=found.feed,
        first_seen=dates.moment(record.first_seen_at),
        poll=record.first_seen_poll,
    )
    if record.status != ItemStatus.ANNOUNCED:
        return [header, t(f"why.{record.status}", kind=kind)]
    if not found.deliveries:
        return [header, t("why.no_room")]
    return [header, t("why.announced"), *(_delivery_line(ctx, d) for d in found.deliveries)]


def _delivery_line(ctx: CommandContext, delivery: DeliveryView) -> str:
    if delivery.status == "sent":
        return ctx.t("why.delivered", room=delivery.room_id, event_id=delivery.event_id)
    key = "why.failed" if delivery.status == "failed" else "why.pending"
    return ctx.t(key, room=delivery.room_id)
