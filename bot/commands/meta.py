"""Commands about the bot itself: help generated from the declarations, and ping."""

from __future__ import annotations

from bot import markup
from bot.commands.context import CommandContext, CommandIndex
from bot.commands.declare import Command, Role, Router
from bot.errors import UsageError
from bot.trust import DeviceTrust

router = Router("meta")


def visible(commands: list[Command], organiser: bool) -> list[Command]:
    """The commands a caller may run, in declaration order."""
    return [c for c in commands if c.role is Role.MEMBER or organiser]


def help_lines(ctx: CommandContext, dispatcher: CommandIndex) -> list[tuple[str, str]]:
    """(usage, help) pairs for every command the caller may run."""
    commands = visible(dispatcher.commands, ctx.is_organiser)
    return [(dispatcher.usage_line(c, ctx.t), ctx.t(c.help_key)) for c in commands]


def render_help(ctx: CommandContext, lines: list[tuple[str, str]]) -> tuple[str, str]:
    """Plain text and HTML of the help list."""
    header = ctx.t("help.header")
    footer = ctx.t("help.footer", prefix=ctx.prefix, word=ctx.command.word(ctx.language))
    text = "\n".join([header, *(f"• {usage} — {help_}" for usage, help_ in lines), footer])
    return text, markup.listing(header, lines, footer)


@router.command("help", fr="aide", en="help")
async def help_command(ctx: CommandContext) -> None:
    dispatcher = ctx.index
    if ctx.args:
        await ctx.reply_text(_one_command(ctx, dispatcher, ctx.args))
        return
    text, html = render_help(ctx, help_lines(ctx, dispatcher))
    await ctx.reply_text(text, html)


def _one_command(ctx: CommandContext, dispatcher: CommandIndex, word: str) -> str:
    found = dispatcher.lookup(word.strip().removeprefix(ctx.prefix).split(" ")[0])
    if found is None or found[0] not in visible(dispatcher.commands, ctx.is_organiser):
        raise UsageError("help.no_such_command", word=word.strip())
    command = found[0]
    lines = [f"{dispatcher.usage_line(command, ctx.t)} — {ctx.t(command.help_key)}"]
    for sub in command.subcommands:
        usage = dispatcher.usage_line(command, ctx.t, command.sub_usage_key(sub))
        lines.append(f"• {usage} — {ctx.t(command.sub_help_key(sub))}")
    return "\n".join(lines)


@router.command("ping", fr="ping", en="ping")
async def ping(ctx: CommandContext) -> None:
    await ctx.reply("ping.pong")


@router.command("status", fr="statut", en="status", role=Role.ORGANISER)
async def status(ctx: CommandContext) -> None:
    summary = await ctx.services.status.summary(ctx.session)
    text = ctx.t(
        "status.summary",
        version=summary.version,
        pending=summary.pending,
        failed=summary.failed,
        rooms=summary.rooms,
    )
    await ctx.reply_text("\n".join([text, *_device_line(ctx, summary.device)]))


def _device_line(ctx: CommandContext, trust: DeviceTrust | None) -> list[str]:
    """Whether the bot's device is cross-signed, and the remedy when it is not."""
    if trust is None:
        return []
    if trust.signed:
        return [ctx.t("status.device_signed", device=trust.device_id)]
    remedy = ctx.t(f"identity.remedy.{trust.problem}")
    return [ctx.t("status.device_unsigned", device=trust.device_id, remedy=remedy)]
