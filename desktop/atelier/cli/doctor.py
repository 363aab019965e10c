"""`atelier doctor`: onnxruntime version, providers, and a verified smoke run of every pack."""

from __future__ import annotations

import argparse

from atelier.cli._output import engine_settings, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("doctor", help="check providers and every model pack")
    parser.add_argument("--json", action="store_true", help="print a JSON object")
    parser.add_argument("--no-smoke", action="store_true", help="verify files only, run no model")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from atelier.engine.doctor import doctor_report
    from atelier.engine.runner import Engine

    report = doctor_report(Engine(engine_settings()), smoke=not args.no_smoke)
    if args.json:
        print_json(report)
    else:
        print(f"onnxruntime {report['onnxruntime']}; providers: {', '.join(report['providers'])}")
        for check in report["provider_checks"]:
            state = "loads" if check["loads"] else f"does not load: {check['reason']}"
            print(f"  {check['label']:<28} {state}")
            if "language_model" in check:
                print(f"      {check['language_model']}")
        for pack in report["packs"]:
            state = "ok" if pack["verified"] and not pack["error"] else "FAILED"
            device = f" on {pack['device']}" if pack["device"] else ""
            print(f"  {pack['id']:<28} {pack['kind']:<10} {state}{device}")
            if pack["error"]:
                print(f"      {pack['error']}")
            for fallback in pack["fallbacks"]:
                print(f"      fell back: {fallback}")
        for broken in report["broken"]:
            print(f"  {'(unreadable pack)':<28} {'':<10} FAILED\n      {broken['error']}")
        broken_messages = {b["error"] for b in report["broken"]}
        for problem in report["problems"]:
            if problem not in broken_messages:
                print(f"  note: {problem}")
    healthy = all(p["verified"] and not p["error"] for p in report["packs"])
    return 0 if healthy and not report["broken"] else 1
