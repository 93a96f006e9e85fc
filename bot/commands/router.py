"""The dispatcher: finds the declared command, checks role and rate, runs it, answers errors.

Every command runs in its own unit of work together with the record that its event was
handled, so a replayed sync never runs it twice. Errors stop here: a ``UserError`` becomes a
short answer in the caller's language, anything else an answer with a reference while the
traceback goes to the log.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.commands.context import CommandContext, reply_to
from bot.commands.declare import Command, Role, Router
from bot.errors import PermissionDenied, UsageError, UserError
from bot.i18n import Catalogue, catalogue
from bot.messages import IncomingMessage
from bot.metrics import NO_COMMAND, Metrics
from bot.services.ratelimit import RateLimiter
from bot.services.registry import Services
from bot.storage import state

log = logging.getLogger(__name__)
# Commands are short: longer arguments are refused before any parsing (which they would slow
# down), and what the bot quotes back of a member's text is cut, so every answer stays short.
MAX_ARGUMENT_CHARS = 400
ECHO_CHARS = 80
_WORD_AND_REST = re.compile(r"(\S+)(.*)", re.DOTALL)


class AlreadyHandled(Exception):
    """The event was claimed by an earlier run: this run's work is rolled back."""


@dataclass(frozen=True)
class Invocation:
    """A message read as a command: the word typed and the rest."""

    word: str
    args: str


def strip_reply_fallback(body: str) -> str:
    """Drop the quoted lines a reply carries before the member's own text.

    The fallback quotes the original line by line, split at line feeds only: a quoted line may
    hold other line separators (U+2028, form feed...) that must not end the quote."""
    lines = body.split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).strip()


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shortened(params: dict[str, Any]) -> dict[str, Any]:
    """An error's parameters with the member's long texts cut before they are quoted back."""
    return {key: shorten(v) if isinstance(v, str) else v for key, v in params.items()}


def parse_invocation(body: str, prefix: str) -> Invocation | None:
    """``!word rest`` -> Invocation("word", "rest"); None when the text is not a command.

    Any white space ends the word (a tab, or a no-break space pasted from a document)."""
    text = strip_reply_fallback(body)
    if not text.startswith(prefix):
        return None
    found = _WORD_AND_REST.match(text, len(prefix))
    if found is None or not found[1][0].isalpha():
        return None
    return Invocation(found[1].lower(), found[2].strip())


class Dispatcher:
    """Routes incoming messages to declared commands."""

    def __init__(
        self, services: Services, limiter: RateLimiter, metrics: Metrics | None = None
    ) -> None:
        self.services = services
        self.limiter = limiter
        self.metrics = metrics or Metrics()
        self.prefix = services.config.commands.prefix
        self.default_language = services.config.language
        self.commands: list[Command] = []
        self._by_word: dict[str, tuple[Command, str]] = {}
        # Plain (non-command) messages in direct conversations, e.g. "oui" to an offer.
        self.direct_replies: Callable[[IncomingMessage], Awaitable[None]] | None = None

    def include(self, *routers: Router) -> None:
        """Add the commands of each router; a word used twice is a programming error."""
        for router in routers:
            for command in router.commands:
                self._index(command)
                self.commands.append(command)

    def _index(self, command: Command) -> None:
        entries = [(word, lang) for lang, word in command.words.items()]
        entries += [(alias, self.default_language) for alias in command.aliases]
        for word, language in entries:
            if word in self._by_word and self._by_word[word][0] is not command:
                raise ValueError(f"command word {word!r} declared twice")
            self._by_word.setdefault(word, (command, language))

    def lookup(self, word: str) -> tuple[Command, str] | None:
        return self._by_word.get(word.lower())

    async def handle(self, message: IncomingMessage) -> None:
        """Handle one incoming text message (most are not commands and are ignored)."""
        invocation = parse_invocation(message.body, self.prefix)
        if invocation is None:
            if message.is_direct and self.direct_replies is not None:
                await self.direct_replies(message)
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
            await self._answer(message, t("router.unknown", prefix=self.prefix, word=word))
            return
        await self._run(message, found[0], invocation.args, t)

    async def _within_rate(self, message: IncomingMessage, t: Catalogue) -> bool:
        """Spend one of the sender's tokens; tell them once when they run out."""
        if self.limiter.take(message.sender):
            return True
        log.info("rate limit reached by %s in %s", message.sender, message.room_id)
        if self.limiter.should_warn(message.sender):
            seconds = max(1, round(self.limiter.retry_after(message.sender)))
            await self._answer(message, t("router.rate_limited", seconds=seconds))
        return False

    async def _run(
        self, message: IncomingMessage, command: Command, args: str, t: Catalogue
    ) -> None:
        try:
            if len(args) > MAX_ARGUMENT_CHARS:
                raise UsageError("router.too_long", chars=len(args), limit=MAX_ARGUMENT_CHARS)
            await self._run_handler(message, command, args, t)
            self.metrics.command(command.name, "ok")
        except AlreadyHandled:
            log.debug("event %s was already handled", message.event_id)
        except UsageError as error:
            self.metrics.command(command.name, "usage_error")
            await self._answer(message, self._usage_answer(command, error, t))
        except UserError as error:
            outcome = "denied" if isinstance(error, PermissionDenied) else "user_error"
            self.metrics.command(command.name, outcome)
            await self._answer(message, t(error.key, **shortened(error.params)))
        except Exception:
            self.metrics.command(command.name, "internal_error")
            ref = secrets.token_hex(4)
            log.exception(
                "command %s failed (ref %s, event %s, room %s)",
                command.name,
                ref,
                message.event_id,
                message.room_id,
            )
            await self._answer(message, t("router.internal_error", ref=ref))

    async def _run_handler(
        self, message: IncomingMessage, command: Command, args: str, t: Catalogue
    ) -> None:
        """Run the handler; its work and the event's claim commit together, or not at all.

        The claim comes last, so a handler that does its network I/O before touching the
        database holds no connection meanwhile; a replayed event loses the claim and its
        work is rolled back.
        """
        services = self.services
        now = services.clock.now()
        async with services.db.session() as session:
            organiser = await services.permissions.is_organiser(message.sender)
            if command.role is Role.ORGANISER and not organiser:
                raise PermissionDenied()
            ctx = CommandContext(
                message, command, args, t, now, session, services, organiser, self.prefix, self
            )
            await command.handler(ctx)
            if not await state.claim_event(session, message.event_id, message.room_id, now):
                raise AlreadyHandled(message.event_id)

    def _usage_answer(self, command: Command, error: UsageError, t: Catalogue) -> str:
        usage = self.usage_line(command, t)
        reason = t(error.key, **shortened(error.params))
        return t("router.usage", reason=reason, usage=usage)

    def usage_line(self, command: Command, t: Catalogue) -> str:
        """``!word arguments`` for ``command`` in the catalogue's language."""
        arguments = t(command.usage_key)
        word = self.prefix + command.word(t.language)
        return f"{word} {arguments}".strip()

    async def _answer(self, message: IncomingMessage, text: str) -> None:
        """Send an answer that is not part of a command's own work, once per event."""
        now = self.services.clock.now()
        async with self.services.db.session() as session:
            if await state.claim_event(session, message.event_id, message.room_id, now):
                await self.services.postbox.post(session, reply_to(message, text))
