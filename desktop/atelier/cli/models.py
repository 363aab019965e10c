"""`atelier models list|verify|import-diffusers`: the packs found, a sha256 check, SD conversion; and the
licence check every task command makes before a pack's first use (`licensed_engine`, `--accept-licence`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from atelier.cli._output import engine_settings, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list or verify model packs")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text in (("list", "list the packs found"), ("verify", "check every pack file's sha256")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--json", action="store_true", help="print JSON")
        action.set_defaults(handler=run_list if name == "list" else run_verify)
    register_import_diffusers(actions)


def register_import_diffusers(actions: argparse._SubParsersAction) -> None:
    action = actions.add_parser(
        "import-diffusers", help="convert a local diffusers SD or SDXL checkpoint into an ONNX diffusion pack"
    )
    action.add_argument(
        "path",
        help="a diffusers folder (model_index.json, unet/, vae/, ...) or an SD 1.x/SDXL .safetensors (with --config)",
    )
    action.add_argument("--id", default="", help="pack id (default: the folder or file name)")
    action.add_argument("--out", default="", help="pack folder (default: <data dir>/models/<id>)")
    action.add_argument(
        "--licence",
        help="the model's licence as its model card states it, e.g. creativeml-openrail-m (asked when not given; "
        "'unknown' only when typed here on purpose)",
    )
    action.add_argument("--fp16", action="store_true", help="float16 weights, for GPU packs")
    action.add_argument("--controlnet", help="a diffusers ControlNetModel folder to include")
    action.add_argument("--config", help="for a single .safetensors: a local diffusers config folder")
    action.add_argument("--json", action="store_true", help="print JSON")
    action.set_defaults(handler=run_import_diffusers)


def run_import_diffusers(args: argparse.Namespace) -> int:
    from pathlib import Path

    from atelier.core.errors import InputFileError
    from atelier.core.settings import data_dir

    source = Path(args.path).expanduser()
    if not source.exists():
        raise InputFileError(f"No diffusers folder or checkpoint at {source}.")
    licence = ask_licence(args.licence)
    try:
        # The runtime's one way into build-time code (torch, diffusers): imported here, when the command
        # runs, so no other command loads torch; import-linter lists this import as the only exception.
        from atelier_build.diffusion.export import import_diffusers
    except ImportError as exc:
        raise InputFileError(
            f"Converting needs the build extra ({exc}).", "Install it: pip install 'atelier[build]'."
        ) from exc
    pack_id = args.id or source.stem
    out = Path(args.out).expanduser() if args.out else data_dir() / "models" / pack_id
    try:
        manifest = import_diffusers(
            source, out, pack_id, licence, fp16=args.fp16,
            controlnet=Path(args.controlnet) if args.controlnet else None,
            config=Path(args.config) if args.config else None,
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        raise InputFileError(f"Cannot convert {source}: {exc}") from exc
    if args.json:
        print_json({"id": pack_id, "folder": str(out), "manifest": str(manifest)})
    else:
        print(f"Wrote pack '{pack_id}' to {out}")
    return 0


UNKNOWN_WORDS = ("", "unknown", "?", "none", "n/a", "other")


def ask_licence(given: str | None) -> str:
    """The licence the imported pack will carry: --licence, or asked on a terminal. "unknown" is taken only
    when typed as --licence unknown, so nobody ends up with an unlabelled model by pressing Enter."""
    from atelier.core.errors import InvalidRequestError
    from atelier.core.pack_consent import licence_label

    how = (
        "Give the licence from the model's card with --licence NAME (e.g. --licence creativeml-openrail-m); "
        "if you really do not know it, type --licence unknown."
    )
    if given is not None:
        licence = given.strip()
        if not licence:
            raise InvalidRequestError("--licence is empty.", how)
        if licence.lower() in UNKNOWN_WORDS:
            print(f"note: the pack is marked '{licence_label(licence)}' wherever it is chosen.", file=sys.stderr)
        return licence
    if not sys.stdin.isatty():
        raise InvalidRequestError("Which licence is this model under? Nothing was given.", how)
    answer = input("Licence of this model, as its model card states it (e.g. creativeml-openrail-m): ").strip()
    if answer.lower() in UNKNOWN_WORDS:
        raise InvalidRequestError(f"Not imported: the licence '{answer}' says nothing.", how)
    return answer


def pack_summaries_here() -> list[dict[str, Any]]:
    """Every pack this computer's engine would use, as About lists them (first-use packs included)."""
    from atelier.engine.first_use_packs import pending_summaries

    catalog = _catalog()
    installed = [
        {"id": p.id, "name": p.name, "kind": p.kind, "version": p.version, "licence": p.licence,
         "source": p.source, "folder": str(p.folder)}
        for p in catalog.packs.values()
    ]  # fmt: skip
    return installed + pending_summaries(catalog)


class LicensedEngine:
    """An engine that checks the licence of the pack a request uses before running it (command line).

    A pack with an open licence runs; any other (non-commercial, use-restricted, unknown) runs once accepted:
    the first time, the command prints the licence and stops unless --accept-licence is given, and the
    acceptance is remembered per pack hash, shared with the window's."""

    def __init__(self, engine: Any, accept: bool) -> None:
        self.engine = engine
        self.accept = accept
        self._summaries: list[dict[str, Any]] | None = None

    def check(self, request: Any) -> None:
        from atelier.core.pack_consent import check_cli_consent

        if self._summaries is None:
            self._summaries = pack_summaries_here()
        notice = check_cli_consent(request, self._summaries, self.accept)
        if notice:
            print(f"note: {notice}", file=sys.stderr)

    def run_to_end(self, request: Any, cancel: Any = None) -> Any:
        self.check(request)
        return self.engine.run_to_end(request, cancel)

    def run(self, request: Any, cancel: Any) -> Any:
        self.check(request)
        return self.engine.run(request, cancel)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def licensed_engine(engine: Any, args: argparse.Namespace) -> Any:
    """`engine` with the licence check, for this computer's engine; a render server's packs are its own."""
    if getattr(args, "server", None):
        return engine
    return LicensedEngine(engine, bool(getattr(args, "accept_licence", False)))


def _catalog():
    from atelier.engine.packs import discover, search_roots

    return discover(search_roots(engine_settings().models_folder))


def run_list(args: argparse.Namespace) -> int:
    catalog = _catalog()
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "kind": p.kind,
            "version": p.version,
            "licence": p.licence,
            "source": p.source,
            "folder": str(p.folder),
        }
        for p in catalog.packs.values()
    ]
    if args.json:
        print_json({"packs": rows, "problems": catalog.problems})
    else:
        for row in rows:
            print(f"{row['id']:<28} {row['kind']:<10} {row['licence']:<14} {row['folder']}")
        for problem in catalog.problems:
            print(f"note: {problem}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from atelier.core.errors import AtelierError
    from atelier.engine.packs import HashCache, verify

    cache = HashCache()
    catalog = _catalog()
    rows = []
    for pack in catalog.packs.values():
        try:
            verify(pack, cache)
            rows.append({"id": pack.id, "verified": True, "error": None})
        except AtelierError as exc:
            rows.append({"id": pack.id, "verified": False, "error": exc.user_message()})
    # A pack whose manifest cannot be read is a failed pack, not a quiet note.
    for broken in catalog.broken:
        rows.append({"id": None, "folder": str(broken.folder), "verified": False, "error": broken.message})
    if args.json:
        print_json({"packs": rows})
    else:
        for row in rows:
            state = "ok" if row["verified"] else f"FAILED: {row['error']}"
            print(f"{row['id'] or '(unreadable pack)':<28} {state}")
    return 0 if all(row["verified"] for row in rows) else 1
