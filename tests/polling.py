"""Bounded polls for tests: wait until a condition holds, never for a fixed time."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

POLL_INTERVAL = 0.01  # how often the condition is checked; the event loop runs in between


async def until(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float = 5, what: str = "condition"
) -> None:
    """Return as soon as ``condition()`` (plain or awaitable) is true; fail after ``timeout``
    seconds."""
    deadline = time.monotonic() + timeout
    while not await _holds(condition):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout} s")
        await asyncio.sleep(POLL_INTERVAL)


async def _holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = condition()
    return bool(await result) if inspect.isawaitable(result) else bool(result)
