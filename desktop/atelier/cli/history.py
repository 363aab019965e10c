"""`atelier history DIR [--json]`: the results kept in a project, newest first."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from atelier.cli._output import print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("history", help="list the results kept in a project's history")
    parser.add_argument("project", metavar="DIR", help="a project folder (made by the app or by --project)")
    parser.add_argument("--starred", action="store_true", help="only the starred results")
    parser.add_argument("--json", action="store_true", help="print a JSON list (files are relative to the entry)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from atelier.core.errors import InputFileError
    from atelier.core.history import ProjectHistory
    from atelier.core.project import HISTORY, is_project

    folder = Path(args.project).expanduser()
    if not folder.is_dir() or not is_project(folder):
        raise InputFileError(
            f"{folder} is not an Atelier project.",
            "Give a project folder: one made with File → New Project or with --project on a generating command.",
        )
    # The history alone, not Project.open: listing must never touch project.json (even a damaged one).
    entries = ProjectHistory(folder / HISTORY).entries()
    if args.starred:
        entries = [entry for entry in entries if entry.starred]
    if args.json:
        print_json([entry.to_json() for entry in entries])
        return 0
    if not entries:
        print(f"No results kept in {folder} yet.")
        return 0
    for entry in entries:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.created))
        number = f"#{entry.number}" if entry.number else "-"
        star = "*" if entry.starred else " "
        print(f"{number:>5}  {entry.id}  {entry.kind:<15} {when}  {star} {entry.summary}")
    return 0
