"""Supervised background tasks: referenced until done, their failures logged, never lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


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
