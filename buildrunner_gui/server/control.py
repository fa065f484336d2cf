"""Remote control of build runs (protocol.md, "Build runs and remote control"): the routes' rules, no sockets.

`POST /api/build/{start|pause|resume|cancel}/{session_id}` with `Authorization: Bearer <control token>` only
(never `?token=`, so no link can start a build). Without a control token the paths answer 404; any other method
405; at most `CONTROL_PER_MINUTE` requests per minute per client address, authorized or not (429 beyond).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from websockets.datastructures import Headers

from .access import check_token, client_key

CONTROL_ACTIONS = ("start", "pause", "resume", "cancel")
CONTROL_PER_MINUTE = 10
MAX_TRACKED_ADDRESSES = 4096

# What the owner answers for an action: the `run_update` it produced (a dict), a one-line reason it does not
# apply (a str), or None for an unknown session (or one that cannot run builds).
ControlAnswer = dict[str, Any] | str | None
Controller = Callable[[str, str], ControlAnswer]


def control_route(path: str) -> tuple[str, str] | None:
    """(action, session_id) for a control path (already unquoted, without its query), else None."""
    prefix = "/api/build/"
    if not path.startswith(prefix):
        return None
    action, slash, session_id = path[len(prefix) :].partition("/")
    if action not in CONTROL_ACTIONS or not slash:
        return None
    return action, session_id


def check_control_token(token: str, viewer_token: str | None) -> None:
    """ValueError (one line) unless `token` may guard control: a valid token, never the viewer token."""
    check_token(token)
    if viewer_token is not None and hmac.compare_digest(token.encode(), viewer_token.encode()):
        raise ValueError("the control token must differ from the access token")


def bearer_matches(headers: Headers, token: str) -> bool:
    values = headers.get_all("Authorization")
    if len(values) != 1:
        return False
    scheme, _, value = values[0].partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


class ControlLimiter:
    """At most `limit` requests per `window` seconds per client address (a sliding window); thread-safe and
    bounded (the address heard from longest ago is forgotten first)."""

    def __init__(
        self, limit: int = CONTROL_PER_MINUTE, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, remote_address: Any) -> tuple[bool, float]:
        """(allowed, seconds until the next request would be allowed): counts this request either way."""
        key = client_key(remote_address) or "?"
        now = self.clock()
        with self._lock:
            times = self._seen.pop(key, None) or deque()
            while times and now - times[0] >= self.window:
                times.popleft()
            allowed = len(times) < self.limit
            if allowed:
                times.append(now)
            self._seen[key] = times  # newest last
            while len(self._seen) > MAX_TRACKED_ADDRESSES:
                self._seen.popitem(last=False)
            wait = 0.0 if allowed else max(0.0, self.window - (now - times[0]))
        return allowed, wait
