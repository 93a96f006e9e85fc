"""The housekeeping loop: a pass at start, then one every interval, each counted and logged."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot.config.schema import RetentionConfig
from bot.metrics import Metrics
from bot.services.housekeeping import Housekeeping
from bot.storage import state
from bot.storage.db import Database
from bot.supervise import halt
from tests.fakes import FakeClock
from tests.polling import until

HUB = "!hub:localhost"


async def claim(db: Database, clock: FakeClock, event_id: str) -> None:
    async with db.session() as session:
        await state.claim_event(session, event_id, HUB, clock.now())


async def test_the_loop_prunes_at_start_then_on_its_interval(
    db: Database, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The first pass runs as the loop starts; a claim that ages past the window meanwhile is
    pruned by a later pass, counted in the metric and told in one log line."""
    await claim(db, fake_clock, "$first")
    fake_clock.advance(3 * 3600)
    metrics = Metrics()
    settings = RetentionConfig(interval_minutes=0.002, handled_events_hours=2)
    keeper = Housekeeping(db, fake_clock, metrics, settings, command_grace=timedelta(minutes=5))
    count = metrics.registry.get_sample_value
    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="bot.services.housekeeping")
    task = asyncio.create_task(keeper.run(stop))
    try:
        await until(lambda: keeper.passes >= 1, what="the pass at start")
        assert count("ssphub_pruned_rows_total", {"table": "handled_event"}) == 1
        await claim(db, fake_clock, "$second")
        fake_clock.advance(3 * 3600)
        passes = keeper.passes
        await until(lambda: keeper.passes >= passes + 2, what="two passes on the interval")
        assert count("ssphub_pruned_rows_total", {"table": "handled_event"}) == 2
    finally:
        await halt(stop, task, 5)
    assert task.done() and not task.cancelled()
    lines = [r.getMessage() for r in caplog.records if "housekeeping" in r.getMessage()]
    assert lines == ["housekeeping pruned handled_event 1"] * 2  # only passes that pruned


async def test_a_failed_pass_is_logged_and_the_loop_goes_on(
    db: Database, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A pass that fails (the database gone) is logged; the loop tries again on its interval."""
    keeper = Housekeeping(
        db, fake_clock, Metrics(), RetentionConfig(interval_minutes=0.002),
        command_grace=timedelta(minutes=5),
    )  # fmt: skip
    failures = 0

    async def failing() -> object:
        nonlocal failures
        failures += 1
        raise RuntimeError("database gone")

    keeper.cutoffs = failing  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(keeper.run(stop))
    try:
        await until(lambda: failures >= 2, what="a second try")
    finally:
        await halt(stop, task, 5)
    assert "housekeeping pass failed" in caplog.text
