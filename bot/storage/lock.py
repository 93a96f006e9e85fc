"""One active instance per database: a PostgreSQL advisory lock, or a file lock beside SQLite.

Both are released by the system when their holder dies — the server ends a dead client's session
and with it its advisory locks; the kernel drops a dead process's ``flock`` — so a killed bot
never leaves a stale lock behind, and nothing needs a heartbeat or a timeout to take over.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from bot.clock import Clock
from bot.supervise import pause

log = logging.getLogger(__name__)

# The advisory lock's key: fixed, so every version of the bot competes for the same lock.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"ssphub-bot instance").digest()[:8], "big", signed=True)


class InstanceLock(Protocol):
    """A lock only one process at a time may hold."""

    description: str

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; whether this process holds it now."""
        ...

    async def held(self) -> bool:
        """Whether the lock is still ours (a lost database connection loses it)."""
        ...

    async def release(self) -> None: ...


class AdvisoryLock:
    """``pg_try_advisory_lock`` on a dedicated connection, kept for the holder's lifetime."""

    def __init__(self, url: str, key: int = LOCK_KEY) -> None:
        self.engine = create_async_engine(url, poolclass=NullPool)
        self.key = key
        self.description = f"the PostgreSQL advisory lock {key} on {make_url(url).database}"
        self._connection: AsyncConnection | None = None
        self._held = False

    async def try_acquire(self) -> bool:
        try:
            connection = await self._connect()
            statement = text("SELECT pg_try_advisory_lock(:key)")
            got = await connection.scalar(statement, {"key": self.key})
        except Exception as error:  # the database may be restarting: wait and try again
            log.warning("cannot ask for the instance lock: %s", type(error).__name__)
            await self._drop_connection()
            return False
        self._held = bool(got)
        return self._held

    async def _connect(self) -> AsyncConnection:
        """The lock's own connection, in autocommit: it never sits idle inside a transaction."""
        if self._connection is None:
            connection = await self.engine.connect()
            self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        return self._connection

    async def held(self) -> bool:
        if not self._held or self._connection is None:
            return False
        try:
            await self._connection.scalar(text("SELECT 1"))
        except Exception:
            self._held = False
        return self._held

    async def release(self) -> None:
        if self._held and self._connection is not None:
            try:
                await self._connection.scalar(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
                )
            except Exception:  # the connection is going away: the server releases the lock
                log.debug("advisory unlock failed", exc_info=True)
        self._held = False
        await self._drop_connection()
        await self.engine.dispose()

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:
                log.debug("closing the lock connection failed", exc_info=True)


class FileLock:
    """An exclusive ``flock`` on a file beside the SQLite database.

    ``flock`` belongs to the open file, so two holders in one process exclude each other too.
    The file keeps the holder's host and process id, for a person wondering who holds it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"the lock file {path}"
        self._fd: int | None = None

    async def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}\n".encode())
        self._fd = fd
        return True

    async def held(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class PrivateLock:
    """For a database no other process can open (SQLite in memory): always free."""

    description = "no lock (private database)"

    def __init__(self) -> None:
        self._held = False

    async def try_acquire(self) -> bool:
        self._held = True
        return True

    async def held(self) -> bool:
        return self._held

    async def release(self) -> None:
        self._held = False


def instance_lock(database_url: str) -> InstanceLock:
    """The lock that fits the database: advisory for PostgreSQL, a file beside a SQLite file."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(database_url)
    if not url.database or url.database == ":memory:":
        return PrivateLock()
    database = Path(url.database)
    return FileLock(database.with_name(database.name + ".lock"))


async def acquire(
    lock: InstanceLock, clock: Clock, *, retry_seconds: float = 2.0, log_every: float = 60.0
) -> None:
    """Wait until ``lock`` is ours, saying every ``log_every`` seconds why the bot waits."""
    started = clock.monotonic()
    said = float("-inf")
    while not await lock.try_acquire():
        waited = clock.monotonic() - started
        if waited - said >= log_every:
            said = waited
            log.warning(
                "another instance holds %s: waiting to take over (%.0f s so far); "
                "this instance stays idle until that one stops",
                lock.description,
                waited,
            )
        await clock.sleep(retry_seconds)
    if said > float("-inf"):
        log.info("took over %s after %.0f s", lock.description, clock.monotonic() - started)
    else:
        log.info("holding %s", lock.description)


async def alone(database_url: str, work: Callable[[], Awaitable[None]]) -> bool:
    """Run ``work`` holding the instance lock; False, without running it, when another holds
    it (a one-off task such as ``db upgrade`` must not run beside a live bot)."""
    lock = instance_lock(database_url)
    try:
        if not await lock.try_acquire():
            return False
        await work()
    finally:
        await lock.release()
    return True


async def watch(
    lock: InstanceLock, lost: asyncio.Event, stop: asyncio.Event, *, every: float = 10.0
) -> None:
    """Check every ``every`` seconds, until ``stop``, that the lock is still ours; set ``lost``
    when it is not."""
    while not await pause(stop, every):
        if not await lock.held():
            log.critical("lost %s: another instance may take over; stopping", lock.description)
            lost.set()
            return
