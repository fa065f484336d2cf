"""The demo project's build command: the simulated build (`demo.DemoBuild`) as a real child process, so the
window's and the server's Start, Pause, Resume and Cancel act on it as on any build (protocol.md: in --demo,
the simulated build is the project's build command).

`python -m buildrunner_gui --demo-build FOLDER [--duration S]`; in the bundled app, whose executable is not a
Python interpreter, the same hidden flag on the app itself: `buildrunner-gui --demo-build FOLDER`. A project
whose only checkpoint is the plan (`DemoBuild.prepare()` just wrote it) is taken up as it is; any other is
planned again, so Start after a run has ended plays the whole build once more. Exit 0 when the build ran to
its end, 1 otherwise; SIGTERM ends it at once (every file it writes is replaced atomically).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

FLAG = "--demo-build"


def command(folder: str | Path, duration: float | None = None) -> str:
    """The build command that plays the demo in `folder`, for this interpreter or this bundled app."""
    if getattr(sys, "frozen", False):
        argv = [sys.executable, FLAG, str(folder)]
    else:
        argv = [sys.executable, "-m", "buildrunner_gui", FLAG, str(folder)]
    if duration is not None:
        argv += ["--duration", f"{duration:g}"]
    return shlex.join(argv)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"buildrunner-gui {FLAG}", description="play the demo's simulated build")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args(argv)
    from .demo import STATE_DIR, DemoBuild

    checkpoints = list((args.folder / STATE_DIR / "checkpoints").glob("*.json"))
    demo = DemoBuild(args.folder, duration=max(args.duration, 0.0))
    print(f"simulated build of {args.folder.name}: about {args.duration:g} s", flush=True)
    finished = demo.play(write_plan=len(checkpoints) != 1)
    print("simulated build finished" if finished else "simulated build stopped", flush=True)
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
