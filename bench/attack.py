"""The adversarial suite: attacks on a real `buildrunner-gui serve` process, on loopback, each bounded in time.

Every scenario (but 1 and 14) gets a fresh temp project (a copy of the real br3-sample) kept busy by a writer
(a checkpoint rewritten and log lines appended every 100 ms), a fresh server, an RSS sampler (VmRSS every 50 ms)
and an honest client in its own process (a standard websockets client pinging every 50 ms and following the
events). After each attack the honest client's view must equal the server's HTTP snapshot on progress, status,
features and components.

Scenarios: 1 token refusals, 2 request_status flood, 3 slow reader, 4 many non-readers of a big snapshot,
5 resume flood, 6 `.buildrunner` churn, 7 DNS rebinding, 8 duplicate headers, 9 request bodies, 10 repeated bad
tokens, 11 a partial log line, 12 the bad-input table, 13 fuzz, 14 registry SIGKILLs (attack_registry.py),
15 soak (long profile only).

Exit status 1 only for functional failures (the server exited, the honest client was disconnected or did not
converge, an expected refusal did not happen, the registry attack failed); a missed target is reported.

Run: .venv/bin/python bench/attack.py --profile short|long [--only 2,5] [--soak-minutes 30] [--window] [--seed 1]
     (short: about 2 minutes on 2 CPUs; long: about 9 minutes plus the soak, 38 minutes in all)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

import _benchlib as bl
from _attack_access import dns_rebinding, duplicate_headers, refused_tokens, repeated_bad_tokens, request_bodies
from _attack_arena import LONG, P99_TARGET_MS, RECOVERY_TARGET_S, SHORT, Config, Row, ScenarioAborted
from _attack_floods import many_nonreaders, partial_log_line, request_status_flood, resume_flood, slow_reader
from _attack_long import registry_kills, soak
from _attack_protocol import bad_input_table, buildrunner_churn, fuzz

Scenario = Callable[[Row, Config], None]

SCENARIOS: dict[int, tuple[str, Scenario]] = {
    1: ("token refused at start", refused_tokens),
    2: ("request_status flood (non-reader)", request_status_flood),
    3: ("slow reader", slow_reader),
    4: ("many non-readers, big snapshot", many_nonreaders),
    5: ("resume flood", resume_flood),
    6: (".buildrunner churn", buildrunner_churn),
    7: ("DNS rebinding (Host)", dns_rebinding),
    8: ("duplicate headers", duplicate_headers),
    9: ("request bodies", request_bodies),
    10: ("repeated bad tokens", repeated_bad_tokens),
    11: ("partial log line", partial_log_line),
    12: ("bad-input table", bad_input_table),
    13: ("fuzz", fuzz),
    14: ("registry SIGKILL", registry_kills),
    15: ("soak", soak),
}


def run_scenario(number: int, cfg: Config) -> Row:
    name, scenario = SCENARIOS[number]
    row = Row(number, name)
    started = time.monotonic()
    print(f"-- {number}. {name} ...", flush=True)
    try:
        scenario(row, cfg)
    except ScenarioAborted:
        pass  # the row says why
    except Exception as exc:
        row.fail(f"{type(exc).__name__}: {exc}")
    row.seconds = time.monotonic() - started
    print(f"   {row.result_cell()} ({row.seconds:.1f} s)", flush=True)
    return row


# ---------------------------------------------------------------------------- the table


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if math.isinf(value) or math.isnan(value):
        return "never" if math.isinf(value) else "-"
    return f"{value:.{digits}f}"


def cells(row: Row) -> list[str]:
    rss = "-" if row.rss is None else " / ".join(fmt(value) for value in row.rss)
    if row.rss is not None and row.rss_target is not None:
        rss += f" (< {row.rss_target:.0f})"
    return [
        str(row.number),
        row.name,
        row.count,
        row.result_cell().replace("|", "/"),
        rss,
        fmt(row.p99_ms),
        fmt(row.recovery_s, 2),
        row.data,
        ", ".join(row.targets) or "-",
        f"{row.seconds:.0f}",
    ]


def print_table(rows: list[Row], cfg: Config) -> None:
    header = [
        "#",
        "scenario",
        "count",
        "result",
        "server RSS MB before / peak / after (target)",
        "honest p99 ms",
        "recovery s",
        "data lost",
        "targets",
        "s",
    ]
    table = [header] + [cells(row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    server = "the desktop app (offscreen)" if cfg.window else "`serve`"
    print(f"\n### Attack suite, {cfg.profile.name} profile, against {server}\n")
    print(
        "Targets: server RSS peak < 2x idle RSS + the snapshot (N attacking clients: + N snapshots); honest p99 "
        f"during the attack < {P99_TARGET_MS:.0f} ms; recovery (attack end until 3 pings in a row are under 2x "
        f"the pre-attack median RTT, at least 1 ms) < {RECOVERY_TARGET_S:.0f} s. A missed target is reported, "
        "not a failure; FAIL is functional.\n"
    )
    for index, line in enumerate(table):
        print("| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    print()


def parse_only(text: str | None) -> list[int]:
    if not text:
        return list(SCENARIOS)
    chosen = sorted({int(part) for part in text.split(",") if part.strip()})
    unknown = [number for number in chosen if number not in SCENARIOS]
    if unknown:
        raise SystemExit(f"attack.py: unknown scenario numbers {unknown} (1-{len(SCENARIOS)})")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("short", "long"), default="short")
    parser.add_argument("--only", help="comma-separated scenario numbers, e.g. 2,5")
    parser.add_argument("--soak-minutes", type=float, default=30.0, help="scenario 15, long profile (default 30)")
    parser.add_argument("--window", action="store_true", help="attack the desktop app (offscreen) instead of serve")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cfg = Config(SHORT if args.profile == "short" else LONG, args.window, args.soak_minutes, args.seed)
    bl.print_header("attack", f"adversarial suite, {args.profile} profile")
    started = time.monotonic()
    load = bl.MachineLoad()
    rows = [run_scenario(number, cfg) for number in parse_only(args.only)]
    print(load.report())
    print_table(rows, cfg)
    failed = [row for row in rows if row.failures]
    print(f"total {time.monotonic() - started:.0f} s; " + (f"FAIL: {len(failed)} scenario(s)" if failed else "OK"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
