"""An asyncio loop on a thread of its own: where the mirror server's sockets live, away from the GUI thread.

Handshakes, HTTP answers and sends to hundreds of clients then never hold up the window's event loop (under
qasync every ready callback of every connection would run inside one pass of Qt's event processing). The owner
talks to it through `run()` (await a coroutine there) and its mailbox (post plain calls, in order).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .mailbox import Mailbox

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.mailbox = Mailbox(self.loop)
        self._thread = threading.Thread(target=self._run_forever, name=name, daemon=True)
        self._finished: asyncio.Future[None] | None = None
        self._owner_loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._owner_loop = asyncio.get_running_loop()
        self._finished = self._owner_loop.create_future()
        self._thread.start()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on this thread's loop and wait for its outcome without blocking the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    async def stop(self) -> None:
        """Stop the loop once what is scheduled has run, and wait (without blocking) for the thread to end."""
        if self._finished is None:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        await self._finished
        self._thread.join()  # it has already returned from its loop: this does not wait
        self._finished = None

    def _run_forever(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
            _cancel_remaining(self.loop)
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()
            owner, finished = self._owner_loop, self._finished
            if owner is not None and finished is not None:
                with contextlib.suppress(RuntimeError):  # the owner's loop closed first: nobody waits
                    owner.call_soon_threadsafe(_settle, finished)


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
