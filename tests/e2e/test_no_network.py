"""An end-to-end GUI run opens no network socket: `atelier --self-test` (the real window offscreen, one real
job in each panel) runs in a subprocess whose audit hook records every socket event Python raises.

pytest-socket guards only this test process; the app in a subprocess, with the render-server client, the
pack loaders and Qt, is watched here by `sys.addaudithook`, which no library can bypass from Python."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

WATCHED = r"""
import json, socket, sys
log = open(sys.argv[1], "a", encoding="utf-8", buffering=1)
def hook(event, args):
    if event.startswith("socket.") or event in ("urllib.Request", "http.client.connect"):
        family = args[1] if event == "socket.__new__" and len(args) > 1 else None
        log.write(json.dumps({"event": event, "family": int(family) if isinstance(family, int) else None,
                              "args": repr(args)[:200]}) + "\n")
sys.addaudithook(hook)
from atelier.cli import main
sys.exit(main(["--self-test", "--report", sys.argv[2]]))
"""


def test_a_self_test_run_of_every_panel_opens_no_network_socket(tmp_path: Path) -> None:
    import socket

    events_path, report = tmp_path / "socket-events.jsonl", tmp_path / "report.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "desktop"),
        "QT_QPA_PLATFORM": "offscreen",
        "ATELIER_CONFIG_DIR": str(tmp_path / "config"),
        "ATELIER_DATA_DIR": str(tmp_path / "data"),
    }
    run = subprocess.run(
        [sys.executable, "-c", WATCHED, str(events_path), str(report)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    checks = json.loads(report.read_text())["checks"]
    assert {c["name"] for c in checks if c["ok"]} == {"palette", "lyric", "sketch", "melody"}
    events = [json.loads(line) for line in events_path.read_text().splitlines()] if events_path.exists() else []
    network = {int(socket.AF_INET), int(socket.AF_INET6)}
    opened = [e for e in events if e["event"] == "socket.__new__" and e["family"] in network]
    lookups = [e for e in events if e["event"] in ("socket.getaddrinfo", "socket.gethostbyname", "socket.connect")]
    outbound = [e for e in events if e["event"] in ("urllib.Request", "http.client.connect")]
    unix_connects = [e for e in lookups if e["event"] == "socket.connect" and "AF_UNIX" in e["args"]]
    assert not opened and not outbound and len(lookups) == len(unix_connects), events[:10]


def test_the_audit_hook_sees_a_socket_the_app_would_open(tmp_path: Path) -> None:
    """The control: the same hook in the same kind of subprocess records an internet socket being made
    (the hook runs before pytest-socket could matter: the subprocess has no pytest)."""
    events_path = tmp_path / "events.jsonl"
    probe = WATCHED.split("from atelier.cli")[0] + "socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()\n"
    subprocess.run([sys.executable, "-c", probe, str(events_path), "-"], check=True, timeout=60)
    events = [json.loads(line) for line in events_path.read_text().splitlines()]
    assert [e["family"] for e in events if e["event"] == "socket.__new__"] == [int(__import__("socket").AF_INET)]
