"""Messages as the domain sees them, before and after Matrix: no protocol details here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Mentions:
    """Who a message deliberately notifies; nobody unless said."""

    users: tuple[str, ...] = ()
    room: bool = False


@dataclass(frozen=True)
class ReplyTo:
    """The event answered, and the thread it belongs to, if any."""

    event_id: str
    thread_root: str | None = None


@dataclass(frozen=True)
class Message:
    """A message to post: plain text, optional HTML (sanitised when rendered), and relations."""

    room_id: str
    text: str
    html: str | None = None
    reply_to: ReplyTo | None = None
    mentions: Mentions = field(default_factory=Mentions)
    data: Mapping[str, Any] | None = None
    replaces: str | None = None


@dataclass(frozen=True)
class IncomingMessage:
    """A text message some member sent in a room the bot is in."""

    room_id: str
    event_id: str
    sender: str
    body: str
    sent_at: datetime
    thread_root: str | None = None
    is_direct: bool = False


class Postbox(Protocol):
    """Where services put messages: written in the caller's unit of work, sent after commit."""

    async def post(
        self, session: AsyncSession, message: Message, *, dedupe_key: str | None = None
    ) -> int:
        """Queue ``message``; return its outbox id (the existing one for a used dedupe key)."""
        ...
