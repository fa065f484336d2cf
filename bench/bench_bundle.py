"""Issue 14: the double-clickable app, measured against the bundle the issue started from.

- bundle size, unpacked (the one-folder bundle: every file, links not followed)      target < 130 MiB
- archive size (dist/buildrunner-gui-VERSION-linux-x86_64.tar.gz, as build_app.spec writes it) target < 55 MiB
- bundle start -> window shown with the sample project (offscreen), the process started to the app's own
  "window shown in N ms" log line                                                     target < 1.5 s
- build time from a warm venv (`pyinstaller --noconfirm build_app.spec`, new work folder each time) target < 60 s

Baseline: build_app.spec as it was before issue 14 (BASELINE_COMMIT), built and run the same way in the same
run (the two bundles' starts take turns); its archive is made with the same tar.gz settings the spec uses.

Run: .venv/bin/python bench/bench_bundle.py [--builds 3] [--starts 10]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import _benchlib as bl

from buildrunner_gui import __version__

BASELINE_COMMIT = "40f4fc5"  # the last commit before issue 14's spec
MIB = 1024 * 1024
NAME = "buildrunner-gui"
SAMPLE = bl.FIXTURES / "br3-sample"
SHOWN = re.compile(rb"window shown in \d+ ms")


def build(spec: Path, out: Path) -> float:
    """Seconds for one build into a fresh dist and work folder."""
    start = time.perf_counter()
    subprocess.run(
        [str(bl.VENV_BIN / "pyinstaller"), "--noconfirm", "--log-level", "ERROR", "--distpath", str(out / "dist"),
         "--workpath", str(out / "build"), str(spec)],
        cwd=bl.REPO, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - start


def tree_size(folder: Path) -> int:
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def make_archive(bundle: Path, archive: Path) -> None:
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:  # as build_app.spec does
        tar.add(bundle, arcname=NAME)


def start_to_window_ms(binary: Path, project: Path, home: Path) -> float:
    """Process start -> the app logs that its window shows the project; then SIGTERM."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "DISPLAY": ":0",  # only so that the app opens its window (no display: it serves headless instead)
        "BUILDRUNNER_LOG_LEVEL": "INFO",
        "BUILDRUNNER_GUI_SETTINGS": str(home / "settings.json"),
        "BUILDRUNNER_HOME": str(home),
    }
    start = time.perf_counter()
    process = subprocess.Popen([str(binary), str(project)], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert process.stderr is not None
    elapsed = float("nan")
    for line in process.stderr:
        if SHOWN.search(line):
            elapsed = (time.perf_counter() - start) * 1000
            break
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    if elapsed != elapsed:
        raise SystemExit(f"{binary} never showed its window")
    return elapsed


def build_and_size(spec: Path, work: Path, builds: int) -> tuple[Path, dict[str, list[float]]]:
    """The bundle of the last of `builds` builds, its sizes and every build's time."""
    times = []
    for index in range(builds):
        out = work / f"build-{index}"
        times.append(build(spec, out))
        if index < builds - 1:
            shutil.rmtree(out)
    dist = work / f"build-{builds - 1}" / "dist"
    bundle = dist / NAME
    archive = dist / f"{NAME}-{__version__}-linux-x86_64.tar.gz"
    if not archive.exists():  # the baseline spec made no archive
        make_archive(bundle, archive)
    return bundle / NAME, {
        "size": [tree_size(bundle) / MIB],
        "archive": [archive.stat().st_size / MIB],
        "build": times,
    }


def starts(binaries: list[Path], runs: int, project: Path, home: Path) -> list[list[float]]:
    """Timed starts of each binary, taking turns, so that a busier moment of the machine hits both alike."""
    for binary in binaries:
        start_to_window_ms(binary, project, home)  # warm the page cache
    shown: list[list[float]] = [[] for _ in binaries]
    for _ in range(runs):
        for index, binary in enumerate(binaries):
            shown[index].append(start_to_window_ms(binary, project, home))
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builds", type=int, default=3, help="builds of each spec (default 3)")
    parser.add_argument("--starts", type=int, default=10, help="timed starts of each bundle (default 10)")
    args = parser.parse_args()
    bl.print_header("bench_bundle.py", "the double-clickable app (issue 14)")
    load = bl.MachineLoad()
    with bl.temp_dir("bench-bundle-") as work:
        project = work / "br3-sample"
        shutil.copytree(SAMPLE, project, symlinks=True)
        baseline_spec = bl.REPO / f".bench-baseline-{os.getpid()}.spec"  # beside build_app.spec: same relative paths
        baseline_spec.write_bytes(
            subprocess.run(
                ["git", "-C", str(bl.REPO), "show", f"{BASELINE_COMMIT}:build_app.spec"],
                capture_output=True,
                check=True,
            ).stdout
        )
        try:
            base_binary, base = build_and_size(baseline_spec, work / "baseline", args.builds)
        finally:
            baseline_spec.unlink()
        binary, ours = build_and_size(bl.REPO / "build_app.spec", work / "ours", args.builds)
        ours["start"], base["start"] = starts([binary, base_binary], args.starts, project, work / "home")
    rows = [
        bl.timed_row("bundle size, unpacked (onedir)", ours["size"], "< 130 MiB", base["size"],
                     bl.verdict(ours["size"][0] < 130), "MiB"),
        bl.timed_row("archive size (.tar.gz)", ours["archive"], "< 55 MiB", base["archive"],
                     bl.verdict(ours["archive"][0] < 55), "MiB"),
        bl.timed_row("bundle start -> window shown, sample project (offscreen)", ours["start"], "< 1500 ms",
                     base["start"], bl.verdict(bl.Summary.of(ours["start"]).p99 < 1500)),
        bl.timed_row("build time from a warm venv", ours["build"], "< 60 s", base["build"],
                     bl.verdict(bl.Summary.of(ours["build"]).p99 < 60), "s"),
    ]  # fmt: skip
    bl.print_table(f"The bundle (baseline: build_app.spec at {BASELINE_COMMIT})", rows)
    print(load.report())


if __name__ == "__main__":
    main()
