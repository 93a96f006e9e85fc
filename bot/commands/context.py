"""What a handler is given: the event (and a command's arguments), time, services, and reply()."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot import markup
from bot.commands.declare import Command
from bot.i18n import Catalogue
from bot.messages import IncomingMessage, IncomingReaction, Mentions, Message, ReplyTo

if TYPE_CHECKING:
    from bot.services.registry import Services

Event = TypeVar("Event", IncomingMessage, IncomingReaction)


class CommandIndex(Protocol):
    """The declared commands, as the help command reads them."""

    commands: list[Command]

    def lookup(self, word: str) -> tuple[Command, str] | None: ...

    def usage_line(self, command: Command, t: Catalogue, arguments: str | None = None) -> str: ...


def reply_to(incoming: IncomingMessage, text: str, html: str | None = None) -> Message:
    """An answer to ``incoming``: a reply in its room, kept in its thread."""
    return Message(
        room_id=incoming.room_id,
        text=text,
        html=html if html is not None else markup.lines(text),
        reply_to=ReplyTo(incoming.event_id, incoming.thread_root),
        mentions=Mentions(),
    )


@dataclass
class CommandContext:
    """One command being handled, inside its own unit of work.

    Do network I/O (fetching a feed, asking the homeserver) before the first database call:
    the unit of work holds a connection from its first statement until it ends.
    """

    message: IncomingMessage
    command: Command
    args: str
    t: Catalogue
    now: datetime
    session: AsyncSession
    services: Services
    is_organiser: bool
    prefix: str
    index: CommandIndex

    @property
    def sender(self) -> str:
        return self.message.sender

    @property
    def language(self) -> str:
        return self.t.language

    async def reply(self, key: str, **params: Any) -> None:
        """Answer with the catalogue message ``key``."""
        await self.reply_text(self.t(key, **params))

    async def reply_text(self, text: str, html: str | None = None) -> None:
        """Answer with ready text (and optional HTML, sanitised when rendered)."""
        answer = reply_to(self.message, text, html)
        await self.services.postbox.answer(self.session, answer)


@dataclass
class EventContext(Generic[Event]):
    """A plain reply in a DM or a reaction being handled, inside its own unit of work."""

    event: Event
    t: Catalogue
    now: datetime
    session: AsyncSession
    services: Services

    @property
    def sender(self) -> str:
        return self.event.sender

    @property
    def room_id(self) -> str:
        return self.event.room_id
