"""The bot's error tree.

    BotError                      base of every error the bot raises on purpose
    ├── ConfigError               the configuration file is refused (every problem listed)
    ├── StorageError              the database cannot be reached or migrated
    ├── UserError                 a user's request cannot be served; the message is shown to them
    │   ├── UsageError            malformed arguments: the command's usage is shown
    │   ├── PermissionDenied      the command needs a role the sender lacks
    │   └── NotFound              the thing asked for does not exist
    └── DeliveryError             the homeserver refused or failed a send
        ├── RateLimited           M_LIMIT_EXCEEDED: retry after ``retry_after`` seconds
        ├── TransientDeliveryError  network trouble or 5xx: retry with backoff
        │   └── HomeserverUnreachable  no answer at all: retried for as long as it takes
        └── PermanentDeliveryError  4xx that retrying cannot fix (not in room, forbidden)

A ``UserError`` carries a catalogue key and its parameters, never a finished sentence, so the
router renders it in the caller's language.
"""

from __future__ import annotations

from typing import Any


class BotError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(BotError):
    """The configuration was refused; ``problems`` lists every reason at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class StorageError(BotError):
    """The database cannot be reached or migrated."""


class UserError(BotError):
    """A request that cannot be served; rendered to the user from the catalogue."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class UsageError(UserError):
    """Malformed arguments; the router adds the command's usage line."""

    def __init__(self, key: str = "errors.usage", **params: Any) -> None:
        super().__init__(key, **params)


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
