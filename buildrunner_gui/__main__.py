"""Entry point: `buildrunner-gui` and `python -m buildrunner_gui`."""

from __future__ import annotations

import logging
import os
import sys

from .cli import build_parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else os.environ.get("BUILDRUNNER_LOG_LEVEL", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    from . import commands
    from .project.registry_read import UnknownProjectError

    try:
        if args.command == "status":
            return commands.status(args.project, args.json)
        if args.command == "serve":
            if not args.projects and not args.demo:
                parser.error("serve needs at least one PROJECT, or --demo")
            if not 0 <= args.port <= 65535:
                parser.error("--port must be between 0 and 65535")
            from .headless import run_serve

            return run_serve(args.projects, args.host, args.port, args.token, args.allow_origin,
                             args.max_clients, args.demo, args.debug)
        if args.command == "schema":
            return commands.schema()
        parser.print_help(sys.stderr)
        return 2
    except UnknownProjectError as exc:
        print(f"buildrunner-gui: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if args.debug:
            raise
        print(f"buildrunner-gui: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"buildrunner-gui: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
