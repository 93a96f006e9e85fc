"""Start-up checks: the data directory, the database and the crypto store, each problem told in
one line that names the path, the reason and the fix."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.config import Config
from bot.matrix.session import SESSION_FILE, STORE_DIR, read_credentials, store_file

log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 10.0
RESTORE = "restore it from the backup (docs/operations.md, The data volume)"


@dataclass(frozen=True)
class Problem:
    """Why the bot cannot start with what it finds at ``path``, and what to do about it."""

    path: Path | str
    reason: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}; fix: {self.fix}"


def inspect(config: Config) -> list[Problem]:
    """Every problem the bot would meet at start, creating nothing (``check-config``); a
    PostgreSQL server that does not answer is one of them."""
    problem = _data_dir(config.data_dir, create=False)
    if problem:
        return [problem]
    return [*_database(config, strict=True), *_crypto_store(config)]


def prepare(config: Config) -> list[Problem]:
    """Make the data directory and private files, then check as ``inspect`` does; a PostgreSQL
    server that does not answer yet is only logged (the bot waits for it like a restart)."""
    keep_private()
    problem = _data_dir(config.data_dir, create=True)
    if problem:
        return [problem]
    problems = [*_database(config, strict=False), *_crypto_store(config)]
    if not problems:
        _tighten(private_files(config))
    return problems


def keep_private() -> None:
    """Files and directories this process creates are its owner's alone (database, -wal, -shm,
    lock, session, crypto store): they hold tokens, keys and members' addresses."""
    os.umask(os.umask(0o077) | 0o077)


def private_files(config: Config) -> list[Path]:
    """The files of the data directory that hold secrets or personal data."""
    data_dir = config.data_dir
    files = [data_dir / SESSION_FILE]
    database = _sqlite_path(config.database_url_or_default)
    if database is not None:
        files += [database, *_companions(database), database.with_name(database.name + ".lock")]
    store = data_dir / STORE_DIR
    if store.is_dir():
        files += sorted(store.iterdir())
    return [path for path in files if path.is_file()]


def _tighten(files: list[Path]) -> None:
    """Files an earlier version created readable by others are made private, once."""
    for path in files:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                path.chmod(mode & 0o700)
                log.info("made %s private (mode %o -> %o)", path, mode, mode & 0o700)
        except FileNotFoundError:  # a -wal or -shm a running instance just removed
            continue
        except OSError as error:
            log.warning("%s is readable by others and cannot be made private (%s)", path, error)


# --- the data directory --------------------------------------------------------------------------


def _data_dir(path: Path, *, create: bool) -> Problem | None:
    fix = _ownership_fix(path)
    try:
        if path.exists() and not path.is_dir():
            return Problem(path, "data_dir is not a directory", "point data_dir at a directory")
        if not path.exists():
            return _missing_dir(path, create, fix)
    except OSError as error:
        return Problem(path, f"the data directory cannot be reached ({_why(error)})", fix)
    reason = _unwritable(path)
    if reason:
        return Problem(path, f"the data directory is not writable by {_who()} ({reason})", fix)
    return None


def _missing_dir(path: Path, create: bool, fix: str) -> Problem | None:
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return Problem(path, f"the data directory cannot be created ({_why(error)})", fix)
        return None
    parent = next(p for p in path.parents if p.exists())
    reason = _unwritable(parent)
    if reason:
        why = f"the data directory does not exist and {_who()} cannot create it ({reason})"
        return Problem(path, why, f"create it, writable by {_who()}")
    return None


def _unwritable(directory: Path) -> str | None:
    """None when this process can create a file in ``directory``, else why not."""
    try:
        fd, name = tempfile.mkstemp(dir=directory, prefix=".write-check-")
    except OSError as error:
        return _why(error)
    os.close(fd)
    os.unlink(name)
    return None


def _ownership_fix(path: Path) -> str:
    uid, gid = os.geteuid(), os.getegid()
    return (
        f"make it writable by uid {uid}: chown -R {uid}:{gid} {path} "
        f"(Kubernetes: securityContext.fsGroup: {gid})"
    )


# --- the database --------------------------------------------------------------------------------


def _database(config: Config, *, strict: bool) -> list[Problem]:
    url = config.database_url_or_default
    path = _sqlite_path(url)
    if path is not None:
        return _sqlite(path, config.data_dir)
    if make_url(url).get_backend_name() == "postgresql":
        return _postgresql(url, strict=strict)
    return []


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def _companions(database: Path) -> list[Path]:
    return [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]


def _sqlite(path: Path, data_dir: Path) -> list[Problem]:
    if path.exists():
        fix = f"{RESTORE}, or move it away to start with an empty database"
        problem = _sqlite_problem(path, "database", fix)
        return [problem] if problem else []
    directory = path.parent
    if directory == data_dir:
        return []
    reason = _unwritable(directory) if directory.is_dir() else "no such directory"
    why = f"the database cannot be created by {_who()} ({reason})"
    return [Problem(path, why, _ownership_fix(directory))] if reason else []


def _sqlite_problem(path: Path, what: str, fix: str) -> Problem | None:
    """Why this process cannot open ``path`` as an SQLite database to write, if it cannot."""
    for file in [path, *_companions(path)]:
        if file.exists() and not os.access(file, os.R_OK | os.W_OK):
            reason = f"the {what} is not readable and writable by {_who()}"
            return Problem(file, reason, _ownership_fix(file))
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=5)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        if "locked" in str(error):  # a running instance is writing: it opens, then
            return None
        return Problem(path, f"the {what} cannot be opened ({error})", fix)
    return None


def _postgresql(url: str, *, strict: bool) -> list[Problem]:
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        asyncio.run(asyncio.wait_for(_select_one(url), DATABASE_TIMEOUT))
    except DBAPIError as error:  # the server answered, and refused
        reason = str(error.orig).strip().splitlines()[0]
        fix = "check database_url (role, password, database name) and the role's rights"
        return [Problem(shown, f"the database refuses the bot ({reason})", fix)]
    except Exception as error:  # no answer: down, restarting, unreachable, unknown host
        reason = f"the database does not answer ({_why(error)})"
        if strict:
            return [Problem(shown, reason, "check that PostgreSQL runs and is reachable from here")]
        log.warning("%s: %s; waiting for it", shown, reason)
    return []


async def _select_one(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


# --- the Matrix session and crypto store ---------------------------------------------------------


def _crypto_store(config: Config) -> list[Problem]:
    session = config.data_dir / SESSION_FILE
    fix = f"{RESTORE}; without it the bot logs in as a new device"
    try:
        credentials = read_credentials(session)
    except (OSError, ValueError, TypeError) as error:
        return [Problem(session, f"the bot's session cannot be read ({_why(error)})", fix)]
    store_dir = config.data_dir / STORE_DIR
    if store_dir.is_dir() and (reason := _unwritable(store_dir)):
        why = f"the crypto store is not writable by {_who()} ({reason})"
        return [Problem(store_dir, why, _ownership_fix(store_dir))]
    if credentials is None or not config.matrix.encryption:
        return []
    store = store_file(store_dir, credentials)
    fix = f"restore {STORE_DIR}/ with {SESSION_FILE} (docs/operations.md, The data volume)"
    problem = _sqlite_problem(store, "crypto store", fix) if store.exists() else None
    return [problem] if problem else []


def _who() -> str:
    return f"uid {os.geteuid()}"


def _why(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
