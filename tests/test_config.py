"""Tests of the configuration loader: defaults, environment, and every problem at once."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.config import Config, load_config, parse_config
from bot.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "config.example.yaml"

MINIMAL = """\
matrix:
  homeserver: http://127.0.0.1:8008
  user_id: "@ssphub-bot:localhost"
  password: ${BOT_PASSWORD}        # or access_token: ${BOT_ACCESS_TOKEN}
rooms: ["!abcdef:localhost"]       # where announcements go (room ids or aliases)
organisers: ["@orga:localhost"]
feeds:
  - url: http://127.0.0.1:8765/infolettre.xml
    interval: 60                   # seconds between polls (optional, default 300)
  - url: http://127.0.0.1:8765/event.xml
fetch:
  allow_private: ["127.0.0.1"]     # the feeds above are on loopback
data_dir: ./data                   # database (SQLite by default), session, crypto store
"""

ENV = {"BOT_PASSWORD": "hunter2-secret"}


def parse(text: str, environ: dict[str, str] | None = None) -> Config:
    return parse_config(text, source="bot.yaml", environ=ENV if environ is None else environ)


def problems(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(text, environ)
    return caught.value.problems


def test_minimal_file_is_accepted_with_the_documented_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The minimal file loads, and every key it leaves out takes its default."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bot.yaml").write_text(MINIMAL)
    config = load_config(tmp_path / "bot.yaml", environ=ENV)
    assert config.matrix.homeserver == "http://127.0.0.1:8008"
    assert config.matrix.password is not None
    assert config.matrix.password.get_secret_value() == "hunter2-secret"
    assert config.rooms == ("!abcdef:localhost",)
    assert config.organisers == ("@orga:localhost",)
    assert [(f.url, f.interval) for f in config.feeds] == [
        ("http://127.0.0.1:8765/infolettre.xml", 60),
        ("http://127.0.0.1:8765/event.xml", 300),
    ]
    assert config.data_dir == tmp_path.resolve() / "data"
    assert config.database_url_or_default == (
        f"sqlite+aiosqlite:///{tmp_path.resolve()}/data/ssphub-bot.db"
    )
    assert config.tz == ZoneInfo("Europe/Paris")
    assert config.language == "fr"
    assert config.commands.prefix == "!"
    assert config.matrix.encryption is True
    assert config.web.port == 8080


def test_minimal_file_accepts_an_access_token_instead_of_a_password() -> None:
    """An access token from the environment replaces the password."""
    text = MINIMAL.replace("password: ${BOT_PASSWORD}", "access_token: ${BOT_ACCESS_TOKEN}")
    config = parse(text, {"BOT_ACCESS_TOKEN": "syt_token"})
    assert config.matrix.password is None
    assert config.matrix.access_token is not None
    assert config.matrix.access_token.get_secret_value() == "syt_token"


def test_load_config_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an explicit mapping, variables come from os.environ."""
    monkeypatch.setenv("BOT_PASSWORD", "from-process")
    (tmp_path / "bot.yaml").write_text(MINIMAL)
    config = load_config(tmp_path / "bot.yaml")
    assert config.matrix.password is not None
    assert config.matrix.password.get_secret_value() == "from-process"


def test_every_problem_is_reported_at_once_with_file_and_key_path() -> None:
    """Four different mistakes give four problems, each naming the file and the key path."""
    text = (
        MINIMAL.replace("interval: 60", "interval: 5")
        .replace("http://127.0.0.1:8008", "ftp://127.0.0.1")
        .replace('["@orga:localhost"]', '["orga"]')
        + "language: de\n"
    )
    assert sorted(problems(text)) == [
        "bot.yaml: feeds[0].interval: must be at least 10",
        "bot.yaml: language: must be 'fr' or 'en'",
        "bot.yaml: matrix.homeserver: must be an http(s) URL",
        "bot.yaml: organisers[0]: 'orga' is not a Matrix user id (@name:server)",
    ]


def test_unknown_key_is_refused_with_the_closest_known_key() -> None:
    """A misspelt key is named, with the key that was probably meant."""
    text = MINIMAL.replace("interval: 60", "intervall: 60") + "colour: blue\n"
    assert problems(text) == [
        "bot.yaml: feeds[0].intervall: unknown key (did you mean 'interval'?)",
        "bot.yaml: colour: unknown key",
    ]


def test_missing_required_key_is_named() -> None:
    """A required key left out is reported in plain words."""
    text = MINIMAL.replace('  user_id: "@ssphub-bot:localhost"\n', "")
    assert problems(text) == ["bot.yaml: matrix.user_id: required key is missing"]


def test_unset_environment_variable_is_a_problem_at_its_key() -> None:
    """A ${NAME} whose variable is unset names the variable and the key, once."""
    assert problems(MINIMAL, {}) == [
        "bot.yaml: matrix.password: environment variable BOT_PASSWORD is not set"
    ]


def test_environment_default_and_dollar_escape() -> None:
    """${NAME:-default} falls back when unset, and $$ stands for one dollar."""
    text = (
        MINIMAL + "contact: ${CONTACT:-ops@example.org}\nweb:\n  host: a$$b\n  port: ${PORT:-0}\n"
    )
    config = parse(text)
    assert config.contact == "ops@example.org"
    assert config.web.host == "a$b"
    assert config.web.port == 0
    assert parse(text, {**ENV, "CONTACT": "x@example.org"}).contact == "x@example.org"


def test_environment_values_are_taken_verbatim_not_as_yaml() -> None:
    """A variable holding quotes, colons or a newline cannot change the file's structure."""
    password = "a\"b': c\nrooms: []"
    config = parse(MINIMAL, {"BOT_PASSWORD": password})
    assert config.matrix.password is not None
    assert config.matrix.password.get_secret_value() == password
    assert config.rooms == ("!abcdef:localhost",)


@pytest.mark.parametrize(
    "value", ["CHANGE_ME", "ops-changeme@example.org", "xxx", "TODO", "...", "<your e-mail>"]
)
def test_placeholder_values_are_refused(value: str) -> None:
    """A value left as a placeholder is refused, also when it comes from the environment."""
    expected = ["bot.yaml: contact: placeholder value, replace it"]
    assert problems(MINIMAL + f"contact: '{value}'\n") == expected
    assert problems(MINIMAL + "contact: ${CONTACT}\n", {**ENV, "CONTACT": value}) == expected


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        ("", "set 'password' or 'access_token' (neither is set)"),
        ("  password: a\n  access_token: b\n", "set only one of 'password' and 'access_token'"),
    ],
)
def test_exactly_one_credential_is_required(credentials: str, reason: str) -> None:
    """Neither or both of password and access_token is a problem on the matrix section."""
    text = MINIMAL.replace("  password: ${BOT_PASSWORD}", credentials.rstrip("\n"))
    (problem,) = problems(text)
    assert problem.startswith(f"bot.yaml: matrix: {reason}")


def test_credential_problem_is_reported_with_the_sections_other_problems() -> None:
    """A missing credential does not hide another mistake in the matrix section."""
    text = MINIMAL.replace("password: ${BOT_PASSWORD}", "").replace("http://", "ftp://", 1)
    assert problems(text) == [
        "bot.yaml: matrix.homeserver: must be an http(s) URL",
        "bot.yaml: matrix: set 'password' or 'access_token' (neither is set)",
    ]


def test_unknown_timezone_is_refused() -> None:
    """A time zone the tz database does not know is refused by name."""
    assert problems(MINIMAL + "timezone: Europe/Pariss\n") == [
        "bot.yaml: timezone: unknown time zone 'Europe/Pariss'"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "postgres://bot:pw@db:5432/hub",
        "postgresql://bot:pw@db:5432/hub",
        "postgresql+asyncpg://bot:pw@db:5432/hub",
    ],
)
def test_postgres_urls_are_rewritten_to_asyncpg(url: str) -> None:
    """Every PostgreSQL spelling ends up on the asyncpg driver."""
    config = parse(MINIMAL + f"database_url: {url}\n")
    assert config.database_url_or_default == "postgresql+asyncpg://bot:pw@db:5432/hub"


def test_unsupported_database_is_refused() -> None:
    """A database URL for another driver is refused."""
    assert problems(MINIMAL + "database_url: mysql://db/hub\n") == [
        "bot.yaml: database_url: must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
    ]


def test_yaml_syntax_error_gives_line_and_column() -> None:
    """A YAML mistake is reported with its line and column."""
    text = MINIMAL.replace('user_id: "@ssphub-bot:localhost"', "user_id: @ssphub-bot:localhost")
    (problem,) = problems(text)
    assert problem.startswith("bot.yaml:3:12: found character '@'")
    assert "quotes" in problem


def test_missing_file_is_one_problem_naming_it(tmp_path: Path) -> None:
    """A configuration file that does not exist gives one problem with its path."""
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml")
    assert caught.value.problems == [f"{tmp_path / 'nope.yaml'}: file not found"]


@pytest.mark.parametrize(
    ("text", "reason"), [("", "the file is empty"), ("- a\n", "the top level must be a mapping")]
)
def test_file_that_is_not_a_mapping_is_refused(text: str, reason: str) -> None:
    """An empty file or a bare list is refused as a whole."""
    assert problems(text) == [f"bot.yaml: {reason}"]


def test_secrets_never_appear_in_repr_str_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Password, access token and database password stay hidden when the config is shown."""
    text = MINIMAL + "database_url: postgres://bot:db-secret@db/hub\n"
    config = parse(text)
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("config: %s %r", config, config.matrix)
    for shown in (repr(config), str(config), caplog.text):
        assert "hunter2-secret" not in shown
        assert "db-secret" not in shown
    assert "**********" in repr(config)


def test_invites_default_to_the_bots_own_server() -> None:
    """With no allowed servers configured, only the bot's own server may invite it."""
    assert parse(MINIMAL).allowed_invite_servers == ("localhost",)
    text = MINIMAL + "invites: {allowed_servers: ['*.tchap.gouv.fr']}\n"
    assert parse(text).allowed_invite_servers == ("*.tchap.gouv.fr",)


def test_config_is_frozen() -> None:
    """A loaded configuration cannot be changed afterwards."""
    config = parse(MINIMAL)
    with pytest.raises(ValidationError):
        config.language = "en"


def test_unedited_example_fails_only_on_placeholders() -> None:
    """The shipped example is refused until its placeholders are replaced, and for nothing else."""
    with pytest.raises(ConfigError) as caught:
        load_config(EXAMPLE, environ=ENV)
    assert caught.value.problems
    assert all(p.endswith(": placeholder value, replace it") for p in caught.value.problems)


def test_example_with_placeholders_replaced_is_valid() -> None:
    """Replacing CHANGE_ME in the example gives a valid configuration for Tchap."""
    text = EXAMPLE.read_text(encoding="utf-8").replace("CHANGE_ME", "ssphub")
    config = parse(text)
    assert config.matrix.homeserver.endswith(".tchap.gouv.fr")
    assert [feed.url for feed in config.feeds] == [
        "https://ssphub.netlify.app/infolettre/infolettre.xml",
        "https://ssphub.netlify.app/event.xml",
    ]


RECOVERY_KEY = "EsSz ykH7 LCZx 7Cae cmKD wcmY JRXi Ybtu 8iQ3 t8Ez nRwK pUY1"


def with_recovery_key(value: str) -> str:
    """The minimal file with ``matrix.recovery_key`` set to ``value``."""
    return MINIMAL.replace("rooms:", f'  recovery_key: "{value}"\nrooms:', 1)


@pytest.mark.parametrize("value", [RECOVERY_KEY, RECOVERY_KEY.replace(" ", ""), "une phrase"])
def test_recovery_key_or_passphrase_is_accepted_and_kept_secret(value: str) -> None:
    """A valid recovery key (spaced or not) or any passphrase is taken, and never shown."""
    config = parse(with_recovery_key(value))
    assert config.matrix.recovery_key is not None
    assert config.matrix.recovery_key.get_secret_value() == value
    assert value not in repr(config) and value not in str(config)


def test_mistyped_recovery_key_is_refused_without_echoing_it() -> None:
    """Text shaped like a recovery key whose check digit is wrong is a problem at its key."""
    typo = RECOVERY_KEY[:-1] + "2"
    (problem,) = problems(with_recovery_key(typo))
    assert problem.startswith("bot.yaml: matrix.recovery_key: not a valid recovery key")
    assert typo not in problem and typo.replace(" ", "") not in problem
