"""What organisers change on the feeds: ``!flux ajouter``, ``retirer``, ``pause``, ``reprendre``,
``salon``, ``filtre`` and ``modele``; each answer says what changed."""

from __future__ import annotations

from dataclasses import replace

from bot.commands.context import CommandContext
from bot.commands.feed_args import (
    FeedsRequest,
    FilterRequest,
    RoomRequest,
    parse_add,
    parse_filter,
    parse_ref,
    parse_room,
    parse_template,
    too_many,
)
from bot.commands.feed_texts import (
    filters_text,
    kinds_text,
    named,
    rooms_text,
    templates_lines,
)
from bot.errors import FeedError, UserError
from bot.feeds.filters import MAX_VALUES, FilterRules
from bot.i18n import Catalogue
from bot.services.feed_manager import Added
from bot.storage.feed_setup import CONFIG, FeedSetup

SHOWN_ITEMS = 5  # items listed when a feed is added


async def add(ctx: CommandContext, request: FeedsRequest) -> None:
    """Read the feed first (no database meanwhile), then follow it, its items recorded."""
    url, name = parse_add(request.rest)
    manager = ctx.services.feed_manager
    try:
        fetched = await manager.read(url)
    except FeedError as error:
        await ctx.reply("feeds.add_refused", url=url, reason=refusal(ctx.t, error))
        return
    added = await manager.add(ctx.session, fetched, name, ctx.sender, ctx.now)
    await ctx.reply_text("\n".join(_added_lines(ctx, added)))


def refusal(t: Catalogue, error: FeedError) -> str:
    """Why a feed cannot be read, in words."""
    key = f"feeds.refusal.{error.kind}"
    detail = str(error)[:200]
    return t(key, detail=detail) if t.has(key) else detail


def _added_lines(ctx: CommandContext, added: Added) -> list[str]:
    t, feed, items = ctx.t, added.feed, added.items
    settings = ctx.services.feed_manager.settings(feed)
    key = "feeds.revived" if added.revived else "feeds.added"
    lines = [t(key, **named(feed), count=len(items))]
    kinds = kinds_text(t, frozenset(settings.policy.filter.kinds))
    lines.append(t("feeds.added_next", rooms=rooms_text(t, feed.rooms), kinds=kinds))
    for item in items[:SHOWN_ITEMS]:
        lines.append(t("feeds.added_item", kind=t(f"kinds.{item.kind}"), title=item.title))
    if len(items) > SHOWN_ITEMS:
        lines.append(t("feeds.added_more", count=len(items) - SHOWN_ITEMS))
    return lines


async def remove(ctx: CommandContext, request: FeedsRequest) -> None:
    manager = ctx.services.feed_manager
    feed = await manager.find(ctx.session, parse_ref(request.rest, "remove"))
    await manager.remove(ctx.session, feed, ctx.sender, ctx.now)
    key = "feeds.removed_config" if feed.origin == CONFIG else "feeds.removed"
    await ctx.reply(key, **named(feed), prefix=ctx.prefix, word=ctx.command.word(ctx.language))


async def pause(ctx: CommandContext, request: FeedsRequest) -> None:
    manager = ctx.services.feed_manager
    feed = await manager.find(ctx.session, parse_ref(request.rest, "pause"))
    await manager.pause(ctx.session, feed, ctx.sender, ctx.now)
    await ctx.reply(
        "feeds.paused", **named(feed), prefix=ctx.prefix, word=ctx.command.word(ctx.language)
    )


async def resume(ctx: CommandContext, request: FeedsRequest) -> None:
    manager = ctx.services.feed_manager
    feed = await manager.find(ctx.session, parse_ref(request.rest, "resume"))
    await manager.resume(ctx.session, feed, ctx.sender, ctx.now)
    await ctx.reply("feeds.resumed", **named(feed))


async def room(ctx: CommandContext, request: FeedsRequest) -> None:
    """List, add or remove a feed's rooms; the room is found on the homeserver first."""
    wanted = parse_room(request.rest)
    manager = ctx.services.feed_manager
    room_id = await _room_id(ctx, wanted)
    feed = await manager.find(ctx.session, wanted.ref)
    if wanted.action != "list":
        rooms = _new_rooms(manager.rooms_of(feed), feed, wanted, room_id)
        feed = await manager.set_rooms(ctx.session, feed, rooms, ctx.sender, ctx.now)
    await ctx.reply("feeds.rooms.now", **named(feed), rooms=rooms_text(ctx.t, feed.rooms))


async def _room_id(ctx: CommandContext, wanted: RoomRequest) -> str | None:
    """The room's id: one the bot is in to add it, any known room to remove it."""
    if wanted.room is None:
        return None
    manager = ctx.services.feed_manager
    if wanted.action == "add":
        return await manager.joined_room(wanted.room)
    return await manager.known_room(wanted.room)


def _new_rooms(
    current: tuple[str, ...], feed: FeedSetup, wanted: RoomRequest, room_id: str | None
) -> tuple[str, ...] | None:
    """The feed's rooms after the change asked for (None: the hub's rooms)."""
    if wanted.action == "default":
        return None
    assert room_id is not None
    if wanted.action == "add":
        if room_id in current:
            raise UserError("feeds.rooms.already", **named(feed), room=wanted.room)
        return (*current, room_id)
    if room_id not in current:
        raise UserError("feeds.rooms.absent", **named(feed), room=wanted.room)
    if current == (room_id,):
        raise UserError("feeds.rooms.last", **named(feed))
    return tuple(known for known in current if known != room_id)


async def filters(ctx: CommandContext, request: FeedsRequest) -> None:
    """Show, clear or change a feed's filters; they apply from its next poll."""
    wanted = parse_filter(request.rest)
    manager = ctx.services.feed_manager
    feed = await manager.find(ctx.session, wanted.ref)
    if wanted.action != "show":
        rules = _new_rules(feed, wanted)
        feed = await manager.set_filters(ctx.session, feed, rules, ctx.sender, ctx.now)
    described = filters_text(ctx.t, manager.settings(feed).policy.filter)
    key = "feeds.filters.shown" if wanted.action == "show" else "feeds.filters.changed"
    await ctx.reply(key, **named(feed), filters=described, prefix=ctx.prefix)


def _new_rules(feed: FeedSetup, wanted: FilterRequest) -> FilterRules:
    rules = feed.filters
    if wanted.action == "clear":
        return FilterRules()
    if wanted.action == "kinds":
        return replace(rules, kinds=wanted.kinds)
    assert wanted.field is not None and wanted.value is not None
    if wanted.action == "remove":
        removed = rules.removing(wanted.field, wanted.value)
        if removed is None:
            raise UserError("feeds.filters.absent", **named(feed), value=wanted.value)
        return removed
    if too_many(getattr(rules, wanted.field)):
        raise UserError("feeds.filters.full", **named(feed), limit=MAX_VALUES)
    return rules.adding(wanted.field, wanted.value)


async def template(ctx: CommandContext, request: FeedsRequest) -> None:
    """Show a feed's own templates, or set or reset one kind's, with a sample when it can."""
    wanted = parse_template(request.rest)
    manager, t = ctx.services.feed_manager, ctx.t
    feed = await manager.find(ctx.session, wanted.ref)
    if wanted.kind is None:
        lines = templates_lines(t, feed.templates) or [t("feeds.templates.none", **named(feed))]
        await ctx.reply_text("\n".join([t("feeds.templates.header", **named(feed)), *lines]))
        return
    feed = await manager.set_template(
        ctx.session, feed, wanted.kind, wanted.template, ctx.sender, ctx.now
    )
    kind = t(f"feeds.template_kinds.{wanted.kind}")
    key = "feeds.templates.set" if wanted.template else "feeds.templates.reset"
    lines = [t(key, **named(feed), kind=kind, template=wanted.template or "")]
    sample = await ctx.services.feeds.sample(ctx.session, feed, wanted.kind, t, ctx.message.room_id)
    word = ctx.command.word(ctx.language)
    missing = t("feeds.templates.no_sample", number=feed.id, prefix=ctx.prefix, word=word)
    lines += [t("feeds.templates.sample"), sample] if sample else [missing]
    await ctx.reply_text("\n".join(lines))
