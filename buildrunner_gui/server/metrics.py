"""`GET /metrics` (protocol.md, "Feeds for other tools"): the sessions and the server in the Prometheus text
format, written by `prometheus_client` (the OpenMetrics format when the scraper asks for it, as Prometheus does).

One registry per server, holding one collector that reads, at scrape time, what the route hands it: the sessions'
feeds (read from the stores on the owner's thread) and the server's own figures (read on the server's thread).
Every per-session metric carries one label `session`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import get_args

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
)
from prometheus_client.exposition import choose_encoder

from .. import __version__
from ..model.messages import RunState
from ..model.normalize import Status
from .feed_state import ITEM_KINDS, ITEM_STATUSES, SessionFeed

PATH = "/metrics"
STATUSES: tuple[str, ...] = get_args(Status)
RUN_STATES: tuple[str, ...] = get_args(RunState)
# Why the server refused a request, by the HTTP status it answered (protocol.md, "Access" and the routes).
REFUSAL_REASONS = {
    400: "bad_request",
    401: "token",
    403: "origin",
    404: "not_found",
    405: "method",
    409: "not_applicable",
    421: "host",
    426: "not_websocket",
    429: "too_many_attempts",
    503: "too_many_clients",
}


@dataclass(frozen=True)
class ServerFigures:
    """The server's own counts, read on its thread."""

    clients: int = 0
    clients_of: Mapping[str, int] = field(default_factory=dict)
    messages_sent: int = 0  # frames written to clients since the server started
    lag_episodes: int = 0  # times a client fell more than its budget behind and was skipped until it drained
    slow_closed: int = 0  # clients closed (1013) for not draining for 30 s
    refused: Mapping[int, int] = field(default_factory=dict)  # HTTP status -> requests answered with it
    replay_events: Mapping[str, int] = field(default_factory=dict)  # by session
    replay_bytes: Mapping[str, int] = field(default_factory=dict)


class MetricsFeed:
    def __init__(self) -> None:
        self._collector = _Collector()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self._collector)

    def render(self, feeds: Sequence[SessionFeed], figures: ServerFigures, accept: str | None) -> tuple[bytes, str]:
        """The exposition (body, content type) in the format `accept` asks for (plain text by default)."""
        encoder, content_type = choose_encoder(accept or "")
        self._collector.feeds, self._collector.figures = feeds, figures  # read by the scrape just below
        try:
            return encoder(self.registry), content_type
        finally:
            self._collector.feeds, self._collector.figures = (), ServerFigures()


def refusal_reason(status: int) -> str:
    return REFUSAL_REASONS.get(status, f"http_{status}")


class _Collector:
    def __init__(self) -> None:
        self.feeds: Sequence[SessionFeed] = ()
        self.figures = ServerFigures()

    def collect(self) -> Iterator[Metric]:
        yield from _server_metrics(self.figures, len(self.feeds))
        yield from _session_metrics(self.feeds, self.figures)


def _server_metrics(figures: ServerFigures, sessions: int) -> Iterator[Metric]:
    yield InfoMetricFamily("buildrunner_server", "the mirror server", value={"version": __version__})
    yield GaugeMetricFamily("buildrunner_sessions", "sessions served", value=sessions)
    yield GaugeMetricFamily("buildrunner_clients", "WebSocket clients connected", value=figures.clients)
    yield CounterMetricFamily(
        "buildrunner_messages_sent", "WebSocket messages sent to clients", value=figures.messages_sent
    )
    yield CounterMetricFamily(
        "buildrunner_client_lag_episodes",
        "times a client fell over its send budget and got no events until it drained",
        value=figures.lag_episodes,
    )
    yield CounterMetricFamily(
        "buildrunner_clients_dropped_slow",
        "clients closed (1013) because they did not drain for 30 s",
        value=figures.slow_closed,
    )
    refused = CounterMetricFamily(
        "buildrunner_refused_requests", "HTTP requests and handshakes refused, by reason", labels=["reason", "code"]
    )
    for status, count in sorted(figures.refused.items()):
        refused.add_metric([refusal_reason(status), str(status)], count)
    yield refused


def _session_metrics(feeds: Sequence[SessionFeed], figures: ServerFigures) -> Iterator[Metric]:
    session = ["session"]
    info = InfoMetricFamily("buildrunner_session", "the session's project", labels=session)
    status = StateSetMetricFamily("buildrunner_session_status", "the session's status", labels=session)
    building = GaugeMetricFamily(
        "buildrunner_session_building", "1 while the project is building (formats.md, Activity)", labels=session
    )
    percent = GaugeMetricFamily("buildrunner_session_percent", "the build's completion percentage", labels=session)
    items = GaugeMetricFamily(
        "buildrunner_session_items", "features and components by status", labels=["session", "kind", "status"]
    )
    checkpoints = GaugeMetricFamily("buildrunner_session_checkpoints", "checkpoints recorded", labels=session)
    age = GaugeMetricFamily(
        "buildrunner_session_last_change_age_seconds", "seconds since the build state last changed", labels=session
    )
    run_state = StateSetMetricFamily(
        "buildrunner_session_run_state", "the current or last run of the build command", labels=session
    )
    run_duration = GaugeMetricFamily(
        "buildrunner_session_last_run_duration_seconds", "how long the last finished run took", labels=session
    )
    live = GaugeMetricFamily("buildrunner_session_live", "1 while the session's source is live", labels=session)
    clients = GaugeMetricFamily("buildrunner_session_clients", "WebSocket clients of the session", labels=session)
    replay_events = GaugeMetricFamily(
        "buildrunner_replay_buffer_events", "events kept for resuming clients", labels=session
    )
    replay_bytes = GaugeMetricFamily(
        "buildrunner_replay_buffer_bytes", "bytes of the events kept for resuming clients", labels=session
    )
    for feed in feeds:
        key = [feed.session_id]
        info.add_metric(key, {"project": feed.name})
        status.add_metric(key, {word: feed.status == word for word in STATUSES})
        building.add_metric(key, 1.0 if feed.building else 0.0)
        percent.add_metric(key, feed.percent)
        for kind in ITEM_KINDS:
            for word in ITEM_STATUSES:
                items.add_metric([feed.session_id, kind, word], feed.items[kind][word])
        checkpoints.add_metric(key, feed.checkpoints)
        if feed.last_change_age_s is not None:
            age.add_metric(key, feed.last_change_age_s)
        run_state.add_metric(key, {word: feed.run_state == word for word in RUN_STATES})
        if feed.last_run_duration_s is not None:
            run_duration.add_metric(key, feed.last_run_duration_s)
        live.add_metric(key, 1.0 if feed.live else 0.0)
        clients.add_metric(key, figures.clients_of.get(feed.session_id, 0))
        replay_events.add_metric(key, figures.replay_events.get(feed.session_id, 0))
        replay_bytes.add_metric(key, figures.replay_bytes.get(feed.session_id, 0))
    yield from (info, status, building, percent, items, checkpoints, age, run_state, run_duration, live, clients)
    yield from (replay_events, replay_bytes)
