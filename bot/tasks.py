"""Background work the bot starts and waits for: one supervisor per bot."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["Background"]

_log = logging.getLogger(__name__)


class Background:
    """Tasks started with ``spawn``; ``drain`` waits for them and for whatever the
    ``also`` sources report as pending (the message editor's edits)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._also: list[Callable[[], set[asyncio.Future[Any]]]] = []

    def also_wait_for(self, pending: Callable[[], set[asyncio.Future[Any]]]) -> None:
        self._also.append(pending)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; ``drain`` waits for it (tests, shutdown)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("background task failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait until background tasks and the other pending work are done."""
        while True:
            pending: set[asyncio.Future[Any]] = set(self._tasks)
            for source in self._also:
                pending |= source()
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)


class OneAtATime:
    """A job that runs one at a time (``lock``), and is asked for at most once while
    a run is pending (``pending``)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.pending = False
