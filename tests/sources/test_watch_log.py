"""watchdog's notice about a watch stopped between two reads is not an error; its other messages still are."""

from __future__ import annotations

import logging

import buildrunner_gui.sources.watcher  # noqa: F401 - installs the filter, as the app does


def test_the_stopped_watch_notice_is_no_error_and_other_errors_pass(caplog) -> None:
    logger = logging.getLogger("watchdog.observers.inotify")
    with caplog.at_level(logging.INFO, logger="watchdog.observers.inotify"):
        logger.error("InotifyEmitter.queue_events() called when the thread is inactive")
        logger.error("some other trouble")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [("ERROR", "some other trouble")]
