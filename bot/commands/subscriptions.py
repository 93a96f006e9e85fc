"""Newsletter commands: !abonner, !abonnement, !desabonner, !abonnes; replies and 👍 in DMs.

Handlers that need the member's DM open it first (network I/O before any database work).
Answers holding an address only ever go to the DM; the room hears that they went there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import markup
from bot.commands.context import CommandContext
from bot.commands.declare import Role, Router
from bot.commands.router import AlreadyHandled
from bot.errors import DeliveryError, UsageError, UserError
from bot.i18n import catalogue
from bot.messages import IncomingMessage, IncomingReaction, Mentions, Message, ReplyTo
from bot.services.registry import Services
from bot.services.subscriptions import Correspondent, DirectChats, Subscriptions
from bot.services.subscriptions.addresses import normalise_address
from bot.services.subscriptions.grist import export_document
from bot.services.subscriptions.replies import is_thumbs_up, parse_reply
from bot.storage import state
from bot.storage import subscriptions as store

log = logging.getLogger(__name__)
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


@dataclass(frozen=True)
class Where:
    """The sender in their DM, and whether the command came from elsewhere (a shared room)."""

    who: Correspondent
    moved: bool


def _services(ctx: CommandContext) -> tuple[Subscriptions, DirectChats]:
    services = ctx.services
    assert services.subscriptions is not None and services.direct is not None
    return services.subscriptions, services.direct


async def _where(ctx: CommandContext, *, open_dm: bool = True) -> Where:
    """The sender's DM: this room if it is one, else theirs, reused or created (network)."""
    _, direct = _services(ctx)
    message = ctx.message
    name = direct.display_name(ctx.sender)
    private = direct.is_private(message.room_id, ctx.sender)
    if private or not open_dm:
        answer_to = ReplyTo(message.event_id, message.thread_root)
        who = Correspondent(ctx.sender, message.room_id, name, ctx.t, answer_to)
        return Where(who, moved=not private)
    try:
        room_id = await direct.open(ctx.sender)
    except DeliveryError as error:
        log.warning("no DM for a command in %s: %s", message.room_id, error)
        raise UserError("subscriptions.dm_failed") from error
    return Where(Correspondent(ctx.sender, room_id, name, ctx.t), moved=True)


@router.command("subscribe", fr="abonner", en="subscribe")
async def subscribe_command(ctx: CommandContext) -> None:
    """Propose an address in the DM, or subscribe with the one given."""
    address = parse_address_arg(ctx.args)
    where = await _where(ctx)
    service, _ = _services(ctx)
    if address is None:
        await service.offer(ctx.session, where.who)
    else:
        await service.subscribe(ctx.session, where.who, address)
    if where.moved:
        await ctx.reply("subscriptions.moved_address" if address else "subscriptions.moved")


@router.command("subscription", fr="abonnement", en="subscription")
async def subscription_command(ctx: CommandContext) -> None:
    """What is stored about the sender (in the DM), or turn delivery by DM on or off."""
    wanted = parse_dm_arg(ctx.args)
    where = await _where(ctx, open_dm=wanted is not False)
    service, _ = _services(ctx)
    if wanted is None:
        await service.describe(ctx.session, where.who)
        if where.moved:
            await ctx.reply("subscriptions.moved")
        return
    await service.set_dm(ctx.session, where.who, wanted)
    await ctx.reply("subscriptions.dm_set_on" if wanted else "subscriptions.dm_set_off")


@router.command("unsubscribe", fr="desabonner", en="unsubscribe", aliases=("désabonner",))
async def unsubscribe_command(ctx: CommandContext) -> None:
    """Erase the sender's address and preferences, and say so."""
    service, _ = _services(ctx)
    erased = await service.unsubscribe(ctx.session, ctx.sender)
    await ctx.reply("subscriptions.erased" if erased else "subscriptions.nothing_to_erase")


@router.command(
    "subscribers", fr="abonnes", en="subscribers", role=Role.ORGANISER, aliases=("abonnés",)
)
async def subscribers_command(ctx: CommandContext) -> None:
    """How many subscribe (in the room), or the CSV export sent to the organiser's DM."""
    if not parse_export_arg(ctx.args):
        service, _ = _services(ctx)
        counts = await service.counts(ctx.session)
        await ctx.reply(
            "subscriptions.count",
            active=counts.active,
            by_dm=counts.by_dm,
            unreachable=counts.unreachable,
        )
        return
    await _export(ctx)


async def _export(ctx: CommandContext) -> None:
    """DM first, then a short read of its own, the upload, and only then this unit of work."""
    files = ctx.services.files
    assert files is not None
    where = await _where(ctx)
    async with ctx.services.db.session() as session:  # ctx.session holds no connection yet
        subscribers = await store.active(session)
    document = export_document(subscribers, ctx.services.config.tz, ctx.now)
    try:
        uploaded = await files.upload(where.who.dm_room_id, document)
    except DeliveryError as error:
        log.warning("export upload to %s failed: %s", where.who.dm_room_id, error)
        raise UserError("subscriptions.export_failed") from error
    await files.post(ctx.session, uploaded)
    log.info("export of %d subscribers queued for %s", len(subscribers), where.who.dm_room_id)
    await ctx.reply("subscriptions.export_sent", count=len(subscribers))


class DirectReplies:
    """Plain replies and 👍 reactions in DMs, for members with a pending address offer."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def on_message(self, message: IncomingMessage) -> None:
        """``oui``, a number, ``non`` or an address typed in a DM; anything else is ignored."""
        reply = parse_reply(message.body)
        if reply is None:
            return
        answer_to = ReplyTo(message.event_id, message.thread_root)

        async def act(session: AsyncSession, who: Correspondent) -> bool:
            return await self._subscriptions.answer(session, who, reply)

        await self._handle(message.room_id, message.event_id, message.sender, act, answer_to)

    async def on_reaction(self, reaction: IncomingReaction) -> None:
        """A 👍 on the bot's proposal confirms it."""
        if not is_thumbs_up(reaction.key):
            return

        async def act(session: AsyncSession, who: Correspondent) -> bool:
            return await self._subscriptions.react(session, who, reaction.reacts_to)

        await self._handle(reaction.room_id, reaction.event_id, reaction.sender, act, None)

    @property
    def _subscriptions(self) -> Subscriptions:
        assert self.services.subscriptions is not None
        return self.services.subscriptions

    async def _handle(
        self,
        room_id: str,
        event_id: str,
        sender: str,
        act: Callable[[AsyncSession, Correspondent], Awaitable[bool]],
        answer_to: ReplyTo | None,
    ) -> None:
        """Run ``act`` in one unit of work with the event's claim; errors end here."""
        direct = self.services.direct
        if direct is None or not direct.is_private(room_id, sender):
            return
        t = catalogue(self.services.config.language)
        who = Correspondent(sender, room_id, direct.display_name(sender), t, answer_to)
        try:
            await self._act(event_id, who, act)
        except UserError as error:
            await self._tell(event_id, who, t(error.key, **error.params))
        except Exception:
            log.exception("DM reply %s in %s failed", event_id, room_id)

    async def _act(
        self,
        event_id: str,
        who: Correspondent,
        act: Callable[[AsyncSession, Correspondent], Awaitable[bool]],
    ) -> None:
        """The answer and the event's claim commit together; a replayed event changes nothing."""
        services = self.services
        try:
            async with services.db.session() as session:
                if await act(session, who) and not await state.claim_event(
                    session, event_id, who.dm_room_id, services.clock.now()
                ):
                    raise AlreadyHandled(event_id)
        except AlreadyHandled:
            log.debug("DM reply %s was already handled", event_id)

    async def _tell(self, event_id: str, who: Correspondent, text: str) -> None:
        """Answer a reply that could not be served, once per event."""
        services = self.services
        message = Message(who.dm_room_id, text, markup.lines(text), who.reply_to, Mentions())
        async with services.db.session() as session:
            if await state.claim_event(session, event_id, who.dm_room_id, services.clock.now()):
                await services.postbox.post(session, message)
