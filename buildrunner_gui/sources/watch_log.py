"""watchdog's own log, made truthful: a watch stopped while its thread was between two reads is logged by
watchdog as an ERROR ("InotifyEmitter.queue_events() called when the thread is inactive") although nothing is
wrong: the watch was being closed or replaced (a project closed, `.buildrunner/` deleted and re-created). That
one notice is kept at DEBUG; every other message of watchdog's passes as it is."""

from __future__ import annotations

import logging

_STOPPED_WHILE_READING = "called when the thread is inactive"


class _StoppedWatchNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and _STOPPED_WHILE_READING in record.getMessage():
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def quiet_stopped_watch_notice() -> None:
    """Installs the filter on watchdog's inotify logger (once, however often it is called)."""
    logger = logging.getLogger("watchdog.observers.inotify")
    if not any(isinstance(f, _StoppedWatchNotice) for f in logger.filters):
        logger.addFilter(_StoppedWatchNotice())
