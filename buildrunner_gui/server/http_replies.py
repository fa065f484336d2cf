"""HTTP answers of the mirror server: small, uncached, sniff-proof, one connection each."""

from __future__ import annotations

import http
import json
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Response

PAGE_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self' ws: wss:; img-src data:"
)


def response(status: int, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Connection", "close"),
        ]
    )
    return Response(status, http.HTTPStatus(status).phrase, headers, body)


def text(status: int, line: str) -> Response:
    return response(status, (line + "\n").encode(), "text/plain; charset=utf-8")


def json_reply(status: int, value: Any) -> Response:
    return response(status, json.dumps(value).encode(), "application/json")


def encoded_json(status: int, body: bytes) -> Response:
    return response(status, body, "application/json")


def page(body: bytes) -> Response:
    reply = response(200, body, "text/html; charset=utf-8")
    reply.headers["Content-Security-Policy"] = PAGE_POLICY
    return reply


def method_not_allowed() -> Response:
    refused = text(405, "only GET is served")
    refused.headers["Allow"] = "GET"
    return refused
