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
    parser.add_argument("--self-test", action="store_true", help="check that this build works, then exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    status = commands.add_parser(
        "status", help="print a project's state once and exit", description="Print a project's state once and exit."
    )
    status.add_argument("project", metavar="PROJECT", help="a project folder or a registered alias")
    status.add_argument("--json", action="store_true", help="print the snapshot object as JSON")

    serve = commands.add_parser(
        "serve",
        help="no window: watch projects and serve the mirror protocol",
        description="Watch projects and serve the mirror protocol (WebSocket + HTTP on one port), with no window.",
    )
    serve.add_argument(
        "projects",
        nargs="*",
        metavar="PROJECT",
        help="project folders, registered aliases, or ws://HOST:PORT/api/build/stream/ID[?token=T] to relay",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; any other address requires a token)"
    )
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free port)")
    serve.add_argument("--token", help="access token (generated and printed when binding beyond loopback)")
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an extra browser origin allowed to connect (repeatable)",
    )
    serve.add_argument("--max-clients", type=_positive_int, default=200, help="most clients at once (default 200)")
    serve.add_argument("--demo", action="store_true", help="also serve a demo project with a simulated build")

    mirror = commands.add_parser(
        "mirror",
        help="open the window as a read-only mirror of remote servers' sessions",
        description="Open the window as a read-only mirror of one or several remote servers' sessions.",
    )
    mirror.add_argument(
        "urls", metavar="URL", nargs="+", help="a session's ws://HOST:PORT/api/build/stream/ID (one or several)"
    )
    mirror.add_argument("--token", help="the server's access token")

    commands.add_parser(
        "schema",
        help="print the JSON Schema of every protocol message",
        description="Print the JSON Schema of every protocol message.",
    )

    init = commands.add_parser(
        "init",
        help="create a new project and register its alias",
        description="Create a new BuildRunner project in PATH (a new or empty folder), exactly as the window's "
        "wizard does, and register ALIAS. Anything that fails is undone.",
    )
    init.add_argument("alias", metavar="ALIAS", help="a short name for the project (letters, digits, - and _)")
    init.add_argument("path", metavar="PATH", help="the project folder: new, or empty")
    init.add_argument("--name", help="the project's name (default: the PRD's, else the folder's name)")
    init.add_argument("--description", help="a one-paragraph description (default: the PRD's)")
    init.add_argument(
        "--prd",
        metavar="FILE",
        help='a JSON PRD: {"name", "description", "features": [{"name", "description"}], "tech_stack": [...]}',
    )
    init.add_argument(
        "--install-buildrunner",
        action="store_true",
        help="also install BuildRunner with pipx (needs pipx and the network)",
    )

    aliases = commands.add_parser(
        "aliases",
        help="show or edit the alias registry",
        description="Show (list, the default) or edit the alias registry.",
    )
    aliases_actions = aliases.add_subparsers(dest="aliases_action", metavar="ACTION")
    aliases_actions.add_parser(
        "list",
        help="list the registered aliases (the default)",
        description="List the registered aliases and their folders.",
    )
    remove = aliases_actions.add_parser(
        "remove",
        help="unregister an alias (its folder is left alone)",
        description="Unregister an alias. Its folder is left alone.",
    )
    remove.add_argument("alias", metavar="ALIAS")
    return parser


def build_window_parser() -> argparse.ArgumentParser:
    """`buildrunner-gui [PROJECT ...]`: argparse cannot mix free positionals with subcommands, so the window's
    own form has its own parser (chosen when the first positional is not a command)."""
    parser = argparse.ArgumentParser(
        prog="buildrunner-gui",
        description="Open the window on PROJECTs (folders or registered aliases); with none, the last session's.",
        epilog=f"Commands: {', '.join(command_names())} (buildrunner-gui COMMAND --help).",
    )
    parser.add_argument("--version", action="version", version=f"buildrunner-gui {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("--demo", action="store_true", help="monitor a demo project with a simulated build")
    parser.add_argument("--self-test", action="store_true", help="check that this build works, then exit")
    parser.add_argument("projects", nargs="*", metavar="PROJECT", help="project folders or registered aliases")
    parser.set_defaults(command=None)
    return parser


def command_names() -> list[str]:
    parser = build_parser()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def parse_arguments(argv: list[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Pick the command parser or the window parser by the first positional argument."""
    first = next((value for value in argv if not value.startswith("-")), None)
    parser = (
        build_parser()
        if first in command_names() or (first is None and any(value in ("-h", "--help") for value in argv))
        else build_window_parser()
    )
    return parser, parser.parse_args(argv)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
