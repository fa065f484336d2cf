"""One heavy step per pass of the event loop, shared by every mirrored session on that loop.

Thirty mirrors opening at once get their first `status` frames (hundreds of KB each) at about the same moment;
decoding each and loading the store in the same pass of the loop would hold the window for all of them. Taking
turns puts each heavy frame in a pass of its own: the window draws and answers between them, and every session's
frames still come in their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

HEAVY_FRAME_BYTES = 64 * 1024  # a frame this big (a `status` of a sizeable project) takes a turn

_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def heavy_turn() -> AsyncIterator[None]:
    """Wait for this loop's turn, do the heavy step, then hand the turn on in a later pass."""
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    async with lock:
        yield
        await asyncio.sleep(0)  # the next one starts in a later pass of the loop
