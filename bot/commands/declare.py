"""What a feature module declares to the dispatcher: its commands (name, words per language, role;
help and usage come from the catalogue), and its handlers of plain replies in a DM and of
reactions. The application includes each module's router explicitly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.commands.context import CommandContext, EventContext
    from bot.messages import IncomingMessage, IncomingReaction

Handler = Callable[["CommandContext"], Awaitable[None]]
# A reply or reaction handler says whether the event was its business: only then is it claimed.
ReplyHandler = Callable[["EventContext[IncomingMessage]"], Awaitable[bool]]
ReactionHandler = Callable[["EventContext[IncomingReaction]"], Awaitable[bool]]


class Role(IntEnum):
    """Who may run a command; higher includes lower."""

    MEMBER = 0
    ORGANISER = 1


@dataclass(frozen=True)
class Command:
    """One command as declared by its module.

    ``words`` maps a language to the command's word in it (``{"fr": "aide", "en": "help"}``);
    the word a member types also picks the language of the answer. Usage and help are the
    catalogue entries ``commands.<name>.usage`` and ``commands.<name>.help``; each of its
    ``subcommands`` has its own, ``commands.<name>.<subcommand>.usage`` and ``.help``.
    """

    name: str
    words: dict[str, str]
    handler: Handler
    role: Role = Role.MEMBER
    aliases: tuple[str, ...] = ()
    subcommands: tuple[str, ...] = ()

    @property
    def usage_key(self) -> str:
        return f"commands.{self.name}.usage"

    @property
    def help_key(self) -> str:
        return f"commands.{self.name}.help"

    def sub_usage_key(self, subcommand: str) -> str:
        return f"commands.{self.name}.{subcommand}.usage"

    def sub_help_key(self, subcommand: str) -> str:
        return f"commands.{self.name}.{subcommand}.help"

    def word(self, language: str) -> str:
        return self.words.get(language) or next(iter(self.words.values()))


class Router:
    """The commands and event handlers of one feature module, included by the application."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.commands: list[Command] = []
        self.direct_replies: list[ReplyHandler] = []
        self.reactions: list[ReactionHandler] = []

    def command(
        self,
        name: str,
        *,
        fr: str,
        en: str,
        role: Role = Role.MEMBER,
        aliases: tuple[str, ...] = (),
        subcommands: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Declare the decorated coroutine as the handler of command ``name``."""

        def register(handler: Handler) -> Handler:
            words = {"fr": fr, "en": en}
            self.commands.append(Command(name, words, handler, role, aliases, subcommands))
            return handler

        return register

    def direct_reply(self, handler: ReplyHandler) -> ReplyHandler:
        """Declare the decorated coroutine a handler of plain (non-command) messages in DMs."""
        self.direct_replies.append(handler)
        return handler

    def reaction(self, handler: ReactionHandler) -> ReactionHandler:
        """Declare the decorated coroutine a handler of members' reactions."""
        self.reactions.append(handler)
        return handler
