"""`atelier credentials show|import`: the certificate exports are signed with (C2PA content credentials)."""

from __future__ import annotations

import argparse

from atelier.cli._output import print_json


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = subparsers.add_parser("credentials", help="the certificate that signs exports (content credentials)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="which certificate signs exports, and where it is kept")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=run_show)
    imported = actions.add_parser("import", help="sign exports with your own certificate from now on")
    imported.add_argument("--cert", required=True, help="PEM certificate chain: your signing certificate first")
    imported.add_argument("--key", required=True, help="its private key (unencrypted PEM)")
    imported.add_argument("--json", action="store_true", help="print JSON")
    imported.set_defaults(handler=run_import)


def run_show(args: argparse.Namespace) -> int:
    from atelier.core.content_credentials import credentials_dir, load_identity

    identity = load_identity()
    info = identity.describe() if identity else None
    if args.json:
        print_json({"identity": info, "folder": str(credentials_dir())})
    elif info is None:
        print("No signing certificate yet: the first signed export makes a local one (Settings > Sign exports),")
        print("or import yours with `atelier credentials import --cert chain.pem --key key.pem`.")
    else:
        print(f"Signs as:   {info['subject']}")
        print(f"Issued by:  {info['issuer']}")
        print(f"Origin:     {'made by Atelier on this computer' if info['origin'] == 'local' else 'imported'}")
        print(f"Algorithm:  {info['algorithm']}, valid until {info['not_after']}")
        print(f"Kept in:    {credentials_dir()} (readable by you only)")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from atelier.core.content_credentials import credentials_dir, import_identity

    info = import_identity(args.cert, args.key).describe()
    if args.json:
        print_json({"identity": info, "folder": str(credentials_dir())})
    else:
        print(f"Exports are now signed as {info['subject']} (issued by {info['issuer']}).")
    return 0
