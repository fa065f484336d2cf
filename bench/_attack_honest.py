"""The honest client of the attack suite, in a process of its own so the attackers' work never skews its timings.

It is a well-behaved `websockets` client with the library's default 1 MiB frame limit (like any standard client):
it pings every 50 ms and times each pong, follows the events into its own view of the build (progress, status,
features, components), and notes when each checkpoint id is first seen. Times are CLOCK_MONOTONIC, which every
process on the machine shares, so the parent can line them up with its attack marks.

Commands, one JSON object a line on stdin; each answer is one JSON line on stdout:
  {"cmd": "report"}  -> {"rtts": [[sent, ms], ...], "outstanding": [sent, ...], "largest_frame", "frames",
                         "closed": null | {"code", "reason", "at"}, "view", "checkpoints": {id: first seen}}
  {"cmd": "fresh"}   -> {"view": ...} from a `status` asked for with request_status (null if none within 10 s)
  {"cmd": "quit"}    -> closes the connection and exits
The first line written is {"ready": true, "epoch": ...} once the first `status` is in (or {"ready": false, ...}).

Run by the suite: .venv/bin/python bench/_attack_honest.py URL [--token T]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import time
from collections import deque
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PING_SECONDS = 0.05
ITEM_FIELDS = ("id", "name", "status", "raw_status", "progress", "metadata")
PROGRESS_FIELDS = ("total", "completed", "percent", "status", "tasks_completed", "files_created")


def view_of(state: dict[str, Any]) -> dict[str, Any]:
    """The fields that must converge, keyed so that item order does not matter."""
    return {
        "status": state.get("status"),
        "progress": state.get("progress"),
        "features": {item["id"]: item for item in state.get("features", [])},
        "components": {item["id"]: item for item in state.get("components", [])},
    }


class Honest:
    def __init__(self) -> None:
        self.view: dict[str, Any] | None = None
        self.epoch: str | None = None
        self.sent: deque[float] = deque()
        self.rtts: list[tuple[float, float]] = []
        self.largest_frame = 0
        self.frames = 0
        self.bytes = 0
        self.closed: dict[str, Any] | None = None
        self.checkpoints: dict[str, float] = {}
        self.fresh_wanted: list[asyncio.Future[dict[str, Any]]] = []
        self.ready = asyncio.Event()

    # ---------------------------------------------------------------- what comes in

    def on_frame(self, raw: str | bytes) -> None:
        now = time.monotonic()
        self.frames += 1
        size = len(raw) if isinstance(raw, bytes) or raw.isascii() else len(raw.encode())
        self.bytes += size
        self.largest_frame = max(self.largest_frame, size)
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "pong":
            if self.sent:
                sent = self.sent.popleft()
                self.rtts.append((sent, (now - sent) * 1000))
        elif kind == "status":
            self.view = view_of(message["state"])
            self.epoch = message.get("epoch")
            for checkpoint in message["state"].get("checkpoints", []):
                self.checkpoints.setdefault(checkpoint["checkpoint_id"], now)
            self.ready.set()
            for future in self.fresh_wanted:
                if not future.done():
                    future.set_result(self.view)
            self.fresh_wanted.clear()
        elif self.view is not None:
            self.apply(kind, message, now)

    def apply(self, kind: str | None, message: dict[str, Any], now: float) -> None:
        assert self.view is not None
        if kind == "component_update":
            self._item(self.view["components"], message["component_id"], message)
        elif kind == "feature_update":
            self._item(self.view["features"], message["feature_id"], message)
        elif kind == "build_progress":
            self.view["progress"] = {name: message[name] for name in PROGRESS_FIELDS}
            self.view["status"] = message["status"]
        elif kind == "checkpoint_update":
            self.checkpoints.setdefault(message["checkpoint_id"], now)

    @staticmethod
    def _item(items: dict[str, Any], item_id: str, message: dict[str, Any]) -> None:
        if message.get("removed"):
            items.pop(item_id, None)
            return
        items[item_id] = {"id": item_id, **{name: message[name] for name in ITEM_FIELDS[1:]}}

    # ---------------------------------------------------------------- what the parent asks

    def report(self) -> dict[str, Any]:
        return {
            "rtts": self.rtts,
            "outstanding": list(self.sent),
            "largest_frame": self.largest_frame,
            "frames": self.frames,
            "bytes": self.bytes,
            "closed": self.closed,
            "view": self.view,
            "checkpoints": self.checkpoints,
        }


def answer(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


async def receive(ws: ClientConnection, honest: Honest) -> None:
    try:
        async for raw in ws:
            honest.on_frame(raw)
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd is not None else None
        reason = closed.rcvd.reason if closed.rcvd is not None else str(closed)
        honest.closed = {"code": code, "reason": reason, "at": time.monotonic()}
    honest.ready.set()


async def ping(ws: ClientConnection, honest: Honest) -> None:
    next_at = time.monotonic()
    while honest.closed is None:
        next_at += PING_SECONDS
        honest.sent.append(time.monotonic())
        try:
            await ws.send('{"type":"ping"}')
        except ConnectionClosed:
            return
        # No catching up after a delay: a burst of pings would only measure the burst.
        next_at = max(next_at, time.monotonic())
        await asyncio.sleep(next_at - time.monotonic())


async def fresh(ws: ClientConnection, honest: Honest) -> dict[str, Any]:
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    honest.fresh_wanted.append(future)
    try:
        await ws.send('{"type":"request_status"}')
        return {"view": await asyncio.wait_for(future, 10)}
    except (TimeoutError, ConnectionClosed):
        return {"view": None}


def read_commands(loop: asyncio.AbstractEventLoop, commands: asyncio.Queue[str]) -> None:
    """stdin is read on a thread: a blocking read there never holds up the pings."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(commands.put_nowait, line)
    loop.call_soon_threadsafe(commands.put_nowait, '{"cmd": "quit"}')


async def main(url: str, token: str | None) -> None:
    honest = Honest()
    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        ws = await connect(url, additional_headers=headers, compression=None, open_timeout=15)
    except Exception as exc:
        answer({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    tasks = [asyncio.create_task(receive(ws, honest))]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(honest.ready.wait(), 15)
    answer({"ready": honest.view is not None, "epoch": honest.epoch, "closed": honest.closed})
    tasks.append(asyncio.create_task(ping(ws, honest)))
    commands: asyncio.Queue[str] = asyncio.Queue()
    threading.Thread(target=read_commands, args=(asyncio.get_running_loop(), commands), daemon=True).start()
    while True:
        command = json.loads(await commands.get()).get("cmd")
        if command == "report":
            answer(honest.report())
        elif command == "fresh":
            answer(await fresh(ws, honest))
        elif command == "quit":
            break
    await ws.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the attack suite's honest client")
    parser.add_argument("url")
    parser.add_argument("--token")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.url, arguments.token))
