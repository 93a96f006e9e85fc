"""One active instance: the database lock is exclusive, waited for, freed when its holder dies."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.clock import SystemClock
from bot.storage.db import Database
from bot.storage.lock import (
    FileLock,
    InstanceLock,
    PrivateLock,
    acquire,
    alone,
    instance_lock,
    watch,
)
from tests.polling import until

# A second process that takes the lock, says so, and holds it until it is killed.
HOLDER = """\
import asyncio, sys
from bot.storage.lock import instance_lock

async def main():
    lock = instance_lock(sys.argv[1])
    if not await lock.try_acquire():
        sys.exit("the lock was not free")
    print("held", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""
FAST = {"retry_seconds": 0.01}  # how often a waiting instance asks again, in these tests


@asynccontextmanager
async def holding(database_url: str) -> AsyncIterator[InstanceLock]:
    """A lock on ``database_url`` taken for the block and always released after it."""
    lock = instance_lock(database_url)
    try:
        assert await lock.try_acquire()
        yield lock
    finally:
        await lock.release()


async def test_a_second_holder_is_refused_until_the_first_releases(database_url: str) -> None:
    """While one instance holds the lock another cannot take it; once released it can."""
    second = instance_lock(database_url)
    try:
        async with holding(database_url):
            assert not await second.try_acquire()
            assert not await second.try_acquire()
        assert await second.try_acquire()
        assert await second.held()
    finally:
        await second.release()


async def test_a_waiting_instance_says_why_then_takes_over(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``acquire`` waits while another holds the lock, logs that it waits, and returns as soon
    as the holder stops."""
    second = instance_lock(database_url)
    try:
        with caplog.at_level(logging.INFO, logger="bot.storage.lock"):
            async with holding(database_url):
                waiting = asyncio.create_task(acquire(second, SystemClock(), **FAST))
                await until(lambda: _logged(caplog, "another instance holds"), what="the log")
                assert not waiting.done()
            await asyncio.wait_for(waiting, timeout=10)
        assert await second.held()
        assert "took over" in caplog.text
    finally:
        await second.release()


async def _logged(caplog: pytest.LogCaptureFixture, words: str) -> bool:
    return words in caplog.text


async def test_the_lock_of_a_killed_process_is_freed(database_url: str) -> None:
    """A holder killed with SIGKILL leaves no stale lock: the system frees it and another
    instance takes over."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, database_url, stdout=asyncio.subprocess.PIPE
    )
    lock = instance_lock(database_url)
    try:
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), timeout=30) == b"held\n"
        assert not await lock.try_acquire()
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), timeout=10)
        await asyncio.wait_for(acquire(lock, SystemClock(), **FAST), timeout=20)
        assert await lock.held()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await lock.release()


@pytest.mark.postgres
async def test_a_lost_connection_is_a_lost_lock(postgres_database_url: str) -> None:
    """When the server ends the lock's connection, ``watch`` notices and says the lock is lost."""
    lost = asyncio.Event()
    async with holding(postgres_database_url) as lock:
        watcher = asyncio.create_task(watch(lock, lost, asyncio.Event(), every=0.01))
        await _end_lock_connections(postgres_database_url)
        await asyncio.wait_for(lost.wait(), timeout=10)
        assert not await lock.held()
        await watcher
    assert lost.is_set()


async def _end_lock_connections(url: str) -> None:
    """Terminate, from another connection, every session holding an advisory lock here."""
    db = Database(url)
    try:
        async with db.session() as session:
            await session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
            )
    finally:
        await db.dispose()


def test_sqlite_locks_a_file_beside_the_database(tmp_path: Path) -> None:
    """On SQLite the lock is ``<database>.lock`` in the same directory; in memory, none."""
    lock = instance_lock(f"sqlite+aiosqlite:///{tmp_path}/ssphub-bot.db")
    assert isinstance(lock, FileLock)
    assert lock.path == tmp_path / "ssphub-bot.db.lock"
    assert isinstance(instance_lock("sqlite+aiosqlite://"), PrivateLock)


async def test_sqlite_lock_file_names_its_holder(tmp_path: Path) -> None:
    """The lock file says which host and process hold it, for a person looking."""
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    async with holding(url) as lock:
        assert isinstance(lock, FileLock)
        holder = await asyncio.to_thread(lock.path.read_text)
    assert holder.split()[1] == str(os.getpid())


async def test_one_off_work_runs_only_when_no_bot_holds_the_database(database_url: str) -> None:
    """``alone`` refuses to run its work while a bot holds the lock, and runs it once free."""
    done: list[str] = []

    async def migrate() -> None:
        done.append("migrated")

    async with holding(database_url):
        assert not await alone(database_url, migrate)
    assert done == []
    assert await alone(database_url, migrate)
    assert done == ["migrated"]
    async with holding(database_url):
        pass  # the lock was given back
