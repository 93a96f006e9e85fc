"""The dispatcher: every event members send goes through it, to what the routers declared.

A command is found by its word, its role and the sender's rate are checked; a plain message in a
DM goes to the routers' reply handlers, a reaction to their reaction handlers. Each runs in its
own unit of work together with the record that its event was handled, so a replayed sync never
runs it twice. Errors stop here: a ``UserError`` becomes a short answer in the caller's language,
anything else an answer with a reference while the traceback goes to the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import markup
from bot.commands.context import CommandContext, EventContext
from bot.commands.declare import Command, ReactionHandler, ReplyHandler, Role, Router
from bot.commands.invocation import MAX_ARGUMENT_CHARS, parse_invocation, shorten, shortened
from bot.errors import PermissionDenied, UsageError, UserError
from bot.i18n import Catalogue, catalogue
from bot.messages import (
    IncomingMessage,
    IncomingReaction,
    Mentions,
    Message,
    ReplyTo,
    answering,
)
from bot.metrics import NO_COMMAND, Metrics
from bot.services.ratelimit import RateLimiter
from bot.services.registry import Services
from bot.storage import state
from bot.storage.db import watch_writes, wrote

log = logging.getLogger(__name__)
OK, IGNORED, ALREADY = "ok", "ignored", "already"


class AlreadyHandled(Exception):
    """The event was claimed by an earlier run: this run's work is rolled back."""


Work = Callable[[AsyncSession, datetime], Awaitable[bool]]
Event = IncomingMessage | IncomingReaction
EventHandler = Callable[[EventContext[Any]], Awaitable[bool]]


@dataclass(frozen=True)
class Source:
    """The event being handled: what to claim, and where and how to answer it."""

    room_id: str
    event_id: str
    answer_to: ReplyTo | None

    @classmethod
    def of(cls, message: IncomingMessage) -> Source:
        return cls(
            message.room_id, message.event_id, ReplyTo(message.event_id, message.thread_root)
        )


class Dispatcher:
    """Routes members' events to what the included routers declared."""

    def __init__(
        self, services: Services, limiter: RateLimiter, metrics: Metrics | None = None
    ) -> None:
        self.services = services
        self.limiter = limiter
        self.metrics = metrics or Metrics()
        self.prefix = services.config.commands.prefix
        self.default_language = services.config.language
        self.commands: list[Command] = []
        self.direct_replies: list[ReplyHandler] = []
        self.reactions: list[ReactionHandler] = []
        self._by_word: dict[str, tuple[Command, str]] = {}

    def include(self, *routers: Router) -> None:
        """Add the declarations of each router; a word used twice is a programming error."""
        for router in routers:
            for command in router.commands:
                self._index(command)
                self.commands.append(command)
            self.direct_replies += router.direct_replies
            self.reactions += router.reactions

    def _index(self, command: Command) -> None:
        entries = [(word, lang) for lang, word in command.words.items()]
        entries += [(alias, self.default_language) for alias in command.aliases]
        for word, language in entries:
            if word in self._by_word and self._by_word[word][0] is not command:
                raise ValueError(f"command word {word!r} declared twice")
            self._by_word.setdefault(word, (command, language))

    def lookup(self, word: str) -> tuple[Command, str] | None:
        return self._by_word.get(word.lower())

    # --- what arrives --------------------------------------------------------------------------

    async def handle(self, message: IncomingMessage) -> None:
        """Handle one text message: a command, a plain reply in a DM, or nothing for the bot."""
        invocation = parse_invocation(message.body, self.prefix)
        if invocation is None:
            if message.is_direct:
                await self._direct_reply(message)
            return
        found = self.lookup(invocation.word)
        language = found[1] if found else self.default_language
        t = catalogue(language)
        if not await self._within_rate(message, t):
            self.metrics.command(found[0].name if found else NO_COMMAND, "rate_limited")
            return
        if found is None:
            self.metrics.command(NO_COMMAND, "unknown")
            word = shorten(invocation.word)
            await self._answer(
                Source.of(message), t("router.unknown", prefix=self.prefix, word=word)
            )
            return
        await self._command(message, found[0], invocation.args, t)

    async def handle_reaction(self, reaction: IncomingReaction) -> None:
        """Offer a member's reaction to the reaction handlers, until one takes it."""
        source = Source(reaction.room_id, reaction.event_id, None)
        await self._offer(reaction, source, self.reactions, "reaction")

    async def handle_undecryptable(self, message: IncomingMessage) -> None:
        """In a direct conversation, ask the member to send again; elsewhere the log is enough."""
        if not message.is_direct:
            return
        t = catalogue(self.default_language)
        answer = _reply(Source.of(message), t("crypto.undecryptable"))
        async with self.services.db.session() as session:
            answering(session, message.event_id)
            await self.services.postbox.post(session, answer, dedupe_key=f"utd:{message.event_id}")

    async def _direct_reply(self, message: IncomingMessage) -> None:
        """Offer a plain DM message to the reply handlers, until one takes it."""
        await self._offer(message, Source.of(message), self.direct_replies, "DM reply")

    async def _offer(
        self, event: Event, source: Source, handlers: Sequence[EventHandler], what: str
    ) -> None:
        """Each handler in turn, in its own unit of work, until one says the event was its."""
        t = catalogue(self.default_language)
        for handler in handlers:
            work = partial(self._event_work, handler, event, t)
            if await self._guarded(source, t, work, what) != IGNORED:
                return

    async def _event_work(
        self,
        handler: EventHandler,
        event: Event,
        t: Catalogue,
        session: AsyncSession,
        now: datetime,
    ) -> bool:
        return await handler(EventContext(event, t, now, session, self.services))

    # --- commands ------------------------------------------------------------------------------

    async def _within_rate(self, message: IncomingMessage, t: Catalogue) -> bool:
        """Spend one of the sender's tokens; tell them once when they run out."""
        if self.limiter.take(message.sender):
            return True
        log.info("rate limit reached by %s in %s", message.sender, message.room_id)
        if self.limiter.should_warn(message.sender):
            seconds = max(1, round(self.limiter.retry_after(message.sender)))
            await self._answer(Source.of(message), t("router.rate_limited", seconds=seconds))
        return False

    async def _command(
        self, message: IncomingMessage, command: Command, args: str, t: Catalogue
    ) -> None:
        """Run the handler; its work and the event's claim commit together, or not at all.

        The claim comes last, so a handler that does its network I/O before touching the
        database holds no connection meanwhile; a replayed event loses the claim and its
        work is rolled back.
        """

        async def work(session: AsyncSession, now: datetime) -> bool:
            if len(args) > MAX_ARGUMENT_CHARS:
                raise UsageError("router.too_long", chars=len(args), limit=MAX_ARGUMENT_CHARS)
            organiser = await self.services.permissions.is_organiser(message.sender)
            if command.role is Role.ORGANISER and not organiser:
                raise PermissionDenied()
            ctx = CommandContext(
                message, command, args, t, now, session, self.services, organiser, self.prefix,
                self,
            )  # fmt: skip
            await command.handler(ctx)
            return True

        outcome = await self._guarded(
            Source.of(message), t, work, f"command {command.name}", command
        )
        if outcome != ALREADY:
            self.metrics.command(command.name, outcome)

    def _usage_answer(self, command: Command, error: UsageError, t: Catalogue) -> str:
        usage = self.usage_line(command, t, error.usage)
        reason = t(error.key, **shortened(error.params))
        return t("router.usage", reason=reason, usage=usage)

    def usage_line(self, command: Command, t: Catalogue, arguments: str | None = None) -> str:
        """``!word arguments`` for ``command`` in the catalogue's language; ``arguments`` is
        the catalogue key of one subcommand's usage instead of the whole command's."""
        usage = t(arguments or command.usage_key)
        word = self.prefix + command.word(t.language)
        return f"{word} {usage}".strip()

    # --- the one wrapper: unit of work, claim, error boundary ----------------------------------

    async def _guarded(
        self, source: Source, t: Catalogue, work: Work, what: str, command: Command | None = None
    ) -> str:
        """Run ``work`` in one unit of work with the event's claim (when it did something);
        every error ends here as an answer. The outcome, for the metrics."""
        try:
            return OK if await self._unit(source, work) else IGNORED
        except AlreadyHandled:
            log.debug("event %s was already handled", source.event_id)
            return ALREADY
        except UsageError as error:
            text = self._usage_answer(command, error, t) if command else _said(error, t)
            await self._answer(source, text)
            return "usage_error"
        except UserError as error:
            await self._answer(source, _said(error, t))
            return "denied" if isinstance(error, PermissionDenied) else "user_error"
        except Exception:
            ref = secrets.token_hex(4)
            log.exception(
                "%s failed (ref %s, event %s, room %s)", what, ref, source.event_id, source.room_id
            )
            await self._answer(source, t("router.internal_error", ref=ref))
            return "internal_error"

    async def _unit(self, source: Source, work: Work) -> bool:
        """Whether ``work`` acted; if it did, its writes and the claim commit together.

        When it wrote nothing but its answers, they go before the claim and the commit: their
        transaction ids come from the event, so a crash before the commit replays the event
        and the homeserver keeps the answers it already has."""
        services = self.services
        now = services.clock.now()
        async with services.db.session() as session:
            answering(session, source.event_id)
            watch_writes(session)
            if not await work(session, now):
                return False
            await services.postbox.release_answers(session, early=not wrote(session))
            if not await state.claim_event(session, source.event_id, source.room_id, now):
                raise AlreadyHandled(source.event_id)
        return True

    async def _answer(self, source: Source, text: str) -> None:
        """Send an answer that is not part of a handler's own work, once per event."""
        now = self.services.clock.now()
        async with self.services.db.session() as session:
            answering(session, source.event_id)
            if await state.claim_event(session, source.event_id, source.room_id, now):
                await self.services.postbox.post(session, _reply(source, text))


def _said(error: UserError, t: Catalogue) -> str:
    """A user error in the caller's language, the member's long texts cut."""
    return t(error.key, **shortened(error.params))


def _reply(source: Source, text: str) -> Message:
    """An answer in the event's room, replying to it (in its thread) when it was a message."""
    return Message(source.room_id, text, markup.lines(text), source.answer_to, Mentions())
