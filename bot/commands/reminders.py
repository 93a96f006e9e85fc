"""Organiser commands for reminders: set one (!rappel), list them (!rappels), cancel one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.commands.context import CommandContext
from bot.commands.declare import Role, Router
from bot.errors import UsageError
from bot.services.dates import describe
from bot.services.reminders import Draft, ReminderService, times
from bot.services.reminders.texts import mentions_room, moment
from bot.services.rooms import is_room
from bot.storage.reminders import Listed, Reminder
from bot.when import OneOff, Parsed, parse_when

router = Router("reminders")

CANCEL_WORDS = frozenset({"annuler", "supprimer", "cancel", "delete"})
MENTION_FLAGS = frozenset({"--tous", "--all", "--everyone"})
ROOM_OPTIONS = frozenset({"--salon", "--room"})
ROOM_WORDS = frozenset({"dans", "in"})  # "dans #salon:serveur", but "dans 2 heures" is a time
_PUBLIC_ID = re.compile(r"r[0-9a-z]{3,8}")
TEXT_IN_LIST = 80


@dataclass(frozen=True)
class RemindRequest:
    """``!rappel [--tous] [--salon <salon> | dans <salon>] <quand> <texte>``, split up."""

    rest: str
    room: str | None = None
    mention_room: bool = False


@dataclass(frozen=True)
class CancelRequest:
    """``!rappel annuler <id>``."""

    public_id: str


def parse_remind_args(args: str) -> RemindRequest | CancelRequest:
    """Read the options before the time; the time and text stay for ``parse_when``."""
    word, rest = _first(args)
    if not word:
        raise UsageError("reminders.missing")
    if word.lower() in CANCEL_WORDS:
        return CancelRequest(parse_public_id(rest))
    request = RemindRequest(args.strip())
    while True:
        word, rest = _first(request.rest)
        lowered = word.lower()
        if lowered in MENTION_FLAGS:
            request = RemindRequest(rest, request.room, mention_room=True)
        elif lowered in ROOM_OPTIONS or (lowered in ROOM_WORDS and is_room(_first(rest)[0])):
            room, rest = _first(rest)
            request = RemindRequest(rest, _room_option(room, request.room), request.mention_room)
        elif word.startswith("--"):
            raise UsageError("reminders.unknown_option", option=word)
        elif not word:
            raise UsageError("reminders.missing")
        else:
            return request


def _first(text: str) -> tuple[str, str]:
    """The first word and the rest, both stripped."""
    word, *rest = text.split(maxsplit=1) or [""]
    return word, rest[0].strip() if rest else ""


def _room_option(room: str, earlier: str | None) -> str:
    if not is_room(room):
        raise UsageError("rooms.bad", room=room)
    if earlier is not None:
        raise UsageError("reminders.two_rooms")
    return room


def parse_public_id(text: str) -> str:
    """A reminder's short id (``r7k2``), alone."""
    public_id = text.strip().lower()
    if not _PUBLIC_ID.fullmatch(public_id):
        raise UsageError("reminders.bad_id", id=text.strip())
    return public_id


def _service(ctx: CommandContext) -> ReminderService:
    return ctx.services.reminders


def _when(ctx: CommandContext, text: str) -> Parsed:
    """``parse_when`` on the config's zone; a time in the past is shown as the user reads it."""
    tz = ctx.services.config.tz
    try:
        return parse_when(text, now=ctx.now, tz=tz)
    except UsageError as error:
        if error.key == "when.past":
            raise UsageError("when.past", at=moment(error.params["at"], tz, ctx.language)) from None
        raise


@router.command("remind", fr="rappel", en="remind", role=Role.ORGANISER)
async def remind(ctx: CommandContext) -> None:
    request = parse_remind_args(ctx.args)
    if isinstance(request, CancelRequest):
        cancelled = await _service(ctx).cancel(ctx.session, request.public_id)
        await ctx.reply("reminders.cancelled", id=cancelled.public_id, text=cancelled.text)
        return
    parsed = _when(ctx, request.rest)
    service = _service(ctx)
    room_id = await service.target_room(request.room) if request.room else ctx.message.room_id
    mention = request.mention_room or mentions_room(parsed.text)
    draft = Draft(room_id, ctx.sender, parsed.text, parsed.schedule, mention, ctx.language)
    reminder = await service.create(ctx.session, draft, ctx.now)
    await ctx.reply_text(echo(ctx, reminder, request.room))


def echo(ctx: CommandContext, reminder: Reminder, room: str | None) -> str:
    """What the bot understood: ``C'est noté : rappel r7k2 le lundi 30 novembre 2026 à 14 h``."""
    t, tz = ctx.t, ZoneInfo(reminder.timezone)
    where = t("reminders.in_room", room=room) if room else ""
    where += t("reminders.with_mention") if reminder.mention_room else ""
    common = {"id": reminder.public_id, "zone": zone(ctx, tz), "text": reminder.text}
    when = moment(reminder.at, tz, ctx.language)
    if reminder.cron is None:
        return t("reminders.set_one_off", when=when, where=where, **common)
    rule = describe(times.schedule_of(reminder), tz, ctx.language)
    return t("reminders.set_recurring", rule=rule, when=when, where=where, **common)


def zone(ctx: CommandContext, tz: ZoneInfo) -> str:
    """``heure de Paris`` for Europe/Paris."""
    return ctx.t("reminders.zone", city=tz.key.rsplit("/", 1)[-1].replace("_", " "))


@router.command("reminders", fr="rappels", en="reminders", role=Role.ORGANISER)
async def list_reminders(ctx: CommandContext) -> None:
    listed = await _service(ctx).listing(ctx.session)
    if not listed:
        await ctx.reply("reminders.none", prefix=ctx.prefix, word=remind_word(ctx.language))
        return
    header = ctx.t("reminders.list_header", zone=zone(ctx, ctx.services.config.tz))
    await ctx.reply_text("\n".join([header, *(list_line(ctx, item) for item in listed)]))


def remind_word(language: str) -> str:
    """The word of ``!rappel`` in ``language``."""
    return next(c for c in router.commands if c.name == "remind").word(language)


def list_line(ctx: CommandContext, item: Listed) -> str:
    """One reminder: id, next time, rule, room, text, and whether its last message was sent."""
    t, reminder = ctx.t, item.reminder
    tz = ZoneInfo(reminder.timezone)
    here = reminder.room_id == ctx.message.room_id
    fields = {
        "id": reminder.public_id,
        "when": describe(OneOff(reminder.at), tz, ctx.language),
        "room": t("reminders.this_room") if here else reminder.room_id,
        "text": _shorten(reminder.text),
        "state": t(f"reminders.state.{item.delivery}") if item.delivery else "",
    }
    if reminder.cron is None:
        return t("reminders.line_one_off", **fields)
    rule = describe(times.schedule_of(reminder), tz, ctx.language)
    return t("reminders.line_recurring", rule=rule, **fields)


def _shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= TEXT_IN_LIST else flat[: TEXT_IN_LIST - 1].rstrip() + "…"
