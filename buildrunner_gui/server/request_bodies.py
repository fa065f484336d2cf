"""Requests that carry a body get an answer: 405 for a method other than GET, else 400.

websockets reads no request body (a handshake has none) and drops such a connection without a word, so a
client's POST would hang until its own timeout. This connection class looks at the request head before
websockets parses it and answers those requests itself.
"""

from __future__ import annotations

import re

from websockets.asyncio.server import ServerConnection

HEAD_LIMIT = 16 * 1024  # a longer head is websockets' to refuse (431)
_BODY_HEADER = re.compile(rb"\r\n(content-length:\s*0*[1-9]|transfer-encoding:)", re.IGNORECASE)


class BodyRefusingConnection(ServerConnection):
    _head = b""
    _passed = False

    def data_received(self, data: bytes) -> None:
        if self._passed:
            super().data_received(data)
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0 and len(self._head) < HEAD_LIMIT:
            return  # the head is not complete yet
        head, self._head, self._passed = self._head, b"", True
        if end >= 0 and _BODY_HEADER.search(head[: end + 2]):
            self._refuse(head)
            return
        super().data_received(head)

    def _refuse(self, head: bytes) -> None:
        is_get = head.startswith(b"GET ")
        status, text = (400, "request bodies are not accepted") if is_get else (405, "only GET is served")
        body = (text + "\n").encode()
        allow = b"" if is_get else b"Allow: GET\r\n"
        self.transport.write(
            b"HTTP/1.1 %d %s\r\n%sContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s"
            % (status, b"Bad Request" if is_get else b"Method Not Allowed", allow, len(body), body)
        )
        self.transport.close()
