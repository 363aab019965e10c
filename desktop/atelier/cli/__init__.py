"""The `atelier` command: no arguments opens the window; subcommands run engine tasks headless.

Each subcommand lives in its own module in this package and exposes `register(subparsers)`.
Errors go to stderr as one line (a traceback only with --debug) with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from atelier import __version__
from atelier.core.errors import AtelierError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atelier", description="Offline creative assistant. With no command, opens the window."
    )
    parser.add_argument("--version", action="version", version=f"atelier {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window offscreen, run one job in each panel on the installed packs, exit 0 or 1",
    )
    parser.add_argument(
        "--report", metavar="FILE", type=Path, help="with --self-test: write the report (.json or text)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = sys.modules[__name__]
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        importlib.import_module(f"{__name__}.{module.name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.report is not None and not args.self_test:
        parser.error("--report goes with --self-test")
    if args.self_test:
        if args.command is not None:
            parser.error("--self-test takes no command")
        from atelier.ui.self_test import run_self_test

        return run_self_test(args.report)
    if args.command is None:
        from atelier.ui.app import run_app

        return run_app([sys.argv[0], *args_list])
    try:
        return int(args.handler(args) or 0)
    except AtelierError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"atelier: error: {exc.user_message()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("atelier: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        print(f"atelier: unexpected error: {exc} (run with --debug for details)", file=sys.stderr)
        return 1
