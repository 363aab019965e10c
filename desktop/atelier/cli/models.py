"""`atelier models list|verify`: the packs Atelier found, and a sha256 check of each."""

from __future__ import annotations

import argparse

from atelier.cli._output import engine_settings, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list or verify model packs")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text in (("list", "list the packs found"), ("verify", "check every pack file's sha256")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--json", action="store_true", help="print JSON")
        action.set_defaults(handler=run_list if name == "list" else run_verify)


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
    rows = []
    for pack in _catalog().packs.values():
        try:
            verify(pack, cache)
            rows.append({"id": pack.id, "verified": True, "error": None})
        except AtelierError as exc:
            rows.append({"id": pack.id, "verified": False, "error": exc.user_message()})
    if args.json:
        print_json({"packs": rows})
    else:
        for row in rows:
            print(f"{row['id']:<28} {'ok' if row['verified'] else 'FAILED: ' + str(row['error'])}")
    return 0 if all(row["verified"] for row in rows) else 1
