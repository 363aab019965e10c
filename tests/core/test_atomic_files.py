"""Atomic writes: the old file or the new one, never half of one, whether the writer fails, fills its
disk (a file-size limit in a subprocess) or is killed mid-write; user-only files when asked."""

from __future__ import annotations

import errno
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from atelier.core.atomic_files import TEMP_MARK, atomic_output, remove_stale_temps, write_atomic


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "project.json"
    target.write_bytes(b"old")
    write_atomic(target, b"new", private=True)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["project.json"]


def test_a_writer_that_fails_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "picture.png"
    target.write_bytes(b"the old picture")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half a pic")
        raise RuntimeError("the encoder gave up")
    assert target.read_bytes() == b"the old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["picture.png"]


def test_a_full_disk_keeps_the_old_file_and_says_so(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes every write past 4 KB fail with EFBIG, as a full disk fails with ENOSPC."""
    target = tmp_path / "session.json"
    target.write_bytes(b"x" * 100)
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        from atelier.core.atomic_files import write_atomic
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            write_atomic({str(target)!r}, b"y" * 100_000, private=True)
        except OSError as exc:
            print(exc.errno)
            sys.exit(3)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert int(done.stdout) == errno.EFBIG
    assert target.read_bytes() == b"x" * 100
    assert [p.name for p in tmp_path.iterdir()] == ["session.json"]  # no half-written temporary left


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / f".sketch.png.123-abc{TEMP_MARK}").write_bytes(b"half")
    (tmp_path / "sketch.png.partial").write_bytes(b"half")
    (tmp_path / "sketch.png").write_bytes(b"whole")
    (tmp_path / "notes.tmp").write_bytes(b"the user's")
    removed = remove_stale_temps(tmp_path)
    assert len(removed) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.tmp", "sketch.png"]


def test_killed_writers_leave_the_old_or_the_new_file(tmp_path: Path) -> None:
    """A subprocess rewrites a 2 MB file over and over, alternating two contents; SIGKILL at random
    moments. Every time the file is one of the two contents, whole."""
    target = tmp_path / "layer.bin"
    script = textwrap.dedent(
        f"""
        import sys
        from atelier.core.atomic_files import write_atomic
        contents = [bytes([65]) * 2_000_000, bytes([66]) * 2_100_000]
        write_atomic({str(target)!r}, contents[0])
        print("ready", flush=True)
        n = 0
        while True:
            n += 1
            write_atomic({str(target)!r}, contents[n % 2])
        """
    )
    good = {b"A" * 2_000_000, b"B" * 2_100_000}
    rng = random.Random(15)
    for _kill in range(8):
        writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
        writer.stdout.close()
        assert target.read_bytes() in good
        remove_stale_temps(tmp_path)
        assert [p.name for p in tmp_path.iterdir()] == ["layer.bin"]


def test_every_export_keeps_the_earlier_file_when_the_disk_is_full(tmp_path: Path) -> None:
    """PNG (with parameters), palette, WAV and MIDI exports under a 40-byte file-size limit: each says it
    failed, the earlier file at its path is untouched and no temporary is left."""
    script = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        import numpy as np
        from atelier.audio.wav import write_wav
        from atelier.core.color.formats import PaletteFile, export_file
        from atelier.core.errors import InputFileError
        from atelier.core.midi_file import write_midi
        from atelier.core.provenance import save_png
        from atelier.core.requests.melody import Melody, MelodyNote

        folder = Path({str(tmp_path)!r})
        melody = Melody(notes=(MelodyNote(60, 0.0, 1.0, "la", 0),), lines=("la",), line_spans=((0.0, 1.0),))
        writers = {{
            "picture.png": lambda p: save_png(p, np.zeros((64, 64, 3), np.uint8), {{"prompt": "a lighthouse"}}),
            "palette.gpl": lambda p: export_file(PaletteFile(("#112233", "#445566"), ("a", "b")), p),
            "song.wav": lambda p: write_wav(p, np.zeros(4000, np.float32), 8000),
            "song.mid": lambda p: write_midi(melody, p),
        }}
        for name in writers:
            (folder / name).write_bytes(b"earlier")
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40, 40))
        for name, write in writers.items():
            try:
                write(folder / name)
            except (OSError, InputFileError) as exc:
                print(name, type(exc).__name__)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    failed = dict(line.split() for line in done.stdout.splitlines())
    assert set(failed) == {"picture.png", "palette.gpl", "song.wav", "song.mid"}
    assert failed["palette.gpl"] == "InputFileError" and failed["song.wav"] == "InputFileError"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["palette.gpl", "picture.png", "song.mid", "song.wav"]
    assert all(path.read_bytes() == b"earlier" for path in tmp_path.iterdir())
