"""Agenda commands: !agenda, !prochain, !evenement (organisers add, amend, remove), !infolettre."""

from __future__ import annotations

from bot import markup
from bot.commands.agenda_args import (
    Add,
    Delete,
    Edit,
    Show,
    parse_change,
    parse_event_args,
    parse_new_event,
    parse_range,
)
from bot.commands.context import CommandContext
from bot.commands.declare import Router
from bot.errors import PermissionDenied
from bot.services.agenda import Agenda, AgendaEvent
from bot.services.agenda.texts import AgendaTexts

router = Router("agenda")


def _agenda(ctx: CommandContext) -> Agenda:
    return ctx.services.agenda


def _texts(ctx: CommandContext) -> AgendaTexts:
    return AgendaTexts(ctx.t, ctx.services.config.tz)


async def _answer(ctx: CommandContext, text: str) -> None:
    await ctx.reply_text(text, markup.headlined(text))


@router.command("agenda", fr="agenda", en="agenda")
async def agenda_command(ctx: CommandContext) -> None:
    days = parse_range(ctx.args)
    agenda, texts = _agenda(ctx), _texts(ctx)
    events = await agenda.upcoming(ctx.session, ctx.now, days)
    if events:
        await _answer(ctx, texts.listing(events, days, ctx.now))
        return
    later = await agenda.next(ctx.session, ctx.now)
    await ctx.reply_text(texts.empty(days, later, ctx.now))


@router.command("next", fr="prochain", en="next")
async def next_command(ctx: CommandContext) -> None:
    event = await _agenda(ctx).next(ctx.session, ctx.now)
    if event is None:
        await ctx.reply("agenda.nothing_next")
        return
    await _answer(ctx, _texts(ctx).full(event))


@router.command("newsletter", fr="infolettre", en="newsletter")
async def newsletter_command(ctx: CommandContext) -> None:
    latest = await _agenda(ctx).latest_newsletter(ctx.session)
    await _answer(ctx, _texts(ctx).newsletter(latest))


@router.command("event", fr="evenement", en="event", aliases=("événement", "évènement"))
async def event_command(ctx: CommandContext) -> None:
    """Anyone may look an event up; changing the agenda is for organisers."""
    request = parse_event_args(ctx.args)
    if isinstance(request, Show):
        event = await _agenda(ctx).by_number(ctx.session, request.number)
        await _answer(ctx, _texts(ctx).full(event))
        return
    if not ctx.is_organiser:
        raise PermissionDenied()
    if isinstance(request, Add):
        await _add(ctx, request)
    elif isinstance(request, Edit):
        await _edit(ctx, request)
    else:
        await _delete(ctx, request)


async def _add(ctx: CommandContext, request: Add) -> None:
    tz = ctx.services.config.tz
    new = parse_new_event(
        request.text, now=ctx.now, tz=tz, author=ctx.sender, language=ctx.language
    )
    event = await _agenda(ctx).add(ctx.session, new, ctx.now)
    await _answer(ctx, _confirmation(ctx, "agenda.added", event))


async def _edit(ctx: CommandContext, request: Edit) -> None:
    tz = ctx.services.config.tz
    change = parse_change(request.field, request.value, now=ctx.now, tz=tz, language=ctx.language)
    event = await _agenda(ctx).amend(ctx.session, request.number, change, ctx.sender, ctx.now)
    await _answer(ctx, _confirmation(ctx, "agenda.amended", event))


async def _delete(ctx: CommandContext, request: Delete) -> None:
    event, deleted = await _agenda(ctx).remove(ctx.session, request.number, ctx.sender, ctx.now)
    key = "agenda.deleted" if deleted else "agenda.hidden"
    await ctx.reply(key, number=event.number, title=event.title)


def _confirmation(ctx: CommandContext, key: str, event: AgendaEvent) -> str:
    """ "C’est noté : événement n°12 — <quand> — <titre>", then where and the link."""
    texts = _texts(ctx)
    when = texts.dates.when(event.time)
    lines = [ctx.t(key, number=event.number, when=when, title=event.title)]
    lines += texts.details(event, summary=False)
    return "\n".join(lines)
