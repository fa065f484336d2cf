"""Wire-level clients for the attack suite: HTTP requests and WebSocket connections written by hand.

A library client would refuse to misbehave (never read, send an unmasked or oversized frame, repeat a header),
so the attackers speak the protocols on bare non-blocking sockets. Client frames are masked, as RFC 6455 requires
of a client; the server's frames are parsed just enough to find text payloads and the close code.
"""

from __future__ import annotations

import base64
import contextlib
import os
import select
import socket
import struct
import time
from dataclasses import dataclass, field

from websockets.frames import Frame, Opcode

CLOSE_OPCODE = 0x8
TEXT_OPCODE = 0x1
PING_OPCODE = 0x9
PONG_OPCODE = 0xA
MAX_HEAD = 64 * 1024
KNOWN_OPCODES = {int(opcode) for opcode in Opcode}


@dataclass
class HttpAnswer:
    status: int  # 0 when the server closed without a status line
    head: str
    body: bytes
    seconds: float


class HandshakeRefused(Exception):
    def __init__(self, answer: HttpAnswer) -> None:
        super().__init__(f"handshake refused: HTTP {answer.status}")
        self.answer = answer


def request_head(method: str, path: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _parse_answer(raw: bytes, started: float) -> HttpAnswer:
    head, _, body = raw.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    parts = text.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return HttpAnswer(status, text, body, time.monotonic() - started)


def http_exchange(port: int, request: bytes, timeout: float = 15.0, source: str | None = None) -> HttpAnswer:
    """Send a raw request to 127.0.0.1:port (from the loopback address `source`, if given) and read the answer
    until the server closes (every answer of this server says `Connection: close`) or the timeout passes."""
    started = time.monotonic()
    source_address = (source, 0) if source else None
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=source_address) as sock:
        sock.sendall(request)
        chunks: list[bytes] = []
        deadline = started + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return _parse_answer(b"".join(chunks), started)


def http_get(port: int, path: str, extra: list[tuple[str, str]] | None = None, timeout: float = 15.0) -> HttpAnswer:
    headers = [("Host", f"127.0.0.1:{port}"), *(extra or [])]
    return http_exchange(port, request_head("GET", path, headers), timeout=timeout)


def handshake_headers(port: int) -> list[tuple[str, str]]:
    key = base64.b64encode(os.urandom(16)).decode()
    return [
        ("Host", f"127.0.0.1:{port}"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ]


@dataclass
class RawWebSocket:
    """A WebSocket client on a bare non-blocking socket: it reads only when told to (`pump`)."""

    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    close_code: int | None = None  # from the server's close frame, once read
    gone: bool = False  # EOF or reset seen, or a send failed
    frames_in: int = 0
    bytes_in: int = 0
    largest_frame: int = 0
    answer_pings: bool = True  # as every client library does, once the ping is read (a non-reader never reads it)

    @classmethod
    def connect(
        cls,
        port: int,
        path: str,
        receive_buffer: int | None = None,
        extra_headers: list[tuple[str, str]] | None = None,
        timeout: float = 10.0,
    ) -> RawWebSocket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:  # set before connect, so the window the server sees is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        started = time.monotonic()
        sock.sendall(request_head("GET", path, handshake_headers(port) + (extra_headers or [])))
        head = b""
        while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
            # One byte at a time past the head would be slow; the server sends nothing after 101 until we are
            # registered, so reading in chunks may take a frame or two: they are kept in the buffer.
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head_part, _, rest = head.partition(b"\r\n\r\n")
        if not head_part.startswith(b"HTTP/1.1 101"):
            sock.close()
            raise HandshakeRefused(_parse_answer(head, started))
        sock.setblocking(False)
        return cls(sock, bytearray(rest))

    @property
    def local_port(self) -> int:
        port: int = self.sock.getsockname()[1]
        return port

    # ---------------------------------------------------------------- sending

    def send_raw(self, data: bytes, timeout: float = 5.0) -> bool:
        """Write all of `data`, waiting at most `timeout` for room; False once the connection is gone."""
        if self.gone:
            return False
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            try:
                sent = self.sock.send(view)
                view = view[sent:]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                select.select([], [self.sock], [], min(left, 0.2))
            except OSError:
                self.gone = True
                return False
        return True

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True, masked: bool = True) -> bool:
        if opcode in KNOWN_OPCODES:
            return self.send_raw(Frame(Opcode(opcode), payload, fin=fin).serialize(mask=masked))
        return self.send_raw(reserved_frame(opcode, payload))

    def send_text(self, text: str) -> bool:
        return self.send_frame(TEXT_OPCODE, text.encode())

    # ---------------------------------------------------------------- receiving

    def pump(self, limit: int = 1 << 26, keep_text: bool = False) -> list[bytes]:
        """Read what has arrived (at most `limit` bytes) and parse it; returns text payloads if `keep_text`."""
        received = 0
        while received < limit and not self.gone:
            try:
                chunk = self.sock.recv(262144)
            except BlockingIOError:
                break
            except OSError:
                self.gone = True
                break
            if not chunk:
                self.gone = True
                break
            received += len(chunk)
            self.buffer += chunk
        self.bytes_in += received
        return self._parse(keep_text)

    def read_some(self, size: int) -> int:
        """Read at most `size` bytes (a slow reader); they are parsed, so frame boundaries stay known for a
        later `drain_until_closed`. Returns how many were read."""
        try:
            chunk = self.sock.recv(size)
        except BlockingIOError:
            return 0
        except OSError:
            self.gone = True
            return 0
        if not chunk:
            self.gone = True
        self.bytes_in += len(chunk)
        self.buffer += chunk
        self._parse(keep_text=False)
        return len(chunk)

    def _parse(self, keep_text: bool) -> list[bytes]:
        texts: list[bytes] = []
        buffer = self.buffer
        offset = 0
        while True:
            parsed = _frame_at(buffer, offset)
            if parsed is None:
                break
            opcode, start, end = parsed
            self.frames_in += 1
            self.largest_frame = max(self.largest_frame, end - start)
            if opcode == CLOSE_OPCODE:
                payload = bytes(buffer[start:end])
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            elif opcode == PING_OPCODE and self.answer_pings and self.close_code is None:
                self.send_frame(PONG_OPCODE, bytes(buffer[start:end]))
            elif keep_text and opcode == TEXT_OPCODE:
                texts.append(bytes(buffer[start:end]))
            offset = end
        del buffer[:offset]
        return texts

    def wait_text(self, timeout: float = 5.0) -> list[bytes]:
        """Pump until at least one text frame arrives (or the connection ends, or the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.gone and self.close_code is None:
            texts = self.pump(keep_text=True)
            if texts:
                return texts
            select.select([self.sock], [], [], 0.05)
        return []

    def drain_until_closed(self, timeout: float) -> int | None:
        """Read everything as fast as possible until the close frame or the end; returns the close code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.close_code is None and not self.gone:
            select.select([self.sock], [], [], 0.05)
            self.pump()
        return self.close_code

    def abort(self) -> None:
        """Drop the TCP connection at once (RST), as a vanished client would."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        self.gone = True


def reserved_frame(opcode: int, payload: bytes) -> bytes:
    """A masked frame with an opcode RFC 6455 reserves (websockets will not build one); payload < 126 bytes."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload[:125]))
    return bytes([0x80 | (opcode & 0x0F), 0x80 | len(masked)]) + mask + masked


def _frame_at(buffer: bytearray, offset: int) -> tuple[int, int, int] | None:
    """(opcode, payload start, payload end) of the complete frame at `offset`, or None if it is not all here."""
    if len(buffer) - offset < 2:
        return None
    opcode = buffer[offset] & 0x0F
    masked = buffer[offset + 1] & 0x80
    length = buffer[offset + 1] & 0x7F
    position = offset + 2
    if length == 126:
        if len(buffer) < position + 2:
            return None
        length = struct.unpack_from("!H", buffer, position)[0]
        position += 2
    elif length == 127:
        if len(buffer) < position + 8:
            return None
        length = struct.unpack_from("!Q", buffer, position)[0]
        position += 8
    if masked:  # servers never mask; skip the key if one does, the payload is not needed unmasked here
        position += 4
    if len(buffer) < position + length:
        return None
    return opcode, position, position + length
