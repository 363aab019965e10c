"""Fuzz every reader of outside data with seeded hostile inputs (at least 100,000 by default) and report,
per reader, how many inputs were accepted, refused with an AtelierError, or escaped as another exception.

    .venv/bin/python bench/fuzz.py                 # about 106,000 inputs on all cores
    .venv/bin/python bench/fuzz.py --scale 0.1     # a tenth, for a quick look
    .venv/bin/python bench/fuzz.py --start 1000000 # other seeds

The inputs come from tests/fuzz/inputs.py, seeded per input, so a seed reported here reproduces in the
hypothesis tests and by hand (`hostile_picture(random.Random(seed))`). Exit code 1 when anything escaped.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "desktop"))
sys.path.insert(0, str(ROOT))

# Inputs per reader at --scale 1 (145,000 in all); the slow readers (pictures, MIDI, provenance) get fewer.
# The last five read what issues 16-20 added: records in exported files, the render server's messages in
# both directions, pack manifests, a diffusers folder's scheduler config, the palette model's inputs.
COUNTS = {
    "picture": 20_000,
    "palette": 40_000,
    "lyric-text": 15_000,
    "midi": 10_000,
    "settings": 5_000,
    "project": 4_000,
    "document": 12_000,
    "provenance": 8_000,
    "wire": 15_000,
    "manifest": 6_000,
    "scheduler": 6_000,
    "infill": 4_000,
}
CHUNK = 250


def _reader(name: str, folder: Path) -> Callable[[random.Random, int], None]:
    """One input through one reader; returns normally or raises what the reader raised."""
    from tests.fuzz import inputs

    if name == "picture":
        from atelier.core.picture_io import read_picture

        def picture(rng: random.Random, seed: int) -> None:
            suffix, data = inputs.hostile_picture(rng)
            path = folder / f"p.{suffix}"
            path.write_bytes(data)
            read_picture(path)
            read_picture(path, None, rgba=True)

        return picture
    if name == "palette":
        from atelier.core.color.formats import import_bytes

        def palette(rng: random.Random, seed: int) -> None:
            fmt, data = inputs.hostile_palette(rng)
            import_bytes(data, fmt)

        return palette
    if name == "lyric-text":
        from atelier.core.errors import AtelierError
        from atelier.core.lyric_rhythm import line_rhythm
        from atelier.core.lyric_syllables import parse_lyric
        from atelier.core.music import METERS, parse_meter
        from atelier.core.prosody import analyse
        from atelier.core.requests.lyrics import LyricRequest
        from atelier.core.requests.melody import MelodyRequest
        from atelier.core.requests.palette import PaletteFromTextRequest
        from atelier.core.requests.sketch import SketchRequest

        def text(rng: random.Random, seed: int) -> None:
            lyric = inputs.hostile_text(rng, rng.choice([20, 200, 1000]))
            analyse(lyric)
            meter = parse_meter(rng.choice(METERS))
            for section in parse_lyric(lyric):
                for line in section.lines:
                    rhythm = line_rhythm(line.syllables, meter, seed)
                    if any(s < 0 for s in rhythm.starts) or any(d <= 0 for d in rhythm.durations):
                        raise AssertionError(f"a note starts before 0 or has no length in {line.text!r}")
            for make in (
                lambda: MelodyRequest(lyrics=lyric, seed=seed),
                lambda: LyricRequest(prompt=lyric, mood=lyric[:50]),
                lambda: LyricRequest(mode="rewrite", line=lyric, context=lyric),
                lambda: PaletteFromTextRequest(text=lyric, seed=seed),
                lambda: SketchRequest(prompt=lyric, seed=seed),
            ):
                with contextlib.suppress(AtelierError):
                    make().summary()

        return text
    if name == "midi":
        from atelier.core.errors import AtelierError
        from atelier.core.midi_file import read_tune

        def midi(rng: random.Random, seed: int) -> None:
            path = folder / "t.mid"
            path.write_bytes(inputs.midi_file(rng))
            tune = read_tune(path)
            with contextlib.suppress(AtelierError):
                tune.prefix("la la la\nla la la la\nla la\nla")

        return midi
    if name == "settings":
        from atelier.core.settings import Settings, load_settings

        valid = {"schema_version": 1, "values": json.loads(json.dumps(Settings().__dict__, default=str))}

        def settings(rng: random.Random, seed: int) -> None:
            path = folder / "settings.json"
            path.write_bytes(inputs.json_document(rng, valid))
            load_settings(path)[0].validated()

        return settings
    if name == "project":
        from atelier.core.documents.sketch import SketchDocument
        from atelier.core.project import Project

        valid_project = {"schema": 1, "sections": {"sketch": SketchDocument().to_dict(), "lyric": {"text": "la"}}}

        def project(rng: random.Random, seed: int) -> None:
            where = folder / f"project-{seed}"
            where.mkdir()
            (where / "project.json").write_bytes(inputs.json_document(rng, valid_project))
            opened = Project.open(where)
            for section in ("sketch", "lyric", "melody", "palette"):
                opened.section(section)

        return project
    if name == "document":
        from atelier.core.documents.lyric import LyricDocument
        from atelier.core.documents.melody import MelodyDocument
        from atelier.core.documents.palette import PaletteDocument
        from atelier.core.documents.sketch import SketchDocument

        documents: list[Any] = [SketchDocument, LyricDocument, MelodyDocument, PaletteDocument]

        def document(rng: random.Random, seed: int) -> None:
            kind = rng.choice(documents)
            try:
                data = json.loads(inputs.json_document(rng, kind().to_dict()))
            except ValueError:
                return  # damaged bytes: the project loader's to set aside
            saved = kind.from_dict(data).to_dict()
            if kind.from_dict(json.loads(json.dumps(saved))).to_dict() != saved:
                raise AssertionError(f"{kind.__name__} does not read back what it saved")

        return document
    if name == "provenance":
        from atelier.cli._output import print_json
        from atelier.cli.provenance import JSON_FIELDS, describe
        from atelier.core.provenance_read import read_provenance

        def provenance(rng: random.Random, seed: int) -> None:
            suffix, data = inputs.hostile_provenance(rng)
            path = folder / f"f.{suffix}"
            path.write_bytes(data)
            found = read_provenance(path)  # then both outputs of `atelier provenance`, to /dev/null
            describe(found)
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                print_json({**{k: found.get(k) for k in JSON_FIELDS}, "record": found.get("record")})

        return provenance
    if name == "wire":
        from atelier.core.requests import Request
        from atelier.remote import wire

        decoders: dict[str, Callable[[Any], Any]] = {
            "request": wire.decode_request,
            "result": wire.decode_result,
            "progress": wire.decode_progress,
            "error": wire.decode_error,
            "device": wire.decode_device,
        }

        def message(rng: random.Random, seed: int) -> None:
            reader, value = inputs.wire_message(rng)
            decoded = decoders[reader](value)
            if isinstance(decoded, Request):
                decoded.summary()

        return message
    if name == "manifest":
        from atelier.engine.packs import discover, read_manifest

        def manifest(rng: random.Random, seed: int) -> None:
            file_name, data = inputs.hostile_manifest(rng)
            where = folder / f"pack-{seed}"
            where.mkdir()
            (where / file_name).write_bytes(data)
            catalog = discover([where])  # never fails as a whole: the pack loads or is set aside
            if len(catalog.packs) + len(catalog.broken) != 1:
                raise AssertionError("discovery neither loaded nor set aside the pack")
            read_manifest(where)

        return manifest
    if name == "scheduler":
        from atelier.engine.diffusion.schedulers import _DEFAULTS, CLASS_NAMES, make_scheduler

        def scheduler(rng: random.Random, seed: int) -> None:
            # scheduler/scheduler_config.json of a diffusers or SDXL ONNX folder picked with Folder...
            class_name = rng.choice(list(CLASS_NAMES))
            try:
                config = json.loads(
                    inputs.json_document(rng, {"_class_name": class_name, **_DEFAULTS[CLASS_NAMES[class_name]]})
                )
            except ValueError:
                return  # damaged JSON: the pipeline's read_json gives {} (the defaults)
            made = make_scheduler(config if isinstance(config, dict) else {})
            made.set_timesteps(rng.choice([1, 4, 20, 50]))

        return scheduler
    if name == "infill":
        from atelier.core.requests.palette import PaletteInfillRequest
        from atelier.engine.runner import Engine

        engine = Engine()

        def infill(rng: random.Random, seed: int) -> None:
            request = PaletteInfillRequest(**inputs.infill_values(rng))  # type: ignore[arg-type]
            result = engine.run_to_end(request)
            if any(result.colors[slot] != colour for slot, colour in request.locked):  # type: ignore[attr-defined]
                raise AssertionError("a locked swatch moved or changed")

        return infill
    raise ValueError(name)


def run_chunk(name: str, start: int, count: int) -> dict[str, Any]:
    """Seeds start..start+count through one reader, in a worker (its stderr silenced: libtiff writes there)."""
    from atelier.core.errors import AtelierError

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    import warnings

    warnings.simplefilter("ignore")
    outcome: collections.Counter[str] = collections.Counter()
    escaped: dict[str, tuple[int, str]] = {}
    with tempfile.TemporaryDirectory(prefix="atelier-fuzz-") as tmp:
        reader = _reader(name, Path(tmp))
        for seed in range(start, start + count):
            try:
                reader(random.Random(seed), seed)
            except AtelierError:
                outcome["refused"] += 1
            except Exception as exc:
                outcome["escaped"] += 1
                where = traceback.extract_tb(exc.__traceback__)[-1]
                key = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
                escaped.setdefault(key, (seed, str(exc).splitlines()[0][:200] if str(exc) else ""))
                outcome[key] += 1
            else:
                outcome["accepted"] += 1
    return {"outcome": dict(outcome), "escaped": escaped}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every reader's input count")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", nargs="*", choices=tuple(COUNTS), help="these readers only")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    names = args.only or list(COUNTS)
    started = time.perf_counter()
    work = []
    for name in names:
        total = max(1, round(COUNTS[name] * args.scale))
        for offset in range(0, total, CHUNK):
            work.append((name, args.start + offset, min(CHUNK, total - offset)))
    report: dict[str, dict[str, Any]] = {
        name: {"inputs": 0, "accepted": 0, "refused": 0, "escaped": 0, "kinds": {}} for name in names
    }
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [(name, count, pool.submit(run_chunk, name, start, count)) for name, start, count in work]
        for name, count, future in futures:
            result = future.result()
            entry = report[name]
            entry["inputs"] += count
            for key, value in result["outcome"].items():
                if key in ("accepted", "refused", "escaped"):
                    entry[key] += value
            for kind, (seed, message) in result["escaped"].items():
                found = entry["kinds"].setdefault(kind, {"count": 0, "first_seed": seed, "message": message})
                found["count"] += result["outcome"].get(kind, 1)
    seconds = time.perf_counter() - started
    total_inputs = sum(entry["inputs"] for entry in report.values())
    total_escaped = sum(entry["escaped"] for entry in report.values())
    if args.json:
        print(json.dumps({"readers": report, "inputs": total_inputs, "escaped": total_escaped, "seconds": seconds}))
    else:
        print(f"{'reader':<12} {'inputs':>8} {'accepted':>9} {'refused':>9} {'unhandled':>10}")
        for name, entry in report.items():
            print(
                f"{name:<12} {entry['inputs']:>8} {entry['accepted']:>9} {entry['refused']:>9} {entry['escaped']:>10}"
            )
            for kind, found in entry["kinds"].items():
                print(f"    {found['count']:>6} x {kind}: {found['message']} (first seed {found['first_seed']})")
        print(
            f"{total_inputs} inputs, {total_escaped} unhandled exceptions, {seconds:.1f} s on {args.jobs} processes "
            f"(seeds from {args.start})"
        )
    return 1 if total_escaped else 0


if __name__ == "__main__":
    sys.exit(main())
