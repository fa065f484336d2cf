"""Entry point: `buildrunner-gui` and `python -m buildrunner_gui`."""

from __future__ import annotations

import logging
import os
import sys

from .cli import parse_arguments


def main(argv: list[str] | None = None) -> int:
    from .runtime import pin_mmap_threshold, tune_garbage_collector

    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["--demo-build"]:  # the demo's build command (hidden: the app runs it as a child process)
        from .demo_run import main as play_demo

        return play_demo(given[1:])
    tune_garbage_collector()
    pin_mmap_threshold()
    parser, args = parse_arguments(given)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else os.environ.get("BUILDRUNNER_LOG_LEVEL", "WARNING").upper(),
        format="%(levelname)s %(name)s: %(message)s",
    )
    from . import commands
    from .model.broker_keys import UnusableBrokerURL
    from .ports import PortInUseError
    from .project.registry import RegistryError, UnknownProjectError
    from .server.access import TokenRefused

    try:
        if args.self_test:
            from .self_test import run_self_test

            return run_self_test()
        if args.command == "status":
            return commands.status(args.project, args.json, args.indent)
        if args.command == "serve":
            if not args.projects and not args.demo:
                parser.error("serve needs at least one PROJECT, or --demo")
            if args.port is not None and not 0 <= args.port <= 65535:
                parser.error("--port must be between 0 and 65535")
            from .headless import run_serve

            return run_serve(
                args.projects,
                args.host,
                args.port,
                args.token,
                args.allow_origin,
                args.max_clients,
                args.demo,
                args.dialect,
                args.control_token,
                args.publish,
            )
        if args.command == "mirror":
            if not _has_display():
                print("buildrunner-gui: mirror opens a window and needs a display", file=sys.stderr)
                return 1
            from .app import run_window

            return run_window([], False, [(url, args.token) for url in args.urls])
        if args.command == "schema":
            return commands.schema(args.asyncapi)
        if args.command == "init":
            return commands.init(args.alias, args.path, args.name, args.description, args.prd, args.install_buildrunner)
        if args.command == "install-desktop":
            from .desktop_entry import run as install_desktop

            return install_desktop(args.uninstall)
        if args.command == "aliases":
            return commands.aliases(args.aliases_action, getattr(args, "alias", None))
        return _open_default(args)
    except (UnknownProjectError, TokenRefused, UnusableBrokerURL) as exc:
        print(f"buildrunner-gui: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, RegistryError) else 2  # an unreadable registry is a runtime failure
    except PortInUseError as exc:  # a port given with --port (without it, a taken default falls back)
        print(f"buildrunner-gui: {exc.strerror}; give another --port, or --port 0 for a free one", file=sys.stderr)
        return 1
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


def _has_display() -> bool:
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_default(args) -> int:
    """`buildrunner-gui [PROJECT ...] [--demo]`: the window; with no display, the same projects (or the demo)
    served headless, saying where to watch them."""
    if _has_display():
        from .app import run_window

        return run_window(args.projects, args.demo)
    from .headless import run_serve
    from .model.broker_keys import is_broker_url
    from .project.registry import resolve_project
    from .sources.remote import is_stream_url

    for project in args.projects:  # an unknown PROJECT is one line of error, before any word of serving
        if not is_stream_url(project) and not is_broker_url(project):
            resolve_project(project)
    demo = args.demo or not args.projects
    print(
        f"buildrunner-gui: no display; serving {'the demo build' if demo else 'the projects'} headless "
        "(open the browser page printed below; Ctrl+C stops)",
        file=sys.stderr,
    )
    return run_serve(args.projects, "127.0.0.1", None, None, [], 200, demo)


if __name__ == "__main__":
    sys.exit(main())
