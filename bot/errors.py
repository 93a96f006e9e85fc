"""The bot's error tree.

    BotError                      base of every error the bot raises on purpose
    ├── ConfigError               the configuration file is refused (every problem listed)
    ├── StorageError              the database cannot be reached or migrated
    ├── ImportFileError           a file to import (the Grist contact table) cannot be read
    ├── LoginFailed               the homeserver refused the bot's credentials
    ├── MailFailed                the mail server refused a mail or did not answer
    ├── UserError                 a user's request cannot be served; the message is shown to them
    │   ├── UsageError            malformed arguments: the command's usage is shown
    │   │   └── BadTime           a time of day that cannot be (25h, 9h75)
    │   ├── PermissionDenied      the command needs a role the sender lacks
    │   └── NotFound              the thing asked for does not exist
    ├── DeliveryError             the homeserver refused or failed a send
    │   ├── RateLimited           M_LIMIT_EXCEEDED: retry after ``retry_after`` seconds
    │   ├── TransientDeliveryError  network trouble or 5xx: retry with backoff
    │   │   └── HomeserverUnreachable  no answer at all: retried for as long as it takes
    │   └── PermanentDeliveryError  4xx that retrying cannot fix (not in room, forbidden)
    └── FeedError                 a feed cannot be read: recorded on the feed, polled again later
        ├── FeedParseError        the body is no feed                             kind "parse"
        └── FetchError            the fetch failed; ``retry_after`` from the server, if any
            ├── FeedUnreachable   refused connection, reset, bad address          kind "network"
            ├── FeedTimeout       no whole answer within the feed's timeout       kind "timeout"
            ├── FeedRedirected    too many redirects, or one not followed         kind "redirects"
            ├── FeedTooLarge      a body over the feed's size cap                 kind "too_large"
            ├── FeedForbidden     an address the bot does not fetch from          kind "forbidden"
            └── FeedRefused       an HTTP error status                 kind "http_4xx", "http_5xx"

A ``UserError`` carries a catalogue key and its parameters, never a finished sentence, so the
router renders it in the caller's language. A ``FeedError``'s ``kind`` is what the feed's row
keeps and ``!flux`` shows. Errors of the libraries that reach the network (aiohttp, nio) become
errors of this tree at one place each, with ``map_exceptions``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]


class BotError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(BotError):
    """The configuration was refused; ``problems`` lists every reason at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StorageError(BotError):
    """The database cannot be reached or migrated."""


class ImportFileError(BotError):
    """The file cannot be read as the Grist contact table (no Email column, not CSV)."""


class LoginFailed(BotError):
    """The homeserver refused the bot's credentials."""


class MailFailed(BotError):
    """The mail server refused a mail, or could not be reached in time."""


class UserError(BotError):
    """A request that cannot be served; rendered to the user from the catalogue."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class UsageError(UserError):
    """Malformed arguments; the router adds the command's usage line, or the usage of the
    part of the command that was meant (the catalogue key ``usage``: a subcommand's)."""

    def __init__(self, key: str = "errors.usage", *, usage: str | None = None, **params: Any):
        super().__init__(key, **params)
        self.usage = usage


class BadTime(UsageError):
    """A time of day that cannot be: ``25h``, ``9h75``, ``13pm``."""

    def __init__(self, text: str) -> None:
        super().__init__("when.bad_time", text=text)


class PermissionDenied(UserError):
    """The command needs a role the sender lacks."""

    def __init__(self, key: str = "errors.permission_denied", **params: Any) -> None:
        super().__init__(key, **params)


class NotFound(UserError):
    """The thing asked for does not exist."""

    def __init__(self, key: str = "errors.not_found", **params: Any) -> None:
        super().__init__(key, **params)


class DeliveryError(BotError):
    """The homeserver refused or failed a send."""


class RateLimited(DeliveryError):
    """The homeserver answered M_LIMIT_EXCEEDED."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:.1f}s")
        self.retry_after = retry_after


class TransientDeliveryError(DeliveryError):
    """A failure worth retrying later (network, timeout, 5xx)."""


class HomeserverUnreachable(TransientDeliveryError):
    """The homeserver did not answer (refused connection, timeout): it says nothing about the
    room or the message, so a bounded retry budget must not be spent on it."""


class PermanentDeliveryError(DeliveryError):
    """A refusal that retrying cannot fix (not in the room, forbidden, bad request)."""


class FeedError(BotError):
    """A feed cannot be read; ``kind`` names why, for the feed's row and ``!flux``."""

    kind = "feed"
    retry_after: float | None = None


class FeedParseError(FeedError):
    """The body is not a feed: no usable entry, and feedparser found it malformed or empty."""

    kind = "parse"


class FetchError(FeedError):
    """A failed fetch, with what the backoff needs: the server's Retry-After, if it sent one."""

    def __init__(
        self, message: str, *, http_status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{self.kind}: {message}")
        self.http_status = http_status
        self.retry_after = retry_after


class FeedUnreachable(FetchError):
    """No answer: the connection was refused or reset, or the address does not resolve."""

    kind = "network"


class FeedTimeout(FetchError):
    """The whole answer did not arrive within the feed's timeout."""

    kind = "timeout"


class FeedRedirected(FetchError):
    """Too many redirects, or a redirect status that is not followed."""

    kind = "redirects"


class FeedTooLarge(FetchError):
    """The body is larger than the feed's size cap."""

    kind = "too_large"


class FeedForbidden(FetchError):
    """The address (or a redirect's) is one the bot never fetches from: loopback, private,
    link-local, multicast, metadata... unless the configuration allows it."""

    kind = "forbidden"


class FeedRefused(FetchError):
    """The server answered with an HTTP error status."""

    def __init__(self, status: int, *, retry_after: float | None = None) -> None:
        self.kind = "http_5xx" if status >= 500 else "http_4xx"
        super().__init__(f"HTTP {status}", http_status=status, retry_after=retry_after)


Translate = Callable[[BaseException], BotError]


@contextmanager
def map_exceptions(mapping: Mapping[ExceptionTypes, Translate]) -> Iterator[None]:
    """Turn a library's exceptions into errors of this tree: the first matching entry of
    ``mapping`` makes the new error (chained to the original); the rest pass unchanged."""
    try:
        yield
    except BotError:
        raise
    except Exception as error:
        for kinds, translate in mapping.items():
            if isinstance(error, kinds):
                raise translate(error) from error
        raise
