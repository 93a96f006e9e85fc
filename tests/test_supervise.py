"""Running work unless told to stop (a standby's wait for the lock), and how background loops
wait and are stopped."""

from __future__ import annotations

import asyncio

import pytest

from bot.supervise import halt, pause, unless_set


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


async def test_a_pause_ends_at_once_when_stop_is_set_meanwhile() -> None:
    """A loop waiting a whole minute returns as soon as it is asked to stop, and says so."""
    stop = asyncio.Event()
    asyncio.get_running_loop().call_soon(stop.set)
    async with asyncio.timeout(5):
        assert await pause(stop, 60) is True


async def test_a_pause_woken_early_does_not_mean_stop() -> None:
    """A wake-up (new rows for the sender) ends the pause early, and the loop goes on."""
    stop, wake = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().call_soon(wake.set)
    async with asyncio.timeout(5):
        assert await pause(stop, 60, wake) is False


async def test_halt_lets_a_loop_finish_then_cancels_one_that_overstays() -> None:
    """A loop that ends when asked is left to end; one that ignores ``stop`` is cancelled."""
    polite_stop, stubborn_stop = asyncio.Event(), asyncio.Event()
    polite = asyncio.create_task(polite_stop.wait())
    stubborn = asyncio.create_task(asyncio.Event().wait())
    await halt(polite_stop, polite, grace=5)
    await halt(stubborn_stop, stubborn, grace=0)
    assert polite.done() and not polite.cancelled()
    assert stubborn.cancelled() and stubborn_stop.is_set()
