"""How long the server's senders may keep the event loop (the GUI thread, in the window) busy in one go.

Under qasync every woken sender runs in one pass of Qt's event processing, so 200 clients each sent a 0.7 MiB
`status` at once would freeze the window for over 100 ms. The pacer is shared by every client of a server:
sending is allowed for `SLICE_SECONDS` of back-to-back work, then every sender waits for a short timer (a real
return to the event loop: paints, input, timers) before the next slice. Sending that paused for longer than a
slice starts a fresh one, so occasional frames are never held back.
"""

from __future__ import annotations

import asyncio
import time

SLICE_SECONDS = 0.008
PAUSE_SECONDS = 0.001


class SendPacer:
    def __init__(self) -> None:
        self._slice_start: float | None = None
        self._last_send = -1.0
        self._pause: asyncio.Future[None] | None = None

    def may_send_now(self) -> bool:
        """True while the current slice lasts; at its end the pause starts (call on the loop's thread)."""
        if self._pause is not None:
            return False
        now = time.monotonic()
        if self._slice_start is None or now - self._last_send > SLICE_SECONDS:  # after a pause, or long idle
            self._slice_start = now
        if now - self._slice_start <= SLICE_SECONDS:
            return True
        loop = asyncio.get_running_loop()
        self._pause = loop.create_future()
        loop.call_later(PAUSE_SECONDS, self._end_pause)  # a timer: Qt's own events run before it fires
        return False

    def sent(self) -> None:
        self._last_send = time.monotonic()

    async def turn(self) -> None:
        """Wait until this sender may send (at once, or after the pause that ends the current slice)."""
        while not self.may_send_now():
            assert self._pause is not None
            await asyncio.shield(self._pause)

    def _end_pause(self) -> None:
        pause, self._pause = self._pause, None
        self._slice_start = None
        if pause is not None and not pause.done():
            pause.set_result(None)
