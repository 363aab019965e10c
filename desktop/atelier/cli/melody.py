"""`atelier melody --lyrics-file song.txt --out song.mid`: a melody (and its chords) for the words, as MIDI
(and WAV); `--continue-from tune.mid` keeps a tune for the first lines and writes the rest."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from atelier.cli._output import (
    add_project_option,
    check_output,
    note_recorded,
    open_project,
    pack_info,
    print_json,
    record,
    records_wanted,
)
from atelier.cli._task import add_task_options, server_fields, task_engine
from atelier.core.errors import InputFileError
from atelier.core.music import ACCOMPANIMENTS, METERS, MODES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("melody", help="write a melody for a lyric, as MIDI (and WAV)")
    parser.add_argument("--lyrics-file", required=True, help="the lyric, a UTF-8 text file")
    parser.add_argument("--key", default="C", help="tonic: C, C#, Db, D, ... (default C)")
    parser.add_argument("--mode", default="major", choices=MODES)
    parser.add_argument("--meter", default="4/4", choices=METERS)
    parser.add_argument("--tempo", type=float, default=96.0, help="beats per minute (default 96)")
    parser.add_argument("--instrument", type=int, default=0, help="General MIDI programme 0-127 (0 = piano)")
    parser.add_argument(
        "--chords",
        default="pad",
        choices=tuple(ACCOMPANIMENTS),
        help="what plays a chord each bar in the MIDI and WAV (default pad; none: melody alone)",
    )
    parser.add_argument(
        "--continue-from",
        metavar="SONG.MID",
        help="keep this MIDI file's tune for the lyric's first lines and write the rest "
        "(key, mode, meter and tempo then come from the file)",
    )
    parser.add_argument("--temperature", type=float, default=0.9, help="0.05-2; higher is more adventurous")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="where to write the MIDI file")
    parser.add_argument("--wav", help="also render the melody to this WAV file")
    parser.add_argument("--json", action="store_true", help="print JSON (includes the notes)")
    add_project_option(parser)
    add_task_options(parser)
    parser.set_defaults(handler=run)


def read_lyrics(path: Path) -> str:
    """The lyric file's text; a file too large to be a lyric is refused from its size, unread."""
    from atelier.core.requests.melody import MAX_LYRIC_CHARS

    if not path.is_file():  # a FIFO or a device would block or never end
        raise InputFileError(f"Cannot read the lyric {path}: there is no such file.")
    try:
        size = path.stat().st_size
        if size > 4 * MAX_LYRIC_CHARS:  # UTF-8 takes at most 4 bytes a character
            raise InputFileError(
                f"The lyric {path} is {size:,} bytes; a melody is written for at most {MAX_LYRIC_CHARS:,} "
                "characters (a long song is about 3,000).",
                "Split the lyric into songs or sections and write a melody for each.",
            )
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"Cannot read the lyric {path} ({exc}).") from exc


def run(args: argparse.Namespace) -> int:
    from atelier.audio.midi import write_midi
    from atelier.audio.wav import write_wav
    from atelier.core.midi_file import melody_record, read_tune
    from atelier.core.provenance import source_record
    from atelier.core.requests.melody import (
        MelodyAudioRequest,
        MelodyAudioResult,
        MelodyRequest,
        MelodyResult,
    )

    check_output(args.out, (".mid", ".midi"), "the MIDI file")
    if args.wav:
        check_output(args.wav, (".wav",), "the WAV file")
    lyrics = read_lyrics(Path(args.lyrics_file))
    values: dict[str, Any] = {"key": args.key, "mode": args.mode, "meter": args.meter, "tempo": args.tempo}
    tune = None
    if args.continue_from:
        if not Path(args.continue_from).is_file():  # a FIFO would block the MIDI reader for ever
            raise InputFileError(f"Cannot read the MIDI file {args.continue_from}: there is no such file.")
        tune = read_tune(args.continue_from)
        values = {"key": tune.key, "mode": tune.mode, "meter": tune.meter, "tempo": tune.tempo}
    request = MelodyRequest(
        lyrics=lyrics,
        program=args.instrument,
        accompaniment=args.chords,
        temperature=args.temperature,
        seed=args.seed,
        continue_from=tune.prefix(lyrics) if tune is not None else None,
        origin="cli",
        **values,
    )
    project = open_project(args.project)
    started = time.time()
    engine = task_engine(args)
    result = engine.run_to_end(request)
    assert isinstance(result, MelodyResult)
    melody = result.variations[0]
    pack = pack_info(engine, "melody", request.pack_id)
    sources = [source_record("lyric", path=args.lyrics_file)]
    if args.continue_from:
        sources.append(source_record("tune", path=args.continue_from))
    known = {"device": result.device.provider, "temperature": args.temperature, "sources": sources}
    provenance = melody_record(melody, {**known, **({"pack": pack} if pack else {})})
    wanted = records_wanted(args)
    write_midi(melody, args.out, provenance, metadata=wanted)
    summary: dict[str, Any] = {
        "out": args.out,
        "wav": None,
        "device": result.device.provider,
        "fallbacks": list(result.device.fallbacks),
        "seconds": round(result.seconds, 4),
        "summary": result.summary(),
        "duration_seconds": round(melody.duration_seconds, 3),
        "chords": [chord.name for chord in melody.chords],
    }
    if tune is not None and request.continue_from is not None:
        summary["continued"] = {
            "from": tune.describe(),
            "lines_kept": len(request.continue_from.lines),
            "notes_kept": len(request.continue_from.notes),
            "notes_left_out": len(tune.notes) - len(request.continue_from.notes),
        }
    if args.wav:
        audio = engine.run_to_end(MelodyAudioRequest(melody=melody, origin="cli"))
        assert isinstance(audio, MelodyAudioResult)
        write_wav(args.wav, audio.audio, audio.sample_rate, provenance if wanted else None)
        summary["wav"] = args.wav
    kept = record(project, request, result, started)
    if kept:
        summary["history"] = kept
    if args.json:
        print_json({**summary, "melody": melody.to_dict(), **server_fields(args)})
    else:
        extra = f" and {args.wav}" if args.wav else ""
        print(f"{result.summary()} -> {args.out}{extra} ({result.device.describe()}, {result.seconds:.2f}s)")
        if "continued" in summary:
            continued = summary["continued"]
            dropped = continued["notes_left_out"]
            left_out = f"; {dropped} notes after them left out" if dropped else ""
            print(f"Lines 1-{continued['lines_kept']} are the tune of {continued['from']}{left_out}.")
        print("Chords: " + " ".join(summary["chords"]))
        note_recorded(kept)
    return 0
