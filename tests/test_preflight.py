"""Start-up checks: an unusable data directory, database or crypto store is refused in one line
naming the file, the reason and the fix, by `run` and `check-config` alike."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config import Config, parse_config
from bot.preflight import inspect, keep_private, prepare
from bot.storage import migrate
from tests.storage_fixtures import POSTGRES_URL_VARIABLE

USER = "@bot:localhost"
SESSION = {
    "homeserver": "http://127.0.0.1:8008", "user_id": USER, "device_id": "DEV", "access_token": "t"
}  # fmt: skip


def config_for(data_dir: Path, extra: str = "", encryption: bool = True) -> Config:
    matrix = f'homeserver: "http://127.0.0.1:8008", user_id: "{USER}", password: x'
    text = f"""\
matrix: {{{matrix}, encryption: {str(encryption).lower()}}}
rooms: ["!room:localhost"]
data_dir: {data_dir}
{extra}"""
    return parse_config(text, source="test.yaml", environ={})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def umask_restored() -> Iterator[None]:
    """``prepare`` tightens the process's umask; the other tests keep theirs."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


@dataclass
class Locked:
    """A directory this test's subprocesses cannot write, and how to start them."""

    path: Path
    prefix: list[str]


@pytest.fixture
def locked_dir(tmp_path: Path) -> Iterator[Locked]:
    """Root owns nothing here and runs without its power to override file permissions
    (CAP_DAC_OVERRIDE); another user gets a directory without write permission."""
    path = tmp_path / "data"
    path.mkdir()
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
        yield Locked(path, ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"])
    else:
        path.chmod(0o555)
        yield Locked(path, [])
        path.chmod(0o755)


@pytest.mark.parametrize("command", ["run", "check-config"])
def test_an_unwritable_data_directory_is_one_line_naming_it(
    locked_dir: Locked, tmp_path: Path, command: str
) -> None:
    """`run` exits 2 before any login, and `check-config` says the same, in one line naming
    the directory, the reason and the fix; no traceback."""
    config = tmp_path / "bot.yaml"
    config.write_text(f"""\
matrix: {{homeserver: "http://127.0.0.1:9", user_id: "{USER}", password: x}}
rooms: ["!room:localhost"]
data_dir: {locked_dir.path}
""")  # fmt: skip
    result = subprocess.run(
        [*locked_dir.prefix, sys.executable, "-m", "bot", command, "--config", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"{locked_dir.path}: the data directory is not writable by uid ")
    assert "(Permission denied); fix: make it writable by uid" in line
    assert list(locked_dir.path.iterdir()) == []


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    """A file where the directory should be is named as such."""
    (tmp_path / "data").write_text("")
    (problem,) = inspect(config_for(tmp_path / "data"))
    assert str(problem).startswith(f"{tmp_path / 'data'}: data_dir is not a directory; fix: ")


def test_check_config_creates_nothing_and_start_creates_a_private_directory(
    tmp_path: Path,
) -> None:
    """A missing data directory that can be created is fine for check-config, which leaves it
    missing; the start creates it, readable by its owner only."""
    config = config_for(tmp_path / "new" / "data")
    assert inspect(config) == []
    assert not (tmp_path / "new").exists()
    assert prepare(config) == []
    assert mode(tmp_path / "new" / "data") == 0o700


def test_a_data_directory_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    """Under a file, the directory cannot exist: both checks say so."""
    (tmp_path / "file").write_text("")
    config = config_for(tmp_path / "file" / "data")
    (found,) = inspect(config)
    assert "cannot create it (Not a directory)" in str(found)
    (found,) = prepare(config)
    assert str(found).startswith(f"{tmp_path / 'file' / 'data'}: the data directory cannot be")


def test_a_corrupt_database_is_named_with_a_restore_fix(tmp_path: Path) -> None:
    """A database file that is not SQLite stops the start, with the backup as the fix."""
    (tmp_path / "ssphub-bot.db").write_bytes(b"not a database, " * 100)
    for found in (inspect(config_for(tmp_path)), prepare(config_for(tmp_path))):
        (problem,) = found
        assert str(problem) == (
            f"{tmp_path / 'ssphub-bot.db'}: the database cannot be opened (file is not a "
            "database); fix: restore it from the backup (docs/operations.md, The data volume), "
            "or move it away to start with an empty database"
        )


def test_an_unreadable_session_file_is_named(tmp_path: Path) -> None:
    """A damaged session.json is refused, saying that without it the device changes."""
    (tmp_path / "session.json").write_text("{broken")
    (problem,) = inspect(config_for(tmp_path))
    assert str(problem).startswith(f"{tmp_path / 'session.json'}: the bot's session cannot be read")
    assert "without it the bot logs in as a new device" in str(problem)


def test_a_corrupt_crypto_store_is_named(tmp_path: Path) -> None:
    """The stored device's crypto store must open as SQLite; the fix is to restore it with the
    session, and with encryption off it is not read at all."""
    (tmp_path / "session.json").write_text(json.dumps(SESSION))
    (tmp_path / "crypto").mkdir()
    store = tmp_path / "crypto" / f"{USER}_DEV.db"
    store.write_bytes(b"garbage" * 100)
    (problem,) = inspect(config_for(tmp_path))
    assert str(problem) == (
        f"{store}: the crypto store cannot be opened (file is not a database); "
        "fix: restore crypto/ with session.json (docs/operations.md, The data volume)"
    )
    assert inspect(config_for(tmp_path, encryption=False)) == []


async def test_a_data_directory_in_use_passes(tmp_path: Path) -> None:
    """A migrated database, a session and its crypto store: nothing to say."""
    config = config_for(tmp_path)
    await migrate.upgrade(config.database_url_or_default)
    (tmp_path / "session.json").write_text(json.dumps(SESSION))
    (tmp_path / "crypto").mkdir()
    sqlite3.connect(tmp_path / "crypto" / f"{USER}_DEV.db").close()
    assert inspect(config) == []
    assert prepare(config) == []


def test_files_made_after_the_start_checks_are_private(tmp_path: Path) -> None:
    """The database, its -wal and -shm, and any file the bot writes next are its owner's only."""
    keep_private()
    database = tmp_path / "ssphub-bot.db"
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    for path in (database, tmp_path / "ssphub-bot.db-wal", tmp_path / "ssphub-bot.db-shm"):
        assert mode(path) == 0o600, path
    connection.close()


def test_files_an_earlier_version_left_readable_are_made_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The database, lock, session and crypto store files are made 0600 at start, each logged."""
    names = ["ssphub-bot.db", "ssphub-bot.db.lock", "session.json", f"crypto/{USER}_DEV.db"]
    (tmp_path / "crypto").mkdir()
    for name in names:
        sqlite3.connect(tmp_path / name).close()
        (tmp_path / name).chmod(0o644)
    (tmp_path / "session.json").write_text(json.dumps(SESSION))
    with caplog.at_level(logging.INFO, logger="bot.preflight"):
        assert prepare(config_for(tmp_path)) == []
    assert [mode(tmp_path / name) for name in names] == [0o600] * 4
    assert sum("private (mode 644 -> 600)" in r.getMessage() for r in caplog.records) == 4


def _postgres_url(database: str) -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    return make_url(url).set(database=database).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_a_postgresql_database_that_refuses_the_bot_is_named(tmp_path: Path) -> None:
    """A database that does not exist is refused at start and by check-config, password
    hidden."""
    url = _postgres_url("no_such_database_here")
    config = config_for(tmp_path, f"database_url: {url}")
    for found in (inspect(config), prepare(config)):
        (problem,) = found
        assert 'refuses the bot (database "no_such_database_here" does not exist)' in str(problem)


def test_a_postgresql_server_that_does_not_answer_is_waited_for_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No server on the port: a problem for check-config, a warning at start (the bot waits
    for the database as it does across a restart of it)."""
    config = config_for(tmp_path, "database_url: postgresql+asyncpg://bot:pw@127.0.0.1:9/bot")
    (problem,) = inspect(config)
    assert str(problem).startswith("postgresql+asyncpg://bot:***@127.0.0.1:9/bot: the database ")
    with caplog.at_level(logging.WARNING, logger="bot.preflight"):
        assert prepare(config) == []
    assert "does not answer" in caplog.text and "pw" not in caplog.text
