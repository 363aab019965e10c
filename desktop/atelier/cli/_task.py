"""Options every task command shares (where the task runs, whether written files carry records) and the
engine that runs it: this computer's, or a studio render server's with the same `run_to_end`/`run`."""

from __future__ import annotations

import argparse
from typing import Any

from atelier.cli._output import engine_settings


def add_task_options(parser: argparse.ArgumentParser) -> None:
    remote = parser.add_argument_group("render server (run this task on a studio machine instead of here)")
    remote.add_argument("--server", metavar="URL", help="a render server, e.g. https://studio-gpu-1:8765")
    remote.add_argument(
        "--token-file", metavar="FILE", help="file holding the server's access token (or set ATELIER_TOKEN)"
    )
    remote.add_argument(
        "--fingerprint",
        metavar="SHA256",
        help="hex SHA-256 of the server certificate (colons optional); needed when no system CA signed it",
    )
    parser.add_argument(
        "--accept-licence",
        action="store_true",
        help="accept the licence of a pack used for the first time (packs without an open licence ask once)",
    )
    parser.add_argument(
        "--no-metadata",
        action="store_true",
        help="write files without Atelier's records (settings, pack, AI disclosure)",
    )


def task_engine(args: argparse.Namespace) -> Any:
    """The engine for this command: the local one (a pack whose licence is not open runs once the user
    accepted it, here or with --accept-licence), or a client of the server --server names."""
    if getattr(args, "server", None):
        from atelier.cli._remote import remote_engine

        return remote_engine(args)
    from atelier.cli.models import licensed_engine
    from atelier.engine.runner import Engine

    return licensed_engine(Engine(engine_settings()), args)


def server_fields(args: argparse.Namespace) -> dict[str, str]:
    """What --json output adds when the task ran on a server."""
    return {"server": args.server} if getattr(args, "server", None) else {}
