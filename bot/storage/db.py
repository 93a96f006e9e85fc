"""The async database handle: engine, unit-of-work sessions, SQLite pragmas, erasure."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as SyncSession

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

log = logging.getLogger(__name__)
_ERASED = "ssphub.erased"
_WROTE = "ssphub.wrote"
INCREMENTAL = 2  # PRAGMA auto_vacuum's value for incremental


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; the busy timeout absorbs short lock waits;
    secure_delete overwrites what is deleted or replaced, so erased data leaves no trace;
    incremental auto-vacuum (set before a new file's first table) lets the file shrink."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def insert_or_ignore(
    session: AsyncSession, model: Any, conflict_columns: list[str] | None
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that silently skips rows clashing on ``conflict_columns`` (on any unique
    column when None), in one round trip; the dialect's module is imported with its engine, so
    the other one never is."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(model).on_conflict_do_nothing(index_elements=conflict_columns)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model).on_conflict_do_nothing(index_elements=conflict_columns)


def erasing(session: AsyncSession) -> None:
    """Mark the unit of work as erasing someone's data: once it commits, nothing of the erased
    data may remain in the database's files (SQLite's write-ahead log is emptied)."""
    session.info[_ERASED] = True


def watch_writes(session: AsyncSession) -> None:
    """Note from now on whether the unit of work writes anything (``wrote``)."""
    session.info[_WROTE] = False

    def statement(state: ORMExecuteState) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            state.session.info[_WROTE] = True

    def flush(sync_session: SyncSession, _context: object, _instances: object) -> None:
        sync_session.info[_WROTE] = True

    event.listen(session.sync_session, "do_orm_execute", statement)
    event.listen(session.sync_session, "before_flush", flush)


def wrote(session: AsyncSession) -> bool:
    """Whether the unit of work wrote (or holds objects to write) since ``watch_writes``; true
    when it was not watched. Statements on the raw connection are not seen: use the session."""
    pending = bool(session.new or session.dirty or session.deleted)
    return pending or bool(session.info.get(_WROTE, True))


def _engine_options(url: str) -> dict[str, Any]:
    """SQLite allows one writer: one pooled connection queues our units of work in-process,
    instead of letting them collide on the file lock and sleep in SQLite's busy handler."""
    if url.startswith("sqlite"):
        return {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60}
    return {"pool_pre_ping": True}


class Database:
    """One engine per process; ``session()`` opens one unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, **_engine_options(url))
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: committed when the block ends normally, rolled back otherwise; one
        marked ``erasing`` empties the write-ahead log once committed."""
        async with self._sessions() as session:
            async with session.begin():
                yield session
            if session.info.pop(_ERASED, False):
                await self.forget_old_pages()

    async def forget_old_pages(self) -> None:
        """SQLite: checkpoint the write-ahead log and truncate it, so the earlier copies of
        pages it holds (an erased address among them) are gone. PostgreSQL keeps dead rows
        until its autovacuum reuses their space; nothing to do from here."""
        if not self.is_sqlite:
            return
        async with self.engine.connect() as connection:
            result = await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = result.scalar()
        if busy:
            log.warning("write-ahead log not emptied after an erasure: a reader held it")

    async def use_incremental_vacuum(self) -> bool:
        """SQLite: switch a file made without incremental auto-vacuum to it, once (a VACUUM,
        outside any transaction, before the bot uses the database); whether it switched."""
        if not self.is_sqlite:
            return False
        async with self.engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA auto_vacuum")).scalar()
            if mode == INCREMENTAL:
                return False
            await connection.exec_driver_sql("PRAGMA auto_vacuum=INCREMENTAL")
            await connection.commit()
            await connection.exec_driver_sql("VACUUM")  # the driver opens no transaction for it
            await connection.commit()
        log.info("database switched to incremental auto-vacuum (one VACUUM, mode was %s)", mode)
        return True

    async def release_free_pages(self) -> None:
        """SQLite: give the pages freed by deletions back to the file system (the file
        shrinks) and empty the write-ahead log. PostgreSQL's autovacuum does its own."""
        if not self.is_sqlite:
            return
        async with self.engine.connect() as connection:
            # Each step of the pragma frees one page; a script runs it to the end.
            raw = await connection.get_raw_connection()
            await raw.driver_connection.executescript("PRAGMA incremental_vacuum")  # type: ignore[union-attr]
        await self.forget_old_pages()

    async def dispose(self) -> None:
        await self.engine.dispose()
