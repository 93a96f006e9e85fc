"""Configuration: a YAML file becomes a frozen, validated ``Config``, or every problem at once."""

from __future__ import annotations

import difflib
import os
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.errors import ConfigError

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

_ENV_REFERENCE = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CHANGE_ME = re.compile(r"change_?me", re.IGNORECASE)


def _check(condition: bool, reason: str) -> None:
    if not condition:
        raise PydanticCustomError("config", reason)


def _matching(pattern: str, what: str) -> AfterValidator:
    """A validator refusing strings that do not match ``pattern`` entirely."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        _check(bool(compiled.fullmatch(value)), f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    _check(parts.scheme in ("http", "https") and bool(parts.netloc), "must be an http(s) URL")
    return value


def _database_url(value: str) -> str:
    scheme, separator, rest = value.partition("://")
    driver = "postgresql+asyncpg" if scheme in ("postgres", "postgresql") else scheme
    reason = "must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
    _check(bool(separator) and driver in ("sqlite+aiosqlite", "postgresql+asyncpg"), reason)
    return f"{driver}://{rest}"


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError("config", f"unknown time zone {value!r}") from None
    return value


def _prefix(value: str) -> str:
    _check(0 < len(value) <= 3, "must be 1 to 3 characters long")
    _check(not any(char.isspace() for char in value), "must not contain spaces")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
UserId = Annotated[str, _matching(r"@[^:\s]+:\S+", "a Matrix user id (@name:server)")]
# Room version 12 ids carry no server part, so it is optional after '!'.
RoomRef = Annotated[
    str,
    _matching(r"![^:\s]+(:\S+)?|#[^:\s]+:\S+", "a room id (!id:server) or alias (#name:server)"),
]
ServerPattern = Annotated[
    str, _matching(r"[A-Za-z0-9.\-*?\[\]:]+", "a server name pattern such as '*.tchap.gouv.fr'")
]
Secret = Annotated[SecretStr, Field(min_length=1)]
Text = Annotated[str, Field(min_length=1)]
DataDir = Annotated[Path, AfterValidator(lambda path: path.expanduser().resolve())]
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR"],
    BeforeValidator(lambda level: level.upper() if isinstance(level, str) else level),
]


class Section(BaseModel):
    """Base of every configuration section: immutable, and unknown keys are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class MatrixConfig(Section):
    """How the bot reaches its homeserver and who it is there."""

    homeserver: Annotated[HttpUrl, AfterValidator(lambda url: url.rstrip("/"))]
    user_id: UserId
    password: Secret | None = None
    access_token: Secret | None = None
    device_name: Text = "ssphub-bot"
    encryption: bool = True
    command_grace_seconds: int = Field(default=300, ge=0)
    sync_timeout_ms: int = Field(default=30_000, ge=0)

    @model_validator(mode="wrap")
    @classmethod
    def _one_credential(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Self:
        """Check the credentials even when other keys of the section are wrong."""
        reason = _credential_problem(data)
        try:
            section: Self = handler(data)
        except ValidationError as error:
            raise (_with_problem(error, reason, data) if reason else error) from None
        if reason:
            raise PydanticCustomError("config", reason)
        return section

    @property
    def server_name(self) -> str:
        """The server part of the bot's user id (``localhost`` for ``@bot:localhost``)."""
        return self.user_id.split(":", 1)[1]


def _credential_problem(data: Any) -> str | None:
    if not isinstance(data, Mapping):
        return None
    given = [key for key in ("password", "access_token") if data.get(key) is not None]
    if not given:
        return "set 'password' or 'access_token' (neither is set)"
    return "set only one of 'password' and 'access_token', not both" if len(given) == 2 else None


def _with_problem(error: ValidationError, reason: str, data: Any) -> ValidationError:
    """``error`` with one more problem on the section itself."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError(e["type"], e["msg"], e.get("ctx")),
            loc=e["loc"],
            input=e["input"],
        )
        for e in error.errors()
    ]
    extra = InitErrorDetails(type=PydanticCustomError("config", reason), loc=(), input=data)
    return ValidationError.from_exception_data(error.title, [*details, extra])


class InvitesConfig(Section):
    """Which servers the bot accepts room invitations from."""

    allowed_servers: tuple[ServerPattern, ...] = ()


ItemKindName = Literal["newsletter", "event", "post", "project", "other"]
HUB_BASE_URL = "https://ssphub.netlify.app"
TEMPLATE_FIELDS = frozenset({"title", "number", "when", "place", "summary", "link", "feed"})


def _template(value: str) -> str:
    """An announcement template: ``{name}`` placeholders among ``TEMPLATE_FIELDS`` only."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as error:
        raise PydanticCustomError("config", f"malformed template ({error})") from None
    unknown = sorted({name for name in names if name not in TEMPLATE_FIELDS})
    known = ", ".join(sorted(TEMPLATE_FIELDS))
    _check(all(names), "empty placeholder {} in template; name one of: " + known)
    _check(not unknown, f"unknown placeholder {{{', '.join(unknown)}}}; use: {known}")
    return value


Template = Annotated[Text, AfterValidator(_template)]


class KindRuleConfig(Section):
    """Items whose link path contains ``path`` are of ``kind``."""

    path: Text
    kind: ItemKindName


class FeedConfig(Section):
    """One RSS feed of the hub, polled every ``interval`` seconds."""

    url: HttpUrl
    interval: int = Field(default=300, ge=10)
    name: Text | None = None
    announce: tuple[ItemKindName, ...] = ("newsletter", "event")
    announce_latest: int = Field(default=0, ge=0)
    max_per_poll: int = Field(default=5, ge=1)
    flood_share: float = Field(default=0.5, gt=0, le=1)
    flood_min_items: int = Field(default=5, ge=2)
    max_age_days: int | None = Field(default=14, ge=1)
    base_urls: tuple[HttpUrl, ...] = (HUB_BASE_URL,)
    kinds: tuple[KindRuleConfig, ...] | None = None
    default_kind: ItemKindName = "other"
    timeout_seconds: float = Field(default=20.0, gt=0)
    max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)

    @property
    def label(self) -> str:
        """How the feed is named in messages and logs."""
        return self.name or self.url


def _distinct_feeds(feeds: tuple[FeedConfig, ...]) -> tuple[FeedConfig, ...]:
    urls = [feed.url for feed in feeds]
    twice = sorted({url for url in urls if urls.count(url) > 1})
    _check(not twice, f"feed {', '.join(twice)} is listed more than once")
    return feeds


class TemplatesConfig(Section):
    """Announcement templates per kind; unset ones take the catalogue's wording."""

    newsletter: Template | None = None
    newsletter_unnumbered: Template | None = None
    event: Template | None = None
    post: Template | None = None
    project: Template | None = None
    other: Template | None = None


class AnnouncementsConfig(Section):
    """How new feed items are announced, and where organisers are told about the feeds."""

    templates: TemplatesConfig = TemplatesConfig()
    summary_chars: int = Field(default=300, ge=0, le=2000)
    date_change_notice: bool = True
    organiser_room: RoomRef | None = None


class RateLimitConfig(Section):
    """Token bucket per user: ``burst`` commands, refilled over ``per_seconds``."""

    burst: int = Field(default=5, ge=1)
    per_seconds: float = Field(default=30.0, gt=0)


class CommandsConfig(Section):
    """How members talk to the bot."""

    prefix: Annotated[str, AfterValidator(_prefix)] = "!"
    rate_limit: RateLimitConfig = RateLimitConfig()


class SendingConfig(Section):
    """Pacing and retries of outgoing messages."""

    pace_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=300.0, gt=0)


class WebConfig(Section):
    """The small HTTP server for health, metrics and the agenda; port 0 turns it off."""

    host: Text = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

    @property
    def enabled(self) -> bool:
        """Whether the web server runs at all."""
        return self.port != 0


class LoggingConfig(Section):
    """What the bot writes to its log."""

    level: LogLevel = "INFO"


class RemindersConfig(Section):
    """Reminders: how late a reminder missed while the bot was down may still be sent."""

    misfire_grace_seconds: int = Field(default=3600, ge=0)


_CLOCK_TIME = r"(?:[01]?\d|2[0-3]):[0-5]\d"
ClockTime = Annotated[str, _matching(_CLOCK_TIME, 'a time of day such as "09:00"')]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class EventRemindersConfig(Section):
    """Automatic reminders before each agenda event: how many days before, at what time."""

    enabled: bool = True
    days_before: tuple[Annotated[int, Field(ge=0, le=60)], ...] = (7, 1)
    hour: ClockTime = "09:00"


class DigestConfig(Section):
    """The weekly digest of the coming events, posted on ``day`` at ``time``."""

    enabled: bool = True
    day: Weekday = "mon"
    time: ClockTime = "09:00"
    days_ahead: int = Field(default=14, ge=1, le=90)


class AgendaConfig(Section):
    """Automatic agenda posts in the announcement rooms; each can be turned off."""

    event_reminders: EventRemindersConfig = EventRemindersConfig()
    digest: DigestConfig = DigestConfig()
    misfire_grace_seconds: int | None = Field(default=None, ge=0)


class SubscriptionsConfig(Section):
    """Newsletter subscriptions: the pace of newsletters sent by DM, and progress reports."""

    dm_pace_seconds: float = Field(default=1.0, ge=0)
    progress_interval_seconds: float = Field(default=30.0, gt=0)


class Config(Section):
    """The whole validated configuration; a new section is one more field here."""

    matrix: MatrixConfig
    rooms: tuple[RoomRef, ...] = Field(min_length=1)
    organisers: tuple[UserId, ...] = ()
    organiser_power_level: int = Field(default=50, ge=0, le=100)
    invites: InvitesConfig = InvitesConfig()
    feeds: Annotated[tuple[FeedConfig, ...], AfterValidator(_distinct_feeds)] = ()
    announcements: AnnouncementsConfig = AnnouncementsConfig()
    data_dir: DataDir = Field(default=Path("data"), validate_default=True)
    # repr=False: a PostgreSQL URL may carry a password.
    database_url: Annotated[str, AfterValidator(_database_url)] | None = Field(
        default=None, repr=False
    )
    timezone: Annotated[str, AfterValidator(_timezone)] = "Europe/Paris"
    language: Literal["fr", "en"] = "fr"
    commands: CommandsConfig = CommandsConfig()
    sending: SendingConfig = SendingConfig()
    web: WebConfig = WebConfig()
    logging: LoggingConfig = LoggingConfig()
    reminders: RemindersConfig = RemindersConfig()
    agenda: AgendaConfig = AgendaConfig()
    contact: Text | None = None
    subscriptions: SubscriptionsConfig = SubscriptionsConfig()

    @property
    def server_name(self) -> str:
        """The bot's own server, taken from its user id."""
        return self.matrix.server_name

    @property
    def allowed_invite_servers(self) -> tuple[str, ...]:
        """Server patterns invites are accepted from; the bot's own server when none is set."""
        return self.invites.allowed_servers or (self.server_name,)

    @property
    def database_url_or_default(self) -> str:
        """The configured database, or SQLite in the data directory."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir}/ssphub-bot.db"

    @property
    def tz(self) -> ZoneInfo:
        """The time zone dates are shown in."""
        return ZoneInfo(self.timezone)


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``path``; raise ``ConfigError`` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([f"{path}: cannot read the file ({error})"]) from None
    return parse_config(text, source=str(path), environ=os.environ if environ is None else environ)


def parse_config(text: str, *, source: str, environ: Mapping[str, str]) -> Config:
    """Validate YAML ``text``; ``source`` names the file in every problem."""
    tree = _read_yaml(text, source)
    if not isinstance(tree, dict):
        reason = "the file is empty" if tree is None else "the top level must be a mapping"
        raise ConfigError([f"{source}: {reason}"])
    value_problems: list[Problem] = []
    tree = _resolve(tree, (), environ, value_problems)
    config, schema_problems = _validate(tree, skip={loc for loc, _ in value_problems})
    problems = [f"{source}: {_format_loc(loc)}: {why}" for loc, why in value_problems]
    problems += [f"{source}: {_format_loc(loc)}: {why}" for loc, why in schema_problems]
    if problems or config is None:
        raise ConfigError(problems)
    return config


def _read_yaml(text: str, source: str) -> object:
    """The parsed YAML tree; a syntax error is refused with its line and column."""
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError([f"{where}: {_yaml_reason(error)}"]) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"{source}: {error}"]) from None


def _yaml_reason(error: yaml.MarkedYAMLError) -> str:
    reason = str(error.problem or error.context or "invalid YAML")
    if "'\\t'" in reason:
        return f"{reason}; indent with spaces, not tabs"
    if "constructor for the tag" in reason or "cannot start any" in reason:
        return f"{reason}; values starting with '!', '@', '%' or '`' must be put in quotes"
    return reason


def _resolve(node: Any, loc: Loc, environ: Mapping[str, str], problems: list[Problem]) -> Any:
    """Substitute ``${NAME}`` in every string of the tree and refuse placeholders."""
    if isinstance(node, dict):
        return {k: _resolve(v, (*loc, str(k)), environ, problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, (*loc, i), environ, problems) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node
    missing: list[str] = []
    value = _ENV_REFERENCE.sub(lambda match: _expand(match, environ, missing), node)
    problems += [(loc, reason) for reason in missing]
    if not missing and _is_placeholder(value):
        problems.append((loc, "placeholder value, replace it"))
    return value


def _expand(match: re.Match[str], environ: Mapping[str, str], problems: list[str]) -> str:
    """The text for one ``$$``, ``${NAME}`` or ``${NAME:-default}``."""
    if match[0] == "$$":
        return "$"
    name, has_default, default = (match[1] or "").partition(":-")
    if match[1] is None or not _ENV_NAME.fullmatch(name):
        problems.append(f"malformed environment reference {match[0]!r}, expected ${{NAME}}")
    elif environ.get(name):
        return environ[name]
    elif has_default or name in environ:
        return default
    else:
        problems.append(f"environment variable {name} is not set")
    return match[0]


def _is_placeholder(value: str) -> bool:
    bare = value.strip()
    wrapped = len(bare) > 2 and bare.startswith("<") and bare.endswith(">")
    return bool(_CHANGE_ME.search(bare)) or bare in {"xxx", "XXX", "TODO", "..."} or wrapped


_REASONS = {
    "missing": "required key is missing",
    "string_type": "must be text (put it in quotes)",
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "must be a whole number"),
    **dict.fromkeys(("float_type", "float_parsing"), "must be a number"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "must be true or false"),
    **dict.fromkeys(("list_type", "tuple_type"), "must be a list"),
    **dict.fromkeys(("model_type", "model_attributes_type"), "must be a mapping (key: value)"),
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    **dict.fromkeys(("too_short", "string_too_short"), "must not be empty"),
    "literal_error": "must be {expected}",
}


def _validate(tree: dict[str, Any], skip: set[Loc]) -> tuple[Config | None, list[Problem]]:
    """Validate the tree, leaving out problems at ``skip`` (already reported) but unknown keys."""
    try:
        return Config.model_validate(tree), []
    except ValidationError as error:
        errors = [(tuple(e["loc"]), e) for e in error.errors()]
    kept = [(loc, e) for loc, e in errors if loc not in skip or e["type"] == "extra_forbidden"]
    return None, [(loc, _reason(loc, e)) for loc, e in kept]


def _reason(loc: Loc, error: Any) -> str:
    kind: str = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if error["input"] is None and kind.endswith("_type"):
        return "has no value"
    if kind in _REASONS:
        return _REASONS[kind].format(**error.get("ctx", {}))
    return str(error["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")


def _unknown_key(loc: Loc) -> str:
    section = _section_at(loc[:-1])
    known = list(section.model_fields) if section else []
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"


def _section_at(loc: Loc) -> type[BaseModel] | None:
    """The section model found at ``loc``, following fields and list items."""
    node: Any = Config
    for part in loc:
        if isinstance(part, str) and _is_section(node):
            field = node.model_fields.get(part)
            node = field.annotation if field else None
        else:
            node = next(iter(get_args(node)), None)
    return node if _is_section(node) else None


def _is_section(node: object) -> bool:
    return isinstance(node, type) and issubclass(node, BaseModel)


def _format_loc(loc: Loc) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    return text.removeprefix(".") or "(top level)"
