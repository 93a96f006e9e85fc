"""Supervised background tasks: referenced until done, their failures logged, never lost; and
the one way a background loop waits and is stopped (``run(stop)``, ``pause``, ``halt``)."""

from __future__ import annotations

import asyncio
import logging
from asyncio import FIRST_COMPLETED
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Loop(Protocol):
    """A background loop: it runs until ``stop`` is set, then returns soon."""

    async def run(self, stop: asyncio.Event) -> None: ...


class TaskSet:
    """Keeps a reference to every task it starts and logs any that ends in an exception."""

    def __init__(self, on_idle: Callable[[], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_idle = on_idle

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("task %s failed", task.get_name(), exc_info=exc)
        if not self._tasks and self._on_idle is not None:
            self._on_idle()

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float) -> None:
        """Let running tasks finish for up to ``timeout`` seconds, then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


async def unless_set(work: Coroutine[Any, Any, Any], interrupt: asyncio.Event) -> bool:
    """Run ``work`` unless ``interrupt`` is set first (then cancel it); whether it finished.

    An exception raised by ``work`` reaches the caller."""
    task = asyncio.ensure_future(work)
    interrupted = asyncio.ensure_future(interrupt.wait())
    await asyncio.wait({task, interrupted}, return_when=asyncio.FIRST_COMPLETED)
    for pending in (task, interrupted):
        pending.cancel()
    await asyncio.gather(task, interrupted, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()
    return True


async def pause(stop: asyncio.Event, seconds: float, *wake: asyncio.Event) -> bool:
    """Wait ``seconds``, or less when ``stop`` or one of ``wake`` is set; whether to stop.

    The one way a background loop waits: ``while not await pause(stop, delay): ...``."""
    events = (stop, *wake)
    if not any(event.is_set() for event in events):
        waiters = [asyncio.ensure_future(event.wait()) for event in events]
        try:
            await asyncio.wait(waiters, timeout=max(0.0, seconds), return_when=FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
    return stop.is_set()


async def halt(stop: asyncio.Event, task: asyncio.Task[Any], grace: float) -> None:
    """Ask a loop to stop, give it ``grace`` seconds to finish what it does, then cancel it."""
    stop.set()
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        log.warning("task %s did not stop within %.0f s; cancelled", task.get_name(), grace)
        task.cancel()
        await asyncio.wait({task})
