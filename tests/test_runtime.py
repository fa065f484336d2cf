"""Process-wide settings: a large block freed does not make glibc carve later large blocks from the heap."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys
from buildrunner_gui.runtime import pin_mmap_threshold

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "pin":
    assert pin_mmap_threshold()
big = bytearray(4 * 1024 * 1024)  # a block of its own mapping; freeing it raises glibc's threshold, unless pinned
del big
before = libc.mallinfo2().hblkhd
frame = bytearray(300 * 1024)  # a status frame's size
print(libc.mallinfo2().hblkhd - before)
"""


def mapped_growth(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_large_blocks_keep_their_own_mappings_after_a_larger_one_was_freed():
    assert mapped_growth("default") == 0  # glibc's own adjustment: from the heap, where its hole stays
    assert mapped_growth("pin") >= 300 * 1024  # pinned: a mapping of its own, returned when freed
