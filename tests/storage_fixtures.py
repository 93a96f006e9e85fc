"""Shared fixtures: a fake clock, and a migrated database on SQLite and (when set) PostgreSQL.

SQLite: a file in each test's ``tmp_path``, copied from one file migrated for the session with
``bot.storage.migrate.upgrade``. PostgreSQL, when ``BOT_TEST_POSTGRES_URL`` names a server (for
instance ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``): one fresh database created
for the session, migrated once, emptied before each test and dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.storage import migrate
from bot.storage.db import Database
from bot.storage.models import Base
from tests.fakes import FakeClock

POSTGRES_URL_VARIABLE = "BOT_TEST_POSTGRES_URL"
T = TypeVar("T")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not os.environ.get(POSTGRES_URL_VARIABLE),
                reason=f"{POSTGRES_URL_VARIABLE} is not set",
            ),
        ],
    ),
]


def _in_thread(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on its own loop in a worker thread, outside the tests' event loop."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(asyncio.run(work()))
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return results[0]


def _server_dsn(url: str) -> str:
    """The asyncpg DSN of the server's maintenance database ``postgres``."""
    parsed = make_url(url).set(drivername="postgresql", database="postgres")
    return parsed.render_as_string(hide_password=False)


async def _admin(server_url: str, statement: str) -> None:
    connection = await asyncpg.connect(_server_dsn(server_url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock frozen on a Monday morning, moved only by ``advance()``."""
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the session, dropped at the end."""
    server_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server_url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    name = f"ssphub_test_{uuid4().hex[:12]}"
    _in_thread(lambda: _admin(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        _in_thread(lambda: migrate.upgrade(url))
        yield url
    finally:
        _in_thread(lambda: _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once for the session, copied by every test that needs one."""
    path = tmp_path_factory.mktemp("migrated") / "template.db"
    _in_thread(lambda: migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a migrated, empty database of the parametrized backend."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database_url"))
    path = tmp_path / "bot.db"
    shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
    return f"sqlite+aiosqlite:///{path}"


async def _empty(db: Database) -> None:
    """Remove every row the previous test left in the session's PostgreSQL database."""
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with db.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database: a SQLite file in ``tmp_path``, or the session's PostgreSQL."""
    database = Database(database_url)
    if not database.is_sqlite:
        await _empty(database)
    try:
        yield database
    finally:
        await database.dispose()
