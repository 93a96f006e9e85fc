"""Newsletter commands: !abonner, !abonnement, !desabonner, !abonnes; replies and 👍 in DMs.

Handlers that need the member's DM open it first (network I/O before any database work).
Answers about a member's subscription only ever go to the DM; the room hears that they went
there, in words that never depend on what is stored.
"""

from __future__ import annotations

from typing import Any

from bot.commands.context import CommandContext, EventContext
from bot.commands.declare import Role, Router
from bot.errors import UsageError
from bot.messages import IncomingMessage, IncomingReaction, ReplyTo
from bot.services.subscriptions import Subscriptions
from bot.services.subscriptions.addresses import normalise_address
from bot.services.subscriptions.replies import is_thumbs_up, parse_reply

router = Router("subscriptions")
DM_WORDS = frozenset({"mp", "dm", "pm", "prive", "privé"})
ON_WORDS = frozenset({"oui", "yes", "on"})
OFF_WORDS = frozenset({"non", "no", "off"})
EXPORT_WORDS = frozenset({"export", "exporter"})


def parse_address_arg(args: str) -> str | None:
    """None for a bare ``!abonner``, else the address given; UsageError if it is not one."""
    if not args.strip():
        return None
    address = normalise_address(args)
    if address is None:
        raise UsageError("subscriptions.bad_address")
    return address


def parse_dm_arg(args: str) -> bool | None:
    """None to see the subscription, True/False for ``mp oui`` / ``mp non``; else UsageError."""
    words = args.lower().split()
    if not words:
        return None
    if len(words) != 2 or words[0] not in DM_WORDS or words[1] not in ON_WORDS | OFF_WORDS:
        raise UsageError("subscriptions.bad_option")
    return words[1] in ON_WORDS


def parse_export_arg(args: str) -> bool:
    """Whether ``!abonnes`` asks for the export; UsageError for anything else."""
    word = args.strip().lower()
    if word and word not in EXPORT_WORDS:
        raise UsageError("subscriptions.bad_subcommand", word=word)
    return bool(word)


def _service(ctx: CommandContext | EventContext[Any]) -> Subscriptions:
    return ctx.services.subscriptions


@router.command("subscribe", fr="abonner", en="subscribe")
async def subscribe_command(ctx: CommandContext) -> None:
    """Propose an address in the DM, or subscribe with the one given."""
    address = parse_address_arg(ctx.args)
    service = _service(ctx)
    where = await service.reach(ctx.message, ctx.t)
    if address is None:
        await service.offer(ctx.session, where.who)
    else:
        await service.subscribe(ctx.session, where.who, address)
    if where.moved:
        await ctx.reply("subscriptions.moved_address" if address else "subscriptions.moved")


@router.command("subscription", fr="abonnement", en="subscription")
async def subscription_command(ctx: CommandContext) -> None:
    """What is stored about the sender, or delivery by DM on or off: answered in the DM."""
    wanted = parse_dm_arg(ctx.args)
    service = _service(ctx)
    where = await service.reach(ctx.message, ctx.t)
    if wanted is None:
        await service.describe(ctx.session, where.who)
    else:
        await service.set_dm(ctx.session, where.who, wanted)
    if where.moved:
        await ctx.reply("subscriptions.moved")


@router.command("unsubscribe", fr="desabonner", en="unsubscribe", aliases=("désabonner",))
async def unsubscribe_command(ctx: CommandContext) -> None:
    """Erase everything kept about the sender, then say so (the same words whether there was
    anything to erase or not)."""
    await _service(ctx).unsubscribe(ctx.sender)
    await ctx.reply("subscriptions.erased")


@router.command(
    "subscribers", fr="abonnes", en="subscribers", role=Role.ORGANISER, aliases=("abonnés",)
)
async def subscribers_command(ctx: CommandContext) -> None:
    """How many subscribe (in the room), or the CSV export sent to the organiser's DM."""
    if not parse_export_arg(ctx.args):
        counts = await _service(ctx).counts(ctx.session)
        await ctx.reply(
            "subscriptions.count",
            active=counts.active,
            by_dm=counts.by_dm,
            unreachable=counts.unreachable,
        )
        return
    await _export(ctx)


async def _export(ctx: CommandContext) -> None:
    """The organiser's DM first (network), then the file; ``ctx.session`` comes last."""
    service = _service(ctx)
    where = await service.reach(ctx.message, ctx.t)
    count = await service.export(ctx.session, where.who, ctx.now)
    await ctx.reply("subscriptions.export_sent", count=count)


@router.direct_reply
async def offer_answer(ctx: EventContext[IncomingMessage]) -> bool:
    """``oui``, a number, ``non`` or an address typed in a DM answers a pending offer."""
    reply = parse_reply(ctx.event.body)
    if reply is None:
        return False
    answer_to = ReplyTo(ctx.event.event_id, ctx.event.thread_root)
    who = await _service(ctx).in_dm(ctx.room_id, ctx.sender, ctx.t, answer_to)
    return who is not None and await _service(ctx).answer(ctx.session, who, reply)


@router.reaction
async def offer_thumbs_up(ctx: EventContext[IncomingReaction]) -> bool:
    """A 👍 on the bot's proposal, in the DM, confirms it."""
    if not is_thumbs_up(ctx.event.key):
        return False
    who = await _service(ctx).in_dm(ctx.room_id, ctx.sender, ctx.t, None)
    return who is not None and await _service(ctx).react(ctx.session, who, ctx.event.reacts_to)
