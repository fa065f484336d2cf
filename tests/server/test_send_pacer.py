"""The server-wide send pacer: back-to-back sending gets a slice, then every sender waits for the loop."""

from __future__ import annotations

import asyncio
import time

from buildrunner_gui.server import send_pacer
from buildrunner_gui.server.send_pacer import SendPacer


def busy_sends(pacer: SendPacer, seconds: float) -> int:
    """Send back to back (as many woken senders do in one pass) for `seconds`; count what was allowed."""
    allowed = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pacer.may_send_now():
            allowed += 1
            pacer.sent()
    return allowed


def test_a_slice_ends_and_the_next_one_starts_after_a_return_to_the_loop(run):
    async def scenario() -> None:
        pacer = SendPacer()
        assert busy_sends(pacer, send_pacer.SLICE_SECONDS / 2) > 0
        busy_sends(pacer, send_pacer.SLICE_SECONDS * 2)
        assert not pacer.may_send_now()  # the slice is used up: senders must wait
        ticks: list[float] = []
        ticker = asyncio.get_running_loop().call_soon(lambda: ticks.append(time.monotonic()))
        await asyncio.gather(pacer.turn(), pacer.turn(), pacer.turn())  # every waiting sender shares one pause
        ticker.cancel()
        assert ticks, "the loop ran other work before sending went on"
        assert pacer.may_send_now()

    run(scenario())


def test_an_idle_loop_never_holds_a_small_send_back(run):
    async def scenario() -> None:
        pacer = SendPacer()
        for _ in range(5):
            assert pacer.may_send_now()
            pacer.sent()
            await asyncio.sleep(send_pacer.SLICE_SECONDS * 2)  # the loop was free in between

    run(scenario())
