"""The configuration's sections: frozen, unknown keys refused; a new section is one more field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.config.fields import (
    ClockTime,
    DatabaseUrl,
    DataDir,
    HttpUrl,
    LogLevel,
    Prefix,
    RecoveryKey,
    RoomRef,
    Secret,
    Section,
    ServerPattern,
    Template,
    Text,
    TimeZone,
    UserId,
    check,
)
from bot.config.outbound import FetchConfig, MailConfig, unfetchable_feeds

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class MatrixConfig(Section):
    """How the bot reaches its homeserver and who it is there."""

    homeserver: Annotated[HttpUrl, AfterValidator(lambda url: url.rstrip("/"))]
    user_id: UserId
    password: Secret | None = None
    access_token: Secret | None = None
    recovery_key: RecoveryKey | None = None
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
    check(not twice, f"feed {', '.join(twice)} is listed more than once")
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

    prefix: Prefix = "!"
    rate_limit: RateLimitConfig = RateLimitConfig()


class SendingConfig(Section):
    """Pacing and retries of outgoing messages: token buckets per room (``room_burst``) and
    overall (``burst``), refilled at one message per ``pace_seconds`` (0: unpaced)."""

    pace_seconds: float = Field(default=1.0, ge=0)
    room_burst: int = Field(default=5, ge=1)
    burst: int = Field(default=10, ge=1)
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


class RetentionConfig(Section):
    """How long the database keeps what the bot no longer needs, and how often it prunes.

    Hours and days may be fractions (a soak lowers them); the prune never goes below what
    correctness needs (a claim within the command grace, a message still to send)."""

    interval_minutes: float = Field(default=60.0, gt=0)
    sent_messages_hours: float = Field(default=48.0, gt=0)
    failed_messages_days: float = Field(default=30.0, gt=0)
    handled_events_hours: float = Field(default=48.0, gt=0)
    history_days: float = Field(default=90.0, gt=0)
    feed_changes_days: float = Field(default=365.0, gt=0)
    batch_rows: int = Field(default=500, ge=1, le=10_000)

    def claims_window(self, command_grace: timedelta) -> timedelta:
        """How old an event may be and still be acted upon while the bot runs, so how long
        its claim must guard against a replay: the claims' retention, never below the grace."""
        return max(timedelta(hours=self.handled_events_hours), command_grace)


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
    database_url: DatabaseUrl | None = Field(default=None, repr=False)
    timezone: TimeZone = "Europe/Paris"
    language: Literal["fr", "en"] = "fr"
    commands: CommandsConfig = CommandsConfig()
    sending: SendingConfig = SendingConfig()
    web: WebConfig = WebConfig()
    logging: LoggingConfig = LoggingConfig()
    reminders: RemindersConfig = RemindersConfig()
    agenda: AgendaConfig = AgendaConfig()
    contact: Text | None = None
    subscriptions: SubscriptionsConfig = SubscriptionsConfig()
    fetch: FetchConfig = FetchConfig()
    mail: MailConfig | None = None
    retention: RetentionConfig = RetentionConfig()

    @model_validator(mode="after")
    def _feeds_fetchable(self) -> Self:
        """A feed at an IP address the bot would refuse to fetch from is refused now."""
        problems = unfetchable_feeds([feed.url for feed in self.feeds], self.fetch.allow_private)
        if problems:
            raise ValidationError.from_exception_data("Config", problems)
        return self

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
