"""A prune killed half-way, on every backend: no message still to send and no claim within the
command grace is lost, the database is intact, and the next pass finishes the work."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text

from bot.config.schema import RetentionConfig
from bot.metrics import Metrics
from bot.services.housekeeping import Housekeeping
from bot.storage.db import Database
from bot.storage.models import HandledEvent, OutboxRow
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=5)
BATCH = 100
KILL_AFTER = 80  # batches: the claims' 60, then 20 of the messages'

# The child prunes with the real housekeeping, telling each batch as it commits.
PRUNER = """
import asyncio, sys
from datetime import UTC, datetime, timedelta
from bot.config.schema import RetentionConfig
from bot.metrics import Metrics
from bot.services.housekeeping import Housekeeping
from bot.storage.db import Database
from tests.fakes import FakeClock

class Telling(Metrics):
    def pruned(self, table, rows):
        print(table, rows, flush=True)

async def main():
    db = Database(sys.argv[1])
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    settings = RetentionConfig(batch_rows=int(sys.argv[2]))
    keeper = Housekeeping(db, FakeClock(now), Telling(), settings,
                          command_grace=timedelta(minutes=5))
    await keeper.run_once()
    print("done", flush=True)

asyncio.run(main())
"""


def outbox_rows(count: int, status: str, at: datetime, prefix: str) -> list[dict[str, Any]]:
    sent_at = at if status == "sent" else None
    return [
        {"txn_id": f"{prefix}{n}", "room_id": "!hub:x", "event_type": "m.room.message",
         "content": {"body": "x" * 200}, "status": status, "attempts": 0, "created_at": at,
         "sent_at": sent_at, "bulk": False}
        for n in range(count)
    ]  # fmt: skip


def claims(count: int, at: datetime, prefix: str) -> list[dict[str, Any]]:
    return [{"event_id": f"${prefix}{n}", "room_id": "!hub:x", "handled_at": at}
            for n in range(count)]  # fmt: skip


async def fill(db: Database) -> None:
    """40,000 rows: 30,000 old sent messages and 6,000 old claims to prune, 2,000 pending
    messages (some very old) and 2,000 claims within the command grace to keep."""
    old = NOW - timedelta(days=3)
    async with db.session() as session:
        out, handled = cast(Table, OutboxRow.__table__), cast(Table, HandledEvent.__table__)
        await session.execute(insert(out), outbox_rows(30_000, "sent", old, "s"))
        await session.execute(insert(out), outbox_rows(2_000, "pending", old, "p"))
        await session.execute(insert(handled), claims(6_000, old, "old"))
        await session.execute(insert(handled), claims(2_000, NOW - GRACE / 2, "new"))


async def counted(db: Database) -> dict[str, int]:
    async with db.session() as session:
        statuses = await session.execute(
            select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
        )
        found = {status: int(n) for status, n in statuses.tuples()}
        recent = HandledEvent.handled_at >= NOW - GRACE
        for name, where in (("claims_new", recent), ("claims_old", ~recent)):
            found[name] = int(await session.scalar(select(func.count()).where(where)) or 0)
    return found


async def prune_and_kill(database_url: str) -> int:
    """Run the pruning child and SIGKILL it after ``KILL_AFTER`` batches; batches it told."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PRUNER, database_url, str(BATCH),
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    told = 0
    try:
        assert child.stdout is not None
        while told < KILL_AFTER:
            line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
            assert line and line != b"done\n", f"the prune ended after {told} batches"
            told += 1
        child.send_signal(signal.SIGKILL)
        await asyncio.wait_for(child.wait(), timeout=10)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == -signal.SIGKILL
    return told


async def intact(db: Database) -> bool:
    async with db.session() as session:
        if db.is_sqlite:
            return await session.scalar(text("PRAGMA integrity_check")) == "ok"
        return await session.scalar(text("SELECT count(*) FROM outbox")) is not None


async def test_a_prune_killed_half_way_loses_nothing_it_must_keep(
    database_url: str, db: Database
) -> None:
    """SIGKILL in the middle of a prune of 40,000 rows: every pending message and every claim
    within the grace survive, some prunable rows are left, and the next pass removes them."""
    await fill(db)
    await db.dispose()
    await prune_and_kill(database_url)
    reopened = Database(database_url)
    try:
        assert await intact(reopened)
        left = await counted(reopened)
        assert left["pending"] == 2_000 and left["claims_new"] == 2_000
        assert left["claims_old"] == 0 and 0 < left["sent"] < 30_000  # killed mid-way
        keeper = Housekeeping(
            reopened, FakeClock(NOW), Metrics(), RetentionConfig(), command_grace=GRACE
        )
        assert await keeper.run_once() == {"outbox": left["sent"]}
        assert await counted(reopened) == {
            "pending": 2_000, "claims_new": 2_000, "claims_old": 0
        }  # fmt: skip
        assert await intact(reopened)
    finally:
        await reopened.dispose()
