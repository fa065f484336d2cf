"""Awaiting the one background-task runner from the app's coroutines (the GUI thread's asyncio loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from ..ui.task_runner import TaskRunner

T = TypeVar("T")


def in_background(tasks: TaskRunner, work: Callable[[], T]) -> asyncio.Future[T]:
    """Run `work` on the runner's threads; the future completes on the GUI thread with its outcome."""
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def done(result: T) -> None:
        if not future.done():
            future.set_result(result)

    def failed(exc: BaseException) -> None:
        if not future.done():
            future.set_exception(exc)

    tasks.run(work, done, failed)
    return future
