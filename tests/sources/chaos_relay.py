"""A TCP relay on 127.0.0.1 that disturbs the connections it carries, for tests of the mirror client.

It forwards bytes both ways between each client and the target port, and on demand:
- `drop()`: closes every connection (a FIN, or a reset when `reset=True`);
- `stall()` / `flow()`: stops forwarding in both directions, then goes on (nothing is lost);
- `half_open()`: stops forwarding for good without closing anything, as when the far side vanished;
- `cut = True`: a new connection is closed as soon as it is accepted (the server looks gone).
`accepted` counts the connections accepted, refused ones included: the client's attempts.
"""

from __future__ import annotations

import asyncio
import contextlib


class Pipe:
    """One client's connection and its connection to the target."""

    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.writers = (client, server)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.dead = False  # half-open: never forwards again
        self.tasks: list[asyncio.Task[None]] = []

    async def pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self.flowing.wait()
                data = await reader.read(65536)
                if not data:
                    break
                await self.flowing.wait()  # a stall that began while reading holds this chunk back
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        if not self.dead:
            self.close()

    def close(self, reset: bool = False) -> None:
        for writer in self.writers:
            if reset:
                writer.transport.abort()
            else:
                writer.close()


class ChaosRelay:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.accepted = 0
        self.cut = False
        self._pipes: set[Pipe] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for pipe in list(self._pipes):
            self._end(pipe)
        await asyncio.sleep(0)

    @property
    def open_connections(self) -> int:
        return sum(1 for pipe in self._pipes if not pipe.dead)

    def drop(self, reset: bool = False) -> None:
        for pipe in list(self._pipes):
            pipe.close(reset)

    def stall(self) -> None:
        for pipe in self._pipes:
            pipe.flowing.clear()

    def flow(self) -> None:
        for pipe in self._pipes:
            if not pipe.dead:
                pipe.flowing.set()

    def half_open(self) -> None:
        for pipe in self._pipes:
            pipe.dead = True
            pipe.flowing.clear()

    def bury(self) -> None:
        """Close the half-open connections now that the test is done with them (the server's side included)."""
        for pipe in [p for p in self._pipes if p.dead]:
            self._end(pipe)

    def _end(self, pipe: Pipe) -> None:
        for task in pipe.tasks:
            task.cancel()
        pipe.close(reset=True)
        self._pipes.discard(pipe)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.cut:
            client_writer.close()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        pipe = Pipe(client_writer, server_writer)
        self._pipes.add(pipe)
        pipe.tasks = [
            asyncio.ensure_future(pipe.pump(client_reader, server_writer)),
            asyncio.ensure_future(pipe.pump(server_reader, client_writer)),
        ]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*pipe.tasks, return_exceptions=True)
        if not pipe.dead:
            self._pipes.discard(pipe)
