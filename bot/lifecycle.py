"""The two log lines that frame a run: what started, and what a stop ended and left queued."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from bot import __version__
from bot.storage import outbox

if TYPE_CHECKING:
    from bot.app import App
    from bot.storage.db import Database

log = logging.getLogger(__name__)

QUEUE_TIMEOUT = 3.0  # a database that does not answer must not hold the stop up


def database_label(url: str) -> str:
    """The database in words, never with its password: ``SQLite /data/ssphub-bot.db``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite {parsed.database or ':memory:'}"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    return f"PostgreSQL {parsed.database} on {where} as {parsed.username}"


def log_started(app: App) -> None:
    """Once the bot runs: version, account and device, database, rooms, feeds, web address."""
    client = app.gateway.client if app.gateway else None
    log.info(
        "ssphub-bot %s started as %s, device %s; database %s; %s, %s; web %s",
        __version__,
        client.user_id if client else app.config.matrix.user_id,
        client.device_id if client else "?",
        database_label(app.config.database_url_or_default),
        _count(len(app.room_ids), "room"),
        _count(app.feeds_followed, "feed"),
        app.web.url if app.web else "off",
    )


def running_parts(app: App) -> list[str]:
    """What of ``app`` runs now, in the words of the stop line."""
    watching = app.feeds.watchers if app.feeds else []
    loops = app.parts
    parts = [
        ("sync", app.gateway),
        ("sender", app.sender),
        (_count(len(watching), "feed watcher"), watching or None),
        ("reminder scheduler", app.scheduler),
        ("newsletter fan-out", loops.fanout if loops else None),
        ("housekeeping", loops.housekeeping if loops else None),
        ("web server", app.web),
    ]
    return [name for name, part in parts if part is not None]


async def stop_and_log(app: App) -> None:
    """Stop ``app``, then say in one line what stopped, how long it took, and how many
    messages the outbox keeps for the next start."""
    parts, active, started = running_parts(app), app.active, time.monotonic()
    await app.stop()
    seconds = time.monotonic() - started
    stopped = ", ".join(parts) or "nothing was running yet"
    if not active:
        log.info("ssphub-bot %s stopped in %.1f s, on standby: %s", __version__, seconds, stopped)
        return
    left = await queued(app.db)
    await app.db.dispose()
    line = "ssphub-bot %s stopped in %.1f s: %s; %s"
    if app.lock_lost.is_set():
        log.warning(line, __version__, seconds, f"instance lock lost; {stopped}", _left(left))
    else:
        log.info(line, __version__, seconds, stopped, _left(left))


async def queued(db: Database) -> int | None:
    """Messages waiting in the outbox; None when the database does not answer in time."""
    try:
        async with asyncio.timeout(QUEUE_TIMEOUT), db.session() as session:
            return await outbox.depth(session)
    except Exception as error:
        log.debug("cannot count the outbox at stop: %s", type(error).__name__)
        return None


def _left(count: int | None) -> str:
    if count is None:
        return "the outbox could not be read"
    if count == 0:
        return "nothing left queued in the outbox"
    return f"{_count(count, 'message')} left queued in the outbox, sent at the next start"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
