"""The configuration's value types: each refuses a bad value with a reason a person can act on."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr
from pydantic_core import PydanticCustomError

from bot.recoverykey import mistyped_recovery_key


class Section(BaseModel):
    """Base of every configuration section: immutable, and unknown keys are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def check(condition: bool, reason: str) -> None:
    """Refuse the value with ``reason`` unless ``condition`` holds."""
    if not condition:
        raise PydanticCustomError("config", reason)


def matching(pattern: str, what: str) -> AfterValidator:
    """A validator refusing strings that do not match ``pattern`` entirely."""
    compiled = re.compile(pattern)

    def full_match(value: str) -> str:
        check(bool(compiled.fullmatch(value)), f"{value!r} is not {what}")
        return value

    return AfterValidator(full_match)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    check(parts.scheme in ("http", "https") and bool(parts.netloc), "must be an http(s) URL")
    return value


def _database_url(value: str) -> str:
    scheme, separator, rest = value.partition("://")
    driver = "postgresql+asyncpg" if scheme in ("postgres", "postgresql") else scheme
    reason = "must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
    check(bool(separator) and driver in ("sqlite+aiosqlite", "postgresql+asyncpg"), reason)
    return f"{driver}://{rest}"


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError("config", f"unknown time zone {value!r}") from None
    return value


def _prefix(value: str) -> str:
    check(0 < len(value) <= 3, "must be 1 to 3 characters long")
    check(not any(char.isspace() for char in value), "must not contain spaces")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
DatabaseUrl = Annotated[str, AfterValidator(_database_url)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Prefix = Annotated[str, AfterValidator(_prefix)]
UserId = Annotated[str, matching(r"@[^:\s]+:\S+", "a Matrix user id (@name:server)")]
# Room version 12 ids carry no server part, so it is optional after '!'.
RoomRef = Annotated[
    str,
    matching(r"![^:\s]+(:\S+)?|#[^:\s]+:\S+", "a room id (!id:server) or alias (#name:server)"),
]
ServerPattern = Annotated[
    str, matching(r"[A-Za-z0-9.\-*?\[\]:]+", "a server name pattern such as '*.tchap.gouv.fr'")
]
Secret = Annotated[SecretStr, Field(min_length=1)]


def _recovery_key(value: SecretStr) -> SecretStr:
    """Text shaped like a recovery key must be one; any other text is taken as a passphrase."""
    problem = mistyped_recovery_key(value.get_secret_value())
    check(problem is None, f"not a valid recovery key: {problem}")
    return value


RecoveryKey = Annotated[Secret, AfterValidator(_recovery_key)]
Text = Annotated[str, Field(min_length=1)]
DataDir = Annotated[Path, AfterValidator(lambda path: path.expanduser().resolve())]
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR"],
    BeforeValidator(lambda level: level.upper() if isinstance(level, str) else level),
]


TEMPLATE_FIELDS = frozenset({"title", "number", "when", "place", "summary", "link", "feed"})
_ROOM_MENTION = re.compile(r"@room\b", re.IGNORECASE)


def template_problem(value: str) -> tuple[str, str] | None:
    """What makes ``value`` no announcement template, as (problem, detail), or None.

    Placeholders are ``{name}`` with a name of ``TEMPLATE_FIELDS``, bare: a conversion or a
    format spec (``{title:>99999999}``) could make a message of any size. Announcements never
    notify a whole room, so ``@room`` is refused too."""
    try:
        fields = [
            (n, spec, conv) for _, n, spec, conv in string.Formatter().parse(value) if n is not None
        ]
    except ValueError as error:
        return "malformed", str(error)
    names = [name for name, _, _ in fields]
    unknown = sorted({name for name in names if name not in TEMPLATE_FIELDS})
    if not all(names):
        return "empty_placeholder", ""
    if unknown:
        return "unknown_placeholder", ", ".join(unknown)
    decorated = [name for name, spec, conversion in fields if spec or conversion]
    if decorated:
        return "decorated_placeholder", decorated[0]
    return ("room_mention", "") if _ROOM_MENTION.search(value) else None


_TEMPLATE_REASONS = {
    "malformed": "malformed template ({detail})",
    "empty_placeholder": "empty placeholder {{}} in template; name one of: {known}",
    "unknown_placeholder": "unknown placeholder {{{detail}}}; use: {known}",
    "decorated_placeholder": "placeholder {{{detail}}} with a format or conversion; write it bare",
    "room_mention": "@room in a template; announcements never notify a whole room",
}


def _template(value: str) -> str:
    """An announcement template: ``template_problem`` finds nothing wrong with it."""
    problem = template_problem(value)
    if problem is not None:
        reason, detail = problem
        known = ", ".join(sorted(TEMPLATE_FIELDS))
        raise PydanticCustomError(
            "config", _TEMPLATE_REASONS[reason].format(detail=detail, known=known)
        )
    return value


Template = Annotated[Text, AfterValidator(_template)]


_CLOCK_TIME = r"(?:[01]?\d|2[0-3]):[0-5]\d"
ClockTime = Annotated[str, matching(_CLOCK_TIME, 'a time of day such as "09:00"')]
