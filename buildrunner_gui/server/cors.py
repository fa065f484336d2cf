"""CORS for allowed origins (protocol.md, Access): a page served elsewhere may read the routes; never `*`.

Only answers whose request already passed the Origin check get these headers, so the origin named is one the
server allows (its own, or one given with `--allow-origin`).
"""

from __future__ import annotations

from websockets.http11 import Response

from .http_replies import response


def allow(answer: Response, origin: str) -> None:
    answer.headers["Access-Control-Allow-Origin"] = origin
    answer.headers["Vary"] = "Origin"


def preflight(origin: str) -> Response:
    answer = response(204, b"", "text/plain; charset=utf-8")
    del answer.headers["Content-Type"]
    allow(answer, origin)
    answer.headers["Access-Control-Allow-Methods"] = "GET"
    answer.headers["Access-Control-Allow-Headers"] = "Authorization"
    answer.headers["Access-Control-Max-Age"] = "600"
    return answer
