"""How well Continue reads a tune from a MIDI file: the melody track, the key, and Atelier's own files.

Run: PYTHONPATH=desktop python models/melody/evaluate_import.py [--tunes 400] [--chorales 100]
Measures (all files written as real .mid files and read back with atelier.core.midi_file.read_tune):
  - key and mode heard from the notes (files written without a key signature) for folk tunes in
    major and minor from music21's corpus (the ABC K: field is the answer), against music21's own
    key analysis (Krumhansl-Schmuckler, `Stream.analyze("key")`) on the same notes;
  - the melody track picked from Bach chorales written with one track per part (soprano, alto,
    tenor, bass, and any instrument doubling): the answer is the soprano;
  - melodies Atelier writes, read back note for note (pitches, starts and lengths), at several
    tempos and meters.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pretty_midi

from atelier.core.errors import InputFileError
from atelier.core.midi_file import read_tune, write_midi
from atelier.core.requests.melody import MelodyRequest, MelodyResult
from atelier.engine.runner import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from abc_reader import read_abc
from prepare_data import corpus_root

FOLK = ("airdsAirs", "oneills1850")
LYRIC = "I walked along the river in the evening light\nThe city humming softly like a lullaby\n\nSing it slow\n"


def folk_tunes(count: int) -> list[tuple[str, str, list[tuple[int, float]]]]:
    """(tonic name, mode, [(MIDI pitch, quarters)]) of major and minor tunes, spread over the collections."""
    found = []
    for collection in FOLK:
        for path in sorted((corpus_root() / collection).glob("*.abc")):
            for tune in read_abc(path.read_bytes().decode("utf-8", errors="replace")):
                if tune.mode in ("major", "minor") and len(tune.notes) >= 16:
                    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
                    found.append((names[tune.tonic_pc], tune.mode, [(n.midi, float(n.quarters)) for n in tune.notes]))
    step = max(1, len(found) // count)
    return found[::step][:count]


def write_plain(path: Path, notes: list[tuple[int, float]]) -> None:
    """A one-track MIDI file at 120 bpm with no key signature."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    track = pretty_midi.Instrument(0, name="Tune")
    time_s = 0.0
    for pitch, quarters in notes:
        track.notes.append(pretty_midi.Note(90, pitch, time_s, time_s + quarters * 0.5))
        time_s += quarters * 0.5
    midi.instruments.append(track)
    midi.write(str(path))


def music21_key(notes: list[tuple[int, float]]) -> tuple[int, str]:
    import music21

    stream: Any = music21.stream.Stream()
    for pitch, quarters in notes:
        stream.append(music21.note.Note(pitch, quarterLength=quarters))
    key = stream.analyze("key")
    return int(key.tonic.pitchClass), str(key.mode)


def keys(count: int, folder: Path) -> None:
    tunes = folk_tunes(count)
    names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    ours = theirs = 0
    ours_s = theirs_s = 0.0
    for index, (tonic, mode, notes) in enumerate(tunes):
        path = folder / f"tune-{index}.mid"
        write_plain(path, notes)
        started = time.perf_counter()
        tune = read_tune(path)
        ours_s += time.perf_counter() - started
        ours += (tune.key, tune.mode) == (tonic, mode)
        started = time.perf_counter()
        pitch_class, their_mode = music21_key(notes)
        theirs_s += time.perf_counter() - started
        theirs += (names[pitch_class], their_mode) == (tonic, mode)
    print(f"key and mode of {len(tunes)} folk tunes (no key signature in the file):")
    print(
        f"  Atelier read_tune: {ours / len(tunes):.1%} right ({1000 * ours_s / len(tunes):.1f} ms a file, reading it)"
    )
    print(f"  music21 analyze('key'): {theirs / len(tunes):.1%} right ({1000 * theirs_s / len(tunes):.1f} ms a tune)")


def chorales(count: int, folder: Path) -> None:
    import music21

    right = tune_right = total = refused = 0
    wrong: list[str] = []
    for path in music21.corpus.getComposer("bach")[: count * 2]:
        score = music21.corpus.parse(path)
        names = [part.partName or "" for part in score.parts]
        if "Soprano" not in names or total >= count:
            continue
        midi_path = folder / f"{Path(str(path)).stem}.mid"
        try:
            score.write("midi", fp=str(midi_path))
        except Exception:  # a few chorales do not export; they are not counted
            continue
        midi = pretty_midi.PrettyMIDI(str(midi_path))
        # music21 names each track after its part; no name may say "melody" (that would be a hint).
        try:
            tune = read_tune(midi_path)
        except InputFileError:  # in a meter Atelier does not write (3/2): refused with a message, not counted
            refused += 1
            continue
        soprano = next(i for i in midi.instruments if i.name == "Soprano")
        sung = [n.pitch % 12 for n in sorted(soprano.notes, key=lambda n: n.start)]
        heard = [p % 12 for p, _, _ in tune.notes]
        same = sum(a == b for a, b in zip(sung, heard, strict=False)) / max(len(sung), len(heard))
        total += 1
        right += tune.track == "Soprano"
        tune_right += same >= 0.9  # an instrument doubling the soprano plays the same tune
        if tune.track != "Soprano":
            wrong.append(f"{Path(str(path)).stem}: {tune.track} ({same:.0%} of the soprano's notes)")
    print(f"melody of {total} Bach chorales (one track a part; {refused} in other meters refused):")
    print(f"  the soprano's track {right / total:.1%}")
    print(f"  the soprano's tune (its track or an instrument doubling it, 90%+ of its notes) {tune_right / total:.1%}")
    for line in wrong[:6]:
        print(f"  picked {line}")


def round_trips(folder: Path) -> None:
    engine = Engine()
    exact = total = 0
    for tempo in (60.0, 96.0, 140.0, 200.0):
        for meter in ("4/4", "3/4", "6/8", "12/8"):
            result = engine.run_to_end(MelodyRequest(lyrics=LYRIC, tempo=tempo, meter=meter, seed=int(tempo)))
            assert isinstance(result, MelodyResult)
            melody = result.variations[0]
            path = write_midi(melody, folder / "mine.mid")
            tune = read_tune(path)
            total += 1
            exact += [(p, round(s, 6), round(d, 6)) for p, s, d in tune.notes] == [
                (n.pitch, round(n.start, 6), round(n.duration, 6)) for n in melody.notes
            ] and (tune.key, tune.meter, tune.tempo) == (melody.key, melody.meter, melody.tempo)
    print(f"Atelier's own melodies (with their chord tracks) read back exactly: {exact} of {total}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunes", type=int, default=400)
    parser.add_argument("--chorales", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        keys(args.tunes, Path(folder))
        chorales(args.chorales, Path(folder))
        round_trips(Path(folder))


if __name__ == "__main__":
    main()
