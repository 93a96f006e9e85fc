"""Messages as the domain sees them, before and after Matrix: no protocol details here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """A message to post: plain text, optional HTML (sanitised when rendered), and relations.

    ``private_for`` names the member whose private data (or private conversation) it carries:
    the sending edge delivers it only if ``room_id`` is that member's true DM at send time."""

    room_id: str
    text: str
    html: str | None = None
    reply_to: ReplyTo | None = None
    mentions: Mentions = field(default_factory=Mentions)
    data: Mapping[str, Any] | None = None
    replaces: str | None = None
    private_for: str | None = None


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


class Audience(Protocol):
    """The hub's rooms as the parts that post by themselves read them (``HubRooms``)."""

    @property
    def rooms(self) -> Sequence[str]:
        """Where announcements and automatic posts go."""
        ...

    @property
    def organisers(self) -> Sequence[str]:
        """Where organisers hear about trouble: their room, else the hub's rooms."""
        ...

    @property
    def shared(self) -> Sequence[str]:
        """Every room of the hub, the organisers' included: none is ever a member's DM."""
        ...


class Postbox(Protocol):
    """Where services put messages: written in the caller's unit of work, sent after commit."""

    async def post(
        self,
        session: AsyncSession,
        message: Message,
        *,
        dedupe_key: str | None = None,
        bulk: bool = False,
    ) -> int:
        """Queue ``message``; return its outbox id (the existing one for a used dedupe key).

        ``bulk`` rows (one message to many DMs) also obey the sender's global bulk pace.
        """
        ...

    async def post_many(
        self,
        session: AsyncSession,
        messages: Sequence[tuple[Message, str]],
        *,
        bulk: bool = False,
    ) -> dict[str, int]:
        """Queue many messages with their dedupe keys at once; outbox ids of those written."""
        ...

    async def answer(self, session: AsyncSession, message: Message) -> None:
        """Queue an answer to the event this unit of work handles (``answering``); it is
        written once the handler is done, by ``release_answers``."""
        ...

    async def release_answers(self, session: AsyncSession, *, early: bool) -> None:
        """Write the answers ``answer`` queued; with ``early`` (the unit of work wrote
        nothing else) they are sent at once, before the unit commits."""
        ...


@dataclass(frozen=True)
class IncomingReaction:
    """A member's reaction (an emoji ``key``) to the event ``reacts_to``."""

    room_id: str
    event_id: str
    sender: str
    reacts_to: str
    key: str
    sent_at: datetime


@dataclass(frozen=True)
class Document:
    """A file to hand to someone: its name, media type and bytes."""

    filename: str
    mimetype: str
    data: bytes


class Uploaded(Protocol):
    """A document stored on the homeserver for one room, ready to be posted there."""

    @property
    def room_id(self) -> str: ...


class FileDrop(Protocol):
    """Sends documents: upload first (network, no database), then post in a unit of work."""

    async def upload(self, room_id: str, document: Document) -> Uploaded:
        """Store ``document`` for ``room_id`` (encrypted when the room is)."""
        ...

    async def post(
        self, session: AsyncSession, uploaded: Uploaded, *, private_for: str | None = None
    ) -> int:
        """Queue the file message in the caller's unit of work; its outbox id (``private_for``
        as for a ``Message``)."""
        ...


_ANSWERING = "ssphub.answering"


def answering(session: AsyncSession, event_id: str) -> None:
    """Say that what is posted in this unit of work answers the member's event ``event_id``."""
    session.info[_ANSWERING] = [event_id, 0]


def next_answer(session: AsyncSession) -> tuple[str, int] | None:
    """The event this unit of work answers and how many answers it posted before this one
    (counting this one); None when it answers no member's event."""
    answered = session.info.get(_ANSWERING)
    if answered is None:
        return None
    event_id, index = answered
    answered[1] = index + 1
    return str(event_id), int(index)
