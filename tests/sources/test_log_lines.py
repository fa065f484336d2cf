"""Log lines that never end (progress bars writing only `\\r`, binary junk): held text stays bounded, a line
longer than the cap is cut with a marker, and the lines after it arrive intact."""

from __future__ import annotations

import gc
import time
import tracemalloc
from pathlib import Path

from buildrunner_gui.model.inputs import LogAppended
from buildrunner_gui.sources.reader import LINE_CAP_BYTES, ProjectReader

from .helpers import WAIT_MS

LOG = ".buildrunner/logs/build.log"
MIB = 1024 * 1024


def make_log(project: Path, text: str = "") -> Path:
    path = project / LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read_all(reader: ProjectReader, rel: str = LOG) -> list[str]:
    """Sync one log until nothing is left unread; the texts of its LogAppended inputs."""
    texts: list[str] = []
    while True:
        result = reader.sync(rel)
        texts.extend(entry.text for entry in result.inputs if isinstance(entry, LogAppended) and entry.text)
        if not result.more:
            return texts


def lines(texts: list[str]) -> list[str]:
    return [line for text in texts for line in text.split("\n")]


def test_an_endless_line_is_held_bounded_cut_with_a_marker_and_later_lines_arrive(tmp_path):
    log = make_log(tmp_path, "before\n")
    reader = ProjectReader(str(tmp_path))
    reader.scan()
    progress = b"".join(b"\rbuilding %7d / 20000000 bytes" % n for n in range(0, 20_000, 1)) * 30
    chunk = progress[: MIB // 2]  # progress bar output: `\r` and never a newline
    total = 20 * MIB
    texts: list[str] = []

    gc.collect()
    tracemalloc.start()
    started = time.process_time()
    with log.open("ab") as handle:
        for _ in range(total // len(chunk)):
            handle.write(chunk)
            handle.flush()
            texts.extend(read_all(reader))
        handle.write(b"\nafter 1\nafter 2\n")
    texts.extend(read_all(reader))
    cpu = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\n20 MiB partial line: {cpu:.2f} s CPU, {peak / MIB:.2f} MiB peak traced memory")

    assert peak < 4 * MIB, "the unfinished line must not be held whole"
    assert all(len(text.encode()) < 128 * 1024 for text in texts), "every message stays far below 1 MiB"
    got = lines(texts)
    assert got[-2:] == ["after 1", "after 2"]
    cut = [line for line in got if "[line cut:" in line]
    assert len(cut) == 1
    assert cut[0].endswith(f" … [line cut: {total - LINE_CAP_BYTES} bytes]")
    assert cut[0].startswith("\rbuilding       0 / 20000000 bytes")


def test_lines_up_to_the_cap_are_whole_and_one_byte_more_is_cut(tmp_path):
    log = make_log(tmp_path)
    reader = ProjectReader(str(tmp_path))
    reader.scan()
    exact = "x" * LINE_CAP_BYTES
    with log.open("a") as handle:
        handle.write(exact)
        handle.flush()
        assert read_all(reader) == []  # not yet ended
        handle.write("\n" + "y" * (LINE_CAP_BYTES + 1) + "\nshort\n")
    got = lines(read_all(reader))
    assert got == [exact, "y" * LINE_CAP_BYTES + " … [line cut: 1 bytes]", "short"]


def test_a_cut_never_splits_a_character(tmp_path):
    log = make_log(tmp_path)
    reader = ProjectReader(str(tmp_path))
    reader.scan()
    log.write_text("a" + "é" * LINE_CAP_BYTES + "\n", encoding="utf-8")  # 2 bytes each; the cap falls inside one
    (line,) = lines(read_all(reader))
    head, marker = line.split(" … ")
    assert head == "a" + "é" * ((LINE_CAP_BYTES - 1) // 2)
    assert "\ufffd" not in head
    assert marker == f"[line cut: {1 + 2 * LINE_CAP_BYTES - len(head.encode())} bytes]"


def test_a_log_opened_mid_line_skips_to_the_next_line_and_stays_bounded(tmp_path):
    make_log(tmp_path, "old\n" + "z" * (3 * MIB) + "\nnext line\n")  # the tail read at start begins mid-line
    reader = ProjectReader(str(tmp_path))
    texts = [entry.text for entry in reader.scan() if isinstance(entry, LogAppended)]
    assert lines(texts) == ["next line"]


def test_the_watcher_sends_a_cut_line_and_the_lines_after_it(qtbot, project, start_watcher):
    log = make_log(project, "first\n")
    _watcher, got = start_watcher(project, rescan_interval=3600.0)
    since = len(got.messages)

    with log.open("ab") as handle:
        for _ in range(40):  # 20 MiB without a newline
            handle.write(b"\r" + b"#" * (MIB // 2 - 1))
            handle.flush()
        handle.write(b"\nafter 1\nafter 2\n")

    def log_lines() -> list[str]:  # split at "\n" only: a `\r` inside a line is the line's own business
        sent = got.of_type("terminal_output")
        return lines([m["output"] for m in sent if m["source"] == "log:build.log" and m["output_type"] == "stdout"])

    qtbot.waitUntil(lambda: log_lines()[-1:] == ["after 2"], timeout=WAIT_MS)
    outputs = [m["output"] for m in got.messages[since:] if m["type"] == "terminal_output"]
    assert max(len(text.encode()) for text in outputs) < 128 * 1024
    text = log_lines()
    assert text == ["first", text[1], "after 1", "after 2"]
    assert [line for line in text if "[line cut:" in line] == [
        "\r" + "#" * (LINE_CAP_BYTES - 1) + f" … [line cut: {20 * MIB - LINE_CAP_BYTES} bytes]"
    ]
