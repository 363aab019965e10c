"""`atelier serve`: run this machine as a studio render server (Ray Serve) for Atelier on other computers.

Needs the `server` extra (ray[serve]); the desktop app and the other commands never import Ray.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from atelier.cli._output import engine_settings, print_json
from atelier.core.errors import AtelierError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="run a render server for Atelier on other computers (needs the server extra)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 for every network")
    parser.add_argument("--port", type=int, default=8765, help="HTTPS port (default 8765)")
    parser.add_argument("--token-file", metavar="FILE", help="the access token; made (owner-only) if absent")
    parser.add_argument("--tls-cert", metavar="PEM", help="server certificate; a self-signed one is made if absent")
    parser.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    parser.add_argument(
        "--replicas", type=int, default=1, metavar="N", help="engines running jobs side by side (default 1)"
    )
    parser.add_argument(
        "--max-replicas",
        type=int,
        default=0,
        metavar="M",
        help="let Ray Serve's autoscaler add replicas up to this many",
    )
    parser.add_argument(
        "--gpus-per-replica", type=float, default=0.0, metavar="X", help="GPUs (or a fraction) each replica takes"
    )
    parser.add_argument(
        "--cpus-per-replica", type=float, default=1.0, metavar="X", help="CPUs each replica takes (default 1)"
    )
    parser.add_argument(
        "--queue",
        type=int,
        default=4,
        metavar="N",
        help="jobs waiting per replica; more are answered 503 with Retry-After",
    )
    parser.add_argument("--address", metavar="RAY_ADDRESS", help="join this Ray cluster instead of starting Ray here")
    parser.add_argument(
        "--num-cpus", type=int, metavar="N", help="CPUs of the Ray instance started here (default: all)"
    )
    parser.add_argument("--models", metavar="DIR", help="an extra folder of model packs for the server")
    parser.add_argument("--dashboard", action="store_true", help="start Ray's dashboard (on 127.0.0.1 only)")
    parser.add_argument(
        "--drain",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="on Ctrl+C or SIGTERM let running jobs finish this long (at most 5 s: the server stops within 10 s)",
    )
    parser.add_argument("--json", action="store_true", help="print the server's address and keys as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.serve") is None:
        raise AtelierError(
            "`atelier serve` needs Ray Serve, which is not installed.",
            "Install the server extra: pip install 'atelier[server]'.",
        )
    import dataclasses

    from atelier.server.launch import LaunchOptions, start_server, wait_for_signal
    from atelier.server.security import colon_fingerprint

    settings = engine_settings()
    if args.models:
        settings = dataclasses.replace(settings, models_folder=args.models)
    options = LaunchOptions(
        host=args.host,
        port=args.port,
        token_file=args.token_file or "",
        tls_cert=args.tls_cert or "",
        tls_key=args.tls_key or "",
        replicas=args.replicas,
        max_replicas=args.max_replicas,
        cpus_per_replica=args.cpus_per_replica,
        gpus_per_replica=args.gpus_per_replica,
        queue_per_replica=args.queue,
        address=args.address or "",
        num_cpus=args.num_cpus,
        dashboard=args.dashboard,
    )
    print("atelier: starting the render server (Ray and the model replicas take a while)…", file=sys.stderr)
    server = start_server(options, settings)
    device = server.info.get("server", {}).get("device", {}).get("provider", "?")
    packs = server.info.get("packs", [])
    if args.json:
        print_json(
            {
                "url": server.url,
                "token_file": str(server.token_file),
                "token_created": server.token_created,
                "fingerprint": server.tls.fingerprint,
                "certificate": str(server.tls.cert),
                "device": device,
                "host": server.info.get("server", {}).get("host", ""),
                "packs": [p["id"] for p in packs],
                "replicas": args.replicas,
            }
        )
    else:
        made = " (new)" if server.token_created else ""
        print(f"Atelier render server on {server.url}")
        print(f"  token file{made}: {server.token_file}  (copy it to each client; --token-file or ATELIER_TOKEN)")
        own = "given" if args.tls_cert else "self-signed"
        print(f"  certificate ({own}) SHA-256 fingerprint: {colon_fingerprint(server.tls.fingerprint)}")
        print(f"  replicas: {args.replicas}, device: {device}, packs: {', '.join(p['id'] for p in packs) or 'none'}")
        print("Ctrl+C stops the server.")
    sys.stdout.flush()
    name = wait_for_signal()
    print(f"atelier: {name}: stopping the render server…", file=sys.stderr)
    seconds = server.stop(drain_s=args.drain)
    print(f"atelier: render server stopped in {seconds:.1f}s", file=sys.stderr)
    return 0
