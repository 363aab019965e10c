"""The engine of a task command given --server: a render server's client with the Engine's run/run_to_end."""

from __future__ import annotations

import argparse

from atelier.remote.client import RenderServerClient, read_token


def remote_engine(args: argparse.Namespace) -> RenderServerClient:
    """A client for --server, with --token-file (or ATELIER_TOKEN) and --fingerprint; errors are one line."""
    token = read_token(getattr(args, "token_file", None) or "")  # no file: ATELIER_TOKEN, else a clear error
    return RenderServerClient(args.server, token, getattr(args, "fingerprint", "") or "")
