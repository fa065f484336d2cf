"""Argument parsing for every subcommand (`../shared/spec/cli.md`). Exit codes: 0 ok, 1 failure, 2 bad usage.

Usage errors are one line on stderr, exit 2, before anything starts: a mistyped command included.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path
from typing import NoReturn

from . import __version__
from .ports import DEFAULT_PORT

PROG = "buildrunner-gui"
# The window's plain use comes first (cli.md); then the commands.
USAGE = f"""{PROG} [--demo] [--debug] [PROJECT ...]
       {PROG} COMMAND [ARGUMENTS ...]   ({PROG} COMMAND --help for each)"""
WINDOW_HELP = (
    "With no COMMAND: open the window, monitoring each PROJECT (a folder, a registered alias, a mirror "
    "URL ws://HOST:PORT/api/build/stream/ID, or a broker URL redis://HOST:PORT/DB for every session published "
    "there); with none, the last session's projects."
)
_COMMAND_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")  # no path separator, dot or scheme: not a path or URL
_CLOSE = 0.6  # difflib's similarity from which a word reads as a mistyped command ("stauts", "sevre", "stat")


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (cli.md: one readable line on stderr, exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        usage=USAGE,
        description=f"BuildRunner Desktop: watch BuildRunner builds live. {WINDOW_HELP}",
    )
    parser.add_argument("--version", action="version", version=f"buildrunner-gui {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("--demo", action="store_true", help="monitor a demo project with a simulated build")
    parser.add_argument("--self-test", action="store_true", help="check that this build works, then exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", prog=PROG)  # not USAGE in their names

    status = commands.add_parser(
        "status", help="print a project's state once and exit", description="Print a project's state once and exit."
    )
    status.add_argument("project", metavar="PROJECT", help="a project folder or a registered alias")
    status.add_argument("--json", action="store_true", help="print the snapshot object as JSON (one line)")
    status.add_argument(
        "--indent", type=_non_negative_int, metavar="N", help="with --json: pretty-print, indented by N spaces"
    )

    serve = commands.add_parser(
        "serve",
        help="no window: watch projects and serve the mirror protocol",
        description="Watch projects and serve the mirror protocol (WebSocket + HTTP on one port), with no window.",
    )
    serve.add_argument(
        "projects",
        nargs="*",
        metavar="PROJECT",
        help="project folders, registered aliases, ws://HOST:PORT/api/build/stream/ID[?token=T] to relay, or "
        "redis://HOST:PORT/DB to serve every session published there",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; any other address requires a token)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port (default {DEFAULT_PORT}, or a free one when that is taken; 0 picks a free port)",
    )
    serve.add_argument("--token", help="access token (generated and printed when binding beyond loopback)")
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an extra browser origin allowed to connect (repeatable)",
    )
    serve.add_argument("--max-clients", type=_positive_int, default=200, help="most clients at once (default 200)")
    serve.add_argument(
        "--dialect",
        choices=("v1", "br3"),
        default="v1",
        help="br3: serve BuildRunner 3's own web client its field names and words (clients asking for "
        "buildrunner.v1 still get v1)",
    )
    serve.add_argument(
        "--control-token",
        metavar="T",
        help="allow remote control of build runs (POST /api/build/ACTION/SESSION, Authorization: Bearer T); "
        "off by default, and always different from --token",
    )
    serve.add_argument(
        "--publish",
        metavar="redis://HOST:PORT/DB",
        type=_broker_url,
        help="also publish every session to this Redis server, for dashboard servers (`serve redis://…`) to serve",
    )
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

    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of every protocol message",
        description="Print the JSON Schema of every protocol message.",
    )
    schema.add_argument(
        "--asyncapi", action="store_true", help="print an AsyncAPI 3 document of the protocol (both dialects) instead"
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

    desktop = commands.add_parser(
        "install-desktop",
        help="add the app to the desktop's launcher (desktop entry and icons)",
        description="Install the desktop entry and the icons into the user's XDG folders ($XDG_DATA_HOME, "
        "default ~/.local/share), starting this app as it runs now (the bundle or the installed command); "
        "print what was written.",
    )
    desktop.add_argument("--uninstall", action="store_true", help="remove them instead")
    return parser


def build_window_parser() -> argparse.ArgumentParser:
    """`buildrunner-gui [PROJECT ...]`: argparse cannot mix free positionals with subcommands, so the window's
    own form has its own parser (chosen when the first positional is not a command)."""
    parser = Parser(
        prog=PROG,
        usage=USAGE,
        description=WINDOW_HELP,
        epilog=f"Commands: {', '.join(command_names())} ({PROG} COMMAND --help).",
    )
    parser.add_argument("--version", action="version", version=f"buildrunner-gui {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("--demo", action="store_true", help="monitor a demo project with a simulated build")
    parser.add_argument("--self-test", action="store_true", help="check that this build works, then exit")
    parser.add_argument(
        "projects", nargs="*", metavar="PROJECT", help="project folders, registered aliases or mirror URLs"
    )
    parser.set_defaults(command=None)
    return parser


def command_names() -> list[str]:
    parser = build_parser()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def parse_arguments(argv: list[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """Pick the command parser or the window parser by the first positional argument. A first argument that
    reads as a command word but is no command, folder or alias is a mistyped command: exit 2 at once."""
    first = next((value for value in argv if not value.startswith("-")), None)
    commands = command_names()
    if first in commands or (first is None and any(value in ("-h", "--help") for value in argv)):
        parser = build_parser()
    else:
        if first is not None:
            refuse_mistyped_command(first, commands)
        parser = build_window_parser()
    args = parser.parse_args(argv)
    if getattr(args, "indent", None) is not None and not args.json:
        Parser(prog=f"{PROG} status").error("--indent goes with --json")
    return parser, args


def refuse_mistyped_command(word: str, commands: list[str]) -> None:
    """Exit 2 with a "did you mean" when `word` reads as a command word close to a command (a bare word, not
    a path or URL) and is no folder and no alias. Any other word is a PROJECT, reported when it is opened."""
    if not _COMMAND_WORD.fullmatch(word):
        return
    close = difflib.get_close_matches(word.lower(), commands, n=1, cutoff=_CLOSE)
    if not close or Path(word).expanduser().is_dir() or _is_known_alias(word):
        return
    sys.stderr.write(
        f"{PROG}: '{word}' is not a command, a project folder or a registered alias; did you mean '{close[0]}'?\n"
    )
    raise SystemExit(2)


def _is_known_alias(word: str) -> bool:
    """True for a registered alias, and when the registry cannot be read (then `word` may be one of its own)."""
    from .project.registry import UnknownProjectError, UnreadableRegistryError, resolve_project

    try:
        resolve_project(word)
    except UnreadableRegistryError:
        return True  # it is reported when the project is opened
    except UnknownProjectError:
        return False
    return True


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _broker_url(text: str) -> str:
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise argparse.ArgumentTypeError("expected a broker URL: redis://HOST:PORT/DB (or rediss://)")
    return text


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
