"""Shared helpers for the benchmark scripts: timing statistics, the result table, machine facts.

Not a test module and not part of the package. Every script imports it as `_benchlib` (the scripts are run as
`.venv/bin/python bench/<name>.py`, so `bench/` is first on sys.path).
"""

from __future__ import annotations

import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
FIXTURES = Path("/work/shared/fixtures")
REAL_TREE_TARBALL = FIXTURES / "br3-buildrunner.tar.gz"
SAMPLE_FEATURES = FIXTURES / "br3-sample" / ".buildrunner" / "features.json"

NS_PER_MS = 1_000_000


# ---------------------------------------------------------------------------- statistics


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation): with fewer than 100 samples, p99 is the maximum."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def ns_to_ms(samples_ns: Sequence[int]) -> list[float]:
    return [value / NS_PER_MS for value in samples_ns]


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    p99: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(len(samples), statistics.median(samples) if samples else math.nan, percentile(samples, 0.99))


def time_calls_ns(function: Callable[[], object], runs: int, warmup: int = 1) -> list[int]:
    """Wall time of each of `runs` calls of `function`, after `warmup` untimed calls."""
    for _ in range(warmup):
        function()
    samples: list[int] = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        function()
        samples.append(time.perf_counter_ns() - start)
    return samples


# ---------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Row:
    measure: str
    n: int
    median: str
    p99: str
    target: str
    baseline: str
    verdict: str


def fmt_value(value: float, unit: str = "ms") -> str:
    if math.isnan(value):
        return "-"
    if value >= 100 or (unit != "ms" and value == int(value)):
        return f"{value:.0f} {unit}"
    if value >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def fmt_ms(value: float) -> str:
    return fmt_value(value, "ms")


def timed_row(
    measure: str,
    samples: Sequence[float],
    target: str,
    baseline: Sequence[float] | None,
    verdict: str,
    unit: str = "ms",
) -> Row:
    """A row: median/p99 of the samples and of the baseline's samples (measured in the same run)."""
    own = Summary.of(samples)
    base = "-"
    if baseline:
        other = Summary.of(baseline)
        base = f"{fmt_value(other.median, unit)} / {fmt_value(other.p99, unit)} (n={other.n})"
    return Row(measure, own.n, fmt_value(own.median, unit), fmt_value(own.p99, unit), target, base, verdict)


def verdict(passed: bool | None) -> str:
    if passed is None:
        return "info"
    return "PASS" if passed else "MISS"


def print_table(title: str, rows: Sequence[Row]) -> None:
    """A GitHub-flavoured markdown table, so the output can be pasted into docs/performance.md."""
    header = ("measure", "n", "median", "p99", "target", "baseline (median / p99)", "verdict")
    cells = [header] + [(r.measure, str(r.n), r.median, r.p99, r.target, r.baseline, r.verdict) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n### {title}\n")
    for index, row in enumerate(cells):
        print("| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    print()


# ---------------------------------------------------------------------------- environment


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def code_version() -> str:
    """The commit measured, marked `-dirty` when the work tree has changes (numbers depend on them)."""
    try:
        result = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip()


def package_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("PySide6-Essentials", "watchdog", "pydantic"):
        try:
            found.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            continue
    return " ".join(found)


def machine_line() -> str:
    return (
        f"{datetime.now().isoformat(timespec='seconds')}  nproc={os.cpu_count()}  cpu={cpu_model()!r}  "
        f"python={platform.python_version()}  kernel={platform.release()}  loadavg={os.getloadavg()[0]:.2f}\n"
        f"code={code_version()}  {package_versions()}"
    )


def print_header(script: str, description: str) -> None:
    print(f"# {script}: {description}")
    print(machine_line())


def _busy_cpu_seconds() -> float:
    """CPU time spent by everything on the machine (all CPUs), from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class MachineLoad:
    """How busy the rest of the machine was while a benchmark ran (other sessions share these CPUs)."""

    def __init__(self) -> None:
        self._busy = _busy_cpu_seconds()
        self._own = _own_cpu_seconds()
        self._wall = time.monotonic()

    def report(self) -> str:
        wall = time.monotonic() - self._wall
        own = _own_cpu_seconds() - self._own
        other = max(0.0, _busy_cpu_seconds() - self._busy - own)
        cpus = os.cpu_count() or 1
        return (
            f"machine load during the run ({wall:.1f} s): this benchmark {own / wall:.0%} of one CPU, "
            f"other processes {other / wall:.0%} of one CPU ({cpus} CPUs); loadavg {os.getloadavg()[0]:.2f}"
        )


def use_offscreen_qt() -> None:
    """Set before any Qt import: benchmarks run headless, with the app's own runtime settings."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from buildrunner_gui.runtime import tune_garbage_collector

    tune_garbage_collector()


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def unpack_real_tree(destination: Path) -> Path:
    """The real `.buildrunner/` (about 1,170 files, 46 MB) unpacked as `<destination>/proj/.buildrunner`."""
    project = destination / "proj"
    project.mkdir(parents=True)
    subprocess.run(["tar", "xzf", str(REAL_TREE_TARBALL), "-C", str(project)], check=True)
    return project
