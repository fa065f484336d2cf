"""Argument parsing for every subcommand (`../shared/spec/cli.md`). Exit codes: 0 ok, 1 failure, 2 bad usage."""

from __future__ import annotations

import argparse

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buildrunner-gui",
        description="BuildRunner Desktop: watch BuildRunner builds live.",
    )
    parser.add_argument("--version", action="version", version=f"buildrunner-gui {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    status = commands.add_parser("status", help="print a project's state once and exit",
                                 description="Print a project's state once and exit.")
    status.add_argument("project", metavar="PROJECT", help="a project folder or a registered alias")
    status.add_argument("--json", action="store_true", help="print the snapshot object as JSON")

    commands.add_parser("schema", help="print the JSON Schema of every protocol message",
                        description="Print the JSON Schema of every protocol message.")
    return parser
