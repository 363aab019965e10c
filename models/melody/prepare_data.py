"""Read the music21 corpus's ABC folk tunes that may be used for a shipped model, as model tokens.

Run: PYTHONPATH=desktop python models/melody/prepare_data.py [--out /tmp/melody-data/corpus.npz]
Each note becomes (pitch token relative to the tonic, duration class, beat strength, phrase end);
each tune carries its mode and meter. Collections and their licences: see MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from abc_reader import Tune, read_abc

from atelier.core.music import (
    MODE_IDS,
    PITCH_HIGH,
    PITCH_LOW,
    duration_class,
    meter_id,
    tonic_midi,
)

# Collections whose tunes were published long ago (public domain) and whose ABC transcriptions
# come with no restriction; see MODEL_CARD.md. Left out: essenFolksong (permission for
# non-commercial use only) and nottingham-dataset (no licence stated for the database).
INCLUDED = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk")
EXCLUDED = {
    "essenFolksong": "permission granted for non-commercial distribution and use only",
    "nottingham-dataset": "no licence stated for the Nottingham Music Database encodings",
}
MIN_NOTES = 8


def corpus_root() -> Path:
    import music21

    return Path(music21.__file__).resolve().parent / "corpus"


def fit_to_range(midis: list[int], tonic_pc: int) -> list[int] | None:
    """Move a tune by octaves so its notes fit the token range; None if it cannot fit."""
    base = tonic_midi(tonic_pc)
    low, high = min(midis) - base, max(midis) - base
    if high - low > PITCH_HIGH - PITCH_LOW:
        return None
    shift = 0
    while low + shift < PITCH_LOW:
        shift += 12
    while high + shift > PITCH_HIGH:
        shift -= 12
    if low + shift < PITCH_LOW:
        return None
    return [m + shift for m in midis]


def tune_tokens(tune: Tune) -> np.ndarray | None:
    """Rows of (pitch token, duration class, strength, phrase end) for one tune."""
    notes = [n for n in tune.notes if n.quarters > 0]
    if len(notes) < MIN_NOTES or tune.meter is None:
        return None
    midis = fit_to_range([n.midi for n in notes], tune.tonic_pc)
    if midis is None:
        return None
    base = tonic_midi(tune.tonic_pc)
    rows = np.zeros((len(notes), 4), np.int16)
    for index, (note, midi) in enumerate(zip(notes, midis, strict=True)):
        rows[index] = (
            midi - base - PITCH_LOW,
            duration_class(note.quarters),
            tune.meter.strength(note.position),
            int(note.phrase_end or index == len(notes) - 1),
        )
    return rows


def split_of(collection: str, index: int, title: str) -> int:
    """0 train, 1 validation, 2 test: a stable hash so the held-out tunes never change."""
    bucket = zlib.crc32(f"{collection}/{index}/{title}".encode()) % 100
    return 2 if bucket < 5 else 1 if bucket < 10 else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="/tmp/melody-data/corpus.npz")
    args = parser.parse_args()
    started = time.time()
    root = corpus_root()
    tokens: list[np.ndarray] = []
    meta: list[tuple[int, int, int, int]] = []  # mode, meter, collection, split
    counts: dict[str, list[int]] = {}
    for collection_index, collection in enumerate(INCLUDED):
        seen = kept = 0
        for path in sorted((root / collection).glob("*.abc")):
            text = path.read_bytes().decode("utf-8", errors="replace")
            for tune in read_abc(text):
                seen += 1
                rows = tune_tokens(tune)
                if rows is None:
                    continue
                kept += 1
                assert tune.meter is not None
                mode = MODE_IDS.get(tune.mode, MODE_IDS["other"])
                meta.append((mode, meter_id(tune.meter), collection_index, split_of(collection, seen, tune.title)))
                tokens.append(rows)
        counts[collection] = [seen, kept, sum(len(t) for t in tokens[len(tokens) - kept :])]
    offsets = np.cumsum([0] + [len(t) for t in tokens]).astype(np.int64)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        notes=np.concatenate(tokens),
        offsets=offsets,
        meta=np.array(meta, np.int16),
        collections=np.array(INCLUDED),
    )
    for collection, (seen, kept, notes) in counts.items():
        print(f"{collection}: {seen} tunes read, {kept} kept, {notes} notes")
    meta_array = np.array(meta)
    for split, name in enumerate(("train", "validation", "test")):
        chosen = meta_array[:, 3] == split
        print(f"{name}: {int(chosen.sum())} tunes, {int(np.diff(offsets)[chosen].sum())} notes")
    print(f"excluded: {EXCLUDED}")
    print(f"wrote {out} in {time.time() - started:.1f}s")


if __name__ == "__main__":
    main()
