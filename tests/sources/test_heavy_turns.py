"""Heavy steps of different mirrors take turns: never two in one pass of the event loop, none lost."""

from __future__ import annotations

import asyncio

from buildrunner_gui.sources.heavy_turns import heavy_turn


def test_heavy_steps_never_share_a_pass_of_the_loop() -> None:
    async def scenario() -> list[tuple[str, int]]:
        passes = 0
        running = True

        def count_passes() -> None:  # call_soon from a callback runs in the next pass: one tick per pass
            nonlocal passes
            passes += 1
            if running:
                asyncio.get_running_loop().call_soon(count_passes)

        count_passes()
        done: list[tuple[str, int]] = []

        async def mirror(name: str) -> None:
            for _ in range(3):
                async with heavy_turn():
                    done.append((name, passes))

        await asyncio.gather(*(mirror(name) for name in "abcde"))
        running = False
        return done

    done = asyncio.run(scenario())
    assert sorted(name for name, _ in done) == sorted("abcde" * 3)
    moments = [moment for _, moment in done]
    assert len(set(moments)) == len(moments)  # each in a pass of its own
