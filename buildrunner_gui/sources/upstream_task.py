"""What a session fed from elsewhere (a remote server, a broker) does the same way: it follows its upstream in one
task on the app's asyncio loop, which `start` begins, `stop` cancels and `aclose` cancels and waits for."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from typing import ClassVar

from ..model.store import SessionStore


class UpstreamTask(ABC):
    store: SessionStore
    task_prefix: ClassVar[str]  # names the task ("mirror", "broker") in debug output
    _loaded: bool
    _task: asyncio.Task[None] | None

    @property
    def session_id(self) -> str:
        return self.store.session_id

    @property
    def is_ready(self) -> bool:
        return self._loaded

    @property
    def is_local(self) -> bool:
        return False

    @property
    def running(self) -> bool:
        """Following (or retrying); False before `start`, after `stop`, and once it gave up for good."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"{self.task_prefix}:{self.session_id}")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @abstractmethod
    async def _run(self) -> None:
        """Follow the upstream until stopped (or refused for good)."""
