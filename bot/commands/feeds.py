"""Organiser commands about the feeds: their state, one feed in detail, a dry run, the changes
organisers make (``feed_admin``), and why an item was announced or not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.commands import feed_admin
from bot.commands.context import CommandContext
from bot.commands.declare import Role, Router
from bot.commands.feed_args import FeedsRequest, parse_feeds_args, parse_ref
from bot.commands.feed_texts import change_line, feed_lines, templates_lines
from bot.errors import FeedError, UsageError
from bot.feeds.filters import Hold
from bot.feeds.plan import ItemStatus
from bot.feeds.preview import hold_text, preview_line
from bot.services.dates import Dates
from bot.services.feeds import HISTORY, Explained, Preview
from bot.services.subscriptions.fanout import progress_lines
from bot.storage.deliveries import DeliveryView
from bot.storage.feed_setup import FeedSetup

router = Router("feeds")
SubHandler = Callable[[CommandContext, FeedsRequest], Awaitable[None]]


@router.command(
    "feeds", fr="flux", en="feeds", role=Role.ORGANISER,
    subcommands=("detail", "preview", "add", "remove", "pause", "resume", "room", "filter",
                 "template"),
)  # fmt: skip
async def feeds_command(ctx: CommandContext) -> None:
    """The state of every feed, one feed in detail, a dry run, or a change to the feeds."""
    request = parse_feeds_args(ctx.args)
    await _SUBCOMMANDS[request.subcommand](ctx, request)


async def _status(ctx: CommandContext, _request: FeedsRequest) -> None:
    overview = await ctx.services.feeds.overview(ctx.session)
    if not overview.feeds:
        await ctx.reply("feeds.none", prefix=ctx.prefix, word=ctx.command.word(ctx.language))
        return
    dates = Dates(ctx.t, ctx.services.config.tz)
    lines = [ctx.t("feeds.header")]
    for status in overview.feeds:
        lines += feed_lines(ctx.t, dates, status)
    lines += progress_lines(overview.newsletters, ctx.t)
    await ctx.reply_text("\n".join(lines))


async def _detail(ctx: CommandContext, request: FeedsRequest) -> None:
    """One feed: its state, rooms, filters, templates and latest changes."""
    assert request.ref is not None
    feed = await ctx.services.feed_manager.find(ctx.session, request.ref)
    status = await ctx.services.feeds.status(ctx.session, feed, history=HISTORY)
    dates, t = Dates(ctx.t, ctx.services.config.tz), ctx.t
    lines = [*feed_lines(t, dates, status), t("feeds.url_line", url=feed.url)]
    lines += templates_lines(t, feed.templates)
    if status.history:
        lines += [t("feeds.history"), *(change_line(t, dates, c) for c in status.history)]
    await ctx.reply_text("\n".join(lines))


async def _preview(ctx: CommandContext, request: FeedsRequest) -> None:
    """Fetch and read a feed (by number or URL) now, and say what the next poll would do with
    its filters and templates; nothing is sent."""
    ref = parse_ref(request.rest, "preview")
    target: str | FeedSetup
    target = ref if isinstance(ref, str) else await ctx.services.feed_manager.look_up(ref)
    url = target if isinstance(target, str) else target.url
    try:
        reports = ctx.services.feeds
        preview = await reports.preview(ctx.session, target, ctx.t, ctx.message.room_id, ctx.now)
    except FeedError as error:
        await ctx.reply("feeds.preview_failed", reason=str(error)[:200])
        return
    await ctx.reply_text("\n".join(_preview_lines(ctx, url, preview)))


def _preview_lines(ctx: CommandContext, url: str, preview: Preview) -> list[str]:
    t = ctx.t
    out = [t("feeds.preview_header", url=url, count=len(preview.lines))]
    out += [preview_line(line, t) for line in preview.lines]
    if preview.messages:
        out += ["", t("feeds.preview_messages")]
        for text in preview.messages:
            out += ["", text]
    elif preview.sample is not None:
        out += ["", t("feeds.preview_sample"), "", preview.sample]
    return out


_SUBCOMMANDS: dict[str, SubHandler] = {
    "status": _status,
    "detail": _detail,
    "preview": _preview,
    "add": feed_admin.add,
    "remove": feed_admin.remove,
    "pause": feed_admin.pause,
    "resume": feed_admin.resume,
    "room": feed_admin.room,
    "filter": feed_admin.filters,
    "template": feed_admin.template,
}


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
    if record.status == ItemStatus.FILTERED:
        hold = Hold.parse(record.held_by) or Hold("kind", record.kind)
        return [header, t("why.filtered", hold=hold_text(hold, t))]
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
