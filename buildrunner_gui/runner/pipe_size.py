"""Make the pipes a build writes its output into small, so the window reads a flood in small slices.

QProcess reads whatever its pipe holds in one go, and the runner hands that on as one batch (one edit block in
the terminal, one pass of the event loop). A 64 KiB pipe means about a thousand lines in a single pass during
a flood; a 16 KiB one keeps each pass short while the build, blocked on the full pipe, waits its turn, so
nothing piles up in memory. Linux only: elsewhere the pipes keep the system's size.
"""

from __future__ import annotations

import contextlib
import os

try:
    import fcntl

    SET_PIPE_SIZE: int | None = fcntl.F_SETPIPE_SZ
except (ImportError, AttributeError):  # not Linux
    SET_PIPE_SIZE = None

OUTPUT_PIPE_BYTES = 16 * 1024


def shrink_output_pipes(pid: int, size: int = OUTPUT_PIPE_BYTES) -> bool:
    """Set the pipes behind the child's stdout and stderr to `size` bytes. False if one could not be set yet
    (a pipe holding more than `size` refuses: try again once it has been read); True when done or impossible."""
    if SET_PIPE_SIZE is None:
        return True
    done = True
    for fd in (1, 2):
        path = f"/proc/{pid}/fd/{fd}"
        try:
            if not os.readlink(path).startswith("pipe:"):
                continue  # not one of our pipes (a file, a terminal)
            handle = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # the child's own pipe, through /proc
        except OSError:
            continue  # gone, or not ours to open: nothing to do
        try:
            fcntl.fcntl(handle, SET_PIPE_SIZE, size)
        except OSError:
            done = False  # EBUSY: it holds more than `size` right now
        finally:
            with contextlib.suppress(OSError):
                os.close(handle)
    return done
