"""Make the first-use packs (MiniLM, SmolLM2) ready for the bundle: reuse or build them, verify, list them.

Run by installer/build_bundle.sh with the build environment (it has torch); the packs land in the app's
cache (`<cache>/packs/<name>-<input hash>/`), so a second bundle build from the same inputs converts
nothing. Prints PROGRESS lines and writes a JSON list that installer/atelier.spec reads.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from atelier.core.cancel import CancelToken
from atelier.core.settings import cache_dir
from atelier.engine import smollm2, text_embedding
from atelier.engine.first_use_packs import FIRST_USE_PACKS
from atelier.engine.packs import Pack, verify
from atelier.engine.palette_text import index_key, load_index
from atelier.engine.sessions import SessionPool


def minilm_pack() -> Pack:
    return text_embedding.built_pack() or text_embedding.build_text_pack(lambda line: print(f"  minilm: {line}"))


def smollm2_pack() -> Pack:
    steps = smollm2.ensure_pack(CancelToken())
    while True:
        try:
            progress = next(steps)
        except StopIteration as done:
            pack: Pack = done.value
            return pack
        print(f"  smollm2: {progress.message}", flush=True)


BUILDERS = {"minilm-text": minilm_pack, "smollm2-135m-instruct": smollm2_pack}


def palette_index(pack: Pack) -> Path:
    """The colour-name and mood embeddings palettes from text need (about 1,000 texts through MiniLM, half
    a minute on 2 cores): made once here, so an installed app's first palette does not wait for them."""
    pool = SessionPool()
    load_index(pack, lambda texts: text_embedding.embed(pool, pack, texts, CancelToken())[0])
    path = cache_dir() / "palette-index" / f"{index_key(pack)}.npz"
    if not path.is_file():
        raise SystemExit(f"bundle_packs: the palette index was not written to {path}.")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="the JSON list of packs to write")
    args = parser.parse_args(argv)
    entries = []
    for first_use in FIRST_USE_PACKS:
        started = time.perf_counter()
        pack = BUILDERS[first_use.id]()
        if pack.id != first_use.id:
            print(f"bundle_packs: the {first_use.id} build gave a pack with id '{pack.id}'.", file=sys.stderr)
            return 1
        verify(pack)  # a damaged cached pack must stop the build, not ship
        files = ["pack.json", *(item.path for item in pack.files)]
        size = sum(item.size for item in pack.files)
        print(f"{pack.id}: {pack.folder} ({size / 1e6:.0f} MB, ready in {time.perf_counter() - started:.1f} s)")
        entry: dict[str, Any] = {
            "id": pack.id,
            "folder": str(pack.folder),
            "target": first_use.bundle_folder,
            "files": files,
        }
        if pack.kind == text_embedding.PACK_KIND:
            index = palette_index(pack)
            entry["extras"] = [{"source": str(index), "target": f"minilm/palette-index/{index.name}"}]
            print(f"  palette index: {index}")
        entries.append(entry)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"packs": entries}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
