"""The sessions a mirror server offers (`GET /api/build/sessions`), so a user can pick which to mirror.

Blocking I/O: call it off the GUI thread (the app's background-task runner). Any server address works:
`ws://HOST:PORT`, `http://HOST:PORT`, or a stream URL of one of its sessions; wss/https likewise.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

from ..model.jsonbytes import ParseError, load_json

TIMEOUT_SECONDS = 8.0
MAX_ANSWER_BYTES = 4 * 1024 * 1024
STREAM_PATH = "/api/build/stream/"


@dataclass(frozen=True)
class OfferedSession:
    session_id: str
    name: str
    status: str
    percent: float
    live: bool
    stream_url: str  # what to mirror: ws(s)://HOST:PORT/api/build/stream/ID (never with a token)


def server_of(url: str) -> tuple[str, str]:
    """(ws or wss, HOST:PORT) of any address of a server; ValueError with a one-line reason otherwise."""
    parts = urlsplit(url.strip())
    secure = {"ws": False, "http": False, "wss": True, "https": True}.get(parts.scheme)
    if secure is None or not parts.hostname:
        raise ValueError(f"not a server address: {url!r} (expected ws://HOST:PORT or http://HOST:PORT)")
    return ("wss" if secure else "ws"), parts.netloc.rsplit("@", 1)[-1]


def is_session_url(url: str) -> bool:
    path = urlsplit(url.strip()).path
    return path.startswith(STREAM_PATH) and len(path) > len(STREAM_PATH)


def token_in(url: str) -> str | None:
    return dict(parse_qsl(urlsplit(url).query)).get("token")


def fetch_sessions(url: str, token: str | None) -> list[OfferedSession]:
    """The server's sessions; OSError or ValueError with a one-line reason when it cannot be asked."""
    scheme, netloc = server_of(url)
    http = "https" if scheme == "wss" else "http"
    request = urllib.request.Request(f"{http}://{netloc}/api/build/sessions")
    token = token or token_in(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            body = answer.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as refused:
        raise ValueError(_refusal(refused.code)) from None
    except urllib.error.URLError as exc:
        raise OSError(f"cannot reach {netloc}: {exc.reason}") from None
    if len(body) > MAX_ANSWER_BYTES:
        raise ValueError(f"{netloc} sent a session list over {MAX_ANSWER_BYTES // (1024 * 1024)} MiB")
    try:
        rows = load_json(body)
    except ParseError as exc:
        raise ValueError(f"{netloc} did not send a session list ({exc.message})") from None
    if not isinstance(rows, list):
        raise ValueError(f"{netloc} did not send a session list")
    return [_offered(row, scheme, netloc) for row in rows if isinstance(row, dict) and row.get("session_id")]


def _offered(row: dict, scheme: str, netloc: str) -> OfferedSession:
    session_id = str(row["session_id"])
    percent = row.get("percent")
    return OfferedSession(
        session_id=session_id,
        name=str(row.get("name") or session_id),
        status=str(row.get("status") or "pending"),
        percent=float(percent) if isinstance(percent, int | float) else 0.0,
        live=row.get("live") is not False,
        stream_url=f"{scheme}://{netloc}{STREAM_PATH}{quote(session_id, safe='')}",
    )


def _refusal(status: int) -> str:
    return {
        401: "refused: token (the server needs its access token)",
        403: "refused: origin (the server does not allow this client)",
        404: "this server has no session list (is it a BuildRunner Desktop server?)",
        421: "refused: host (the server only answers to its own name)",
    }.get(status, f"the server answered HTTP {status}")
