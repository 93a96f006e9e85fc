"""Running work unless told to stop: how a standby's wait for the lock is interrupted."""

from __future__ import annotations

import asyncio

import pytest

from bot.supervise import unless_set


async def test_work_that_finishes_first_is_reported_done() -> None:
    """Work that ends before the interrupt is set counts as finished."""
    assert await unless_set(asyncio.sleep(0), asyncio.Event())


async def test_an_interrupt_cancels_work_that_would_never_end() -> None:
    """Setting the interrupt cancels the work (a standby waiting for the lock) at once."""
    interrupt, waiting, never = asyncio.Event(), asyncio.Event(), asyncio.Event()
    cancelled: list[bool] = []

    async def wait_forever() -> None:
        waiting.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    running = asyncio.create_task(unless_set(wait_forever(), interrupt))
    await waiting.wait()
    interrupt.set()
    assert await asyncio.wait_for(running, timeout=5) is False
    assert cancelled == [True]


async def test_the_work_s_own_failure_reaches_the_caller() -> None:
    """A failing start is not mistaken for an interrupt: its exception is raised."""

    async def fail() -> None:
        raise RuntimeError("cannot log in")

    with pytest.raises(RuntimeError, match="cannot log in"):
        await unless_set(fail(), asyncio.Event())
