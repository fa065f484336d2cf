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
    parser.add_argument("--demo", action="store_true", help="monitor a demo project with a simulated build")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    status = commands.add_parser("status", help="print a project's state once and exit",
                                 description="Print a project's state once and exit.")
    status.add_argument("project", metavar="PROJECT", help="a project folder or a registered alias")
    status.add_argument("--json", action="store_true", help="print the snapshot object as JSON")

    serve = commands.add_parser(
        "serve", help="no window: watch projects and serve the mirror protocol",
        description="Watch projects and serve the mirror protocol (WebSocket + HTTP on one port), with no window.")
    serve.add_argument("projects", nargs="*", metavar="PROJECT", help="project folders or registered aliases")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; any other "
                       "address requires a token)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free port)")
    serve.add_argument("--token", help="access token (generated and printed when binding beyond loopback)")
    serve.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                       help="an extra browser origin allowed to connect (repeatable)")
    serve.add_argument("--max-clients", type=_positive_int, default=200, help="most clients at once (default 200)")
    serve.add_argument("--demo", action="store_true", help="also serve a demo project with a simulated build")

    commands.add_parser("schema", help="print the JSON Schema of every protocol message",
                        description="Print the JSON Schema of every protocol message.")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
