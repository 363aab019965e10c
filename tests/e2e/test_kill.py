"""Kill -9 test: the real app (offscreen, `python -m atelier.ui.app --test-driver`) edits and autosaves
without pause and is SIGKILLed at random moments, during start-up, restore and autosave, again and again.
After every restart the state it shows is one it saved (lyric and sketch from the same save, not older than
the last save it finished), and every file in the project reads whole.

The app is started by forking a process that has already imported it and read the pronouncing dictionary
(about 0.3 s a start instead of 3-5 s);
each child runs `run_app` exactly as `python -m atelier.ui.app` does. ATELIER_KILLS sets the number of
kills (default 50)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from atelier.core.atomic_files import is_temp
from atelier.core.project import Project, autosave_number
from atelier.ui.app import driver_sketch

KILLS = int(os.environ.get("ATELIER_KILLS", "50"))

# The parent of every app process: imports once, then forks one app per line read ("<data>\t<config>\t
# <journal>\t<log>"), answering with the child's pid and, once it has ended, its wait status.
ZYGOTE = r"""
import importlib, os, pkgutil, sys
import pronouncing
import atelier.engine.tasks as tasks
import atelier.ui.app
import atelier.ui.main_window
for module in pkgutil.iter_modules(tasks.__path__):
    importlib.import_module(f"{tasks.__name__}.{module.name}")
pronouncing.init_cmu()  # the pronouncing dictionary, read when the first lyric is shown (1.9 s)
print("ready", flush=True)
for line in sys.stdin:
    data, config, journal, log = line.rstrip("\n").split("\t")
    pid = os.fork()
    if pid == 0:
        os.environ["ATELIER_DATA_DIR"], os.environ["ATELIER_CONFIG_DIR"] = data, config
        output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os._exit(atelier.ui.app.run_app(["atelier", "--test-driver", journal]))
    print(pid, flush=True)
    print(os.waitpid(pid, 0)[1], flush=True)
"""


@dataclass
class Journal:
    """What the app processes wrote: per process, the state it showed after starting, and its saves."""

    path: Path
    acknowledged: int = 0  # the newest save that finished ("saved N"); 0: none yet
    started: set[int] = field(default_factory=set)  # saves begun after it ("saving N")
    restored: list[int] = field(default_factory=list)
    offset: int = 0

    def read_new(self) -> list[list[str]]:
        text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        complete = text[self.offset :].rpartition("\n")[0]
        self.offset += len(complete) + (1 if complete else 0)
        return [line.split() for line in complete.splitlines()]

    def check_run(self, pid: int) -> bool:
        """Check one app process's lines; True when it got as far as reporting what it restored."""
        reported = False
        for words in self.read_new():
            assert int(words[0]) == pid, f"a line from another process: {words}"
            if words[1] == "restored":
                lyric, sketch, whole = (int(w) for w in words[2:5])
                assert lyric == sketch, f"lyric of save {lyric} with the sketch of save {sketch}"
                if self.acknowledged == 0 and lyric == -1:
                    continue  # killed before its first save finished: nothing to restore yet
                assert whole == 1, f"the sketch of save {sketch} is not that save's sketch"
                valid = {self.acknowledged} | {n for n in self.started if n > self.acknowledged}
                assert lyric in valid, f"restored save {lyric}, expected one of {sorted(valid)}"
                self.restored.append(lyric)
                reported = True
            elif words[1] == "saving":
                self.started.add(int(words[2]))
            elif words[1] == "saved":
                self.acknowledged = int(words[2])
                self.started = {n for n in self.started if n > self.acknowledged}
        return reported


def _check_files_whole(folder: Path, set_aside: bool = False) -> int:
    """Every project file reads whole; each autosave holds one save's lyric with the same save's sketch.
    Temporary files of a killed writer are skipped (the next start removes them); the folders set aside
    by restores (one more each restart) only when asked. The number of files checked."""
    checked = 0
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or is_temp(path) or any(part.startswith(".tmp-") for part in path.parts):
            continue
        if not set_aside and any(part.startswith("set-aside-") for part in path.parts):
            continue
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".png":
            with Image.open(path) as image:
                image.load()
        checked += 1
    for autosave in (folder / "autosave").iterdir() if (folder / "autosave").is_dir() else []:
        if autosave_number(autosave) <= 0:
            continue
        text = json.loads((autosave / "project.json").read_text())["sections"].get("lyric", {}).get("text", "")
        sketch_path = autosave / "layers" / "sketch.png"
        if not text.startswith("state ") or not sketch_path.exists():
            continue
        number = int(text.split()[1])
        sketch = np.asarray(Image.open(sketch_path).convert("RGBA"))
        expected = driver_sketch(number, sketch.shape[1], sketch.shape[0])
        assert np.array_equal(sketch, expected), f"autosave {autosave.name}: the sketch is not save {number}'s"
    return checked


def _wait_for(path: Path, text: str, log: Path, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while text not in (path.read_text(encoding="utf-8") if path.exists() else ""):
        assert time.monotonic() < deadline, f"the app did not get to '{text}': {log.read_text()[-3000:]}"
        time.sleep(0.01)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the kill test forks started apps (POSIX)")
def test_sigkill_at_random_moments_never_loses_a_saved_state(tmp_path: Path) -> None:
    data, config = tmp_path / "data", tmp_path / "config"
    journal = Journal(tmp_path / "journal.txt")
    log = tmp_path / "app.log"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    rng = random.Random(int(os.environ.get("ATELIER_KILL_SEED", "15")))
    began = time.monotonic()
    kills = during_start = checked = 0
    try:
        assert zygote.stdout.readline() == "ready\n"
        while kills < KILLS:
            zygote.stdin.write(f"{data}\t{config}\t{journal.path}\t{log}\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            # One kill in five lands anywhere from the fork on (start-up, the lock, the restore); the
            # rest while it edits and autosaves. The first waits for one finished save.
            if kills > 0 and rng.random() < 0.2:
                time.sleep(rng.uniform(0.0, 0.5))
                during_start += 1
            else:
                _wait_for(journal.path, f"{pid} saved" if kills == 0 else f"{pid} ready", log)
                time.sleep(rng.uniform(0.0, 0.3))  # an autosave takes 50-100 ms: many kills land in one
            os.kill(pid, signal.SIGKILL)
            status = int(zygote.stdout.readline())
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, (
                f"the app ended by itself (status {status}): {log.read_text()[-3000:]}"
            )
            kills += 1
            journal.check_run(pid)
            checked += _check_files_whole(data / "session")
        # One last start that is not killed: it must restore, then its journal is checked.
        zygote.stdin.write(f"{data}\t{config}\t{journal.path}\t{log}\n")
        zygote.stdin.flush()
        pid = int(zygote.stdout.readline())
        _wait_for(journal.path, f"{pid} ready", log)
        os.kill(pid, signal.SIGKILL)
        zygote.stdout.readline()
        assert journal.check_run(pid)
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
        zygote.stdout.close()
    seconds = time.monotonic() - began
    checked += _check_files_whole(data / "session", set_aside=True)
    # The next start removes what the killed writers left: no temporary files, no half-built autosave.
    project = Project.untitled(data / "session")
    outcome = project.lock()
    assert outcome.crashed is not None
    leftovers = [p for p in (data / "session").rglob("*") if is_temp(p) or p.name.startswith(".tmp-")]
    assert leftovers == []
    project.unlock()
    assert journal.acknowledged > 0 and len(journal.restored) >= KILLS // 2
    assert journal.restored == sorted(journal.restored), "a restart went back past a newer restored save"
    print(
        f"\nkill test: {kills} SIGKILLs ({during_start} during start-up) in {seconds:.1f} s, "
        f"{journal.acknowledged} saves finished, {len(journal.restored)} restarts checked, "
        f"{checked} file checks, 0 failures"
    )
