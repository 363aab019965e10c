"""Settings round trip and validation; cancel token callbacks; session store robustness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from atelier.core.cancel import CancelToken
from atelier.core.errors import CancelledError, SettingsError
from atelier.core.settings import SCHEMA_VERSION, Settings, load_settings, save_settings


def test_every_setting_has_description_and_label() -> None:
    for f in Settings.field_info():
        assert f.metadata["description"] and f.metadata["label"], f.name


def test_settings_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(Settings(device="cpu", threads=2), path)
    payload = json.loads(path.read_text())
    assert payload["schema_version"] == SCHEMA_VERSION
    loaded, problems = load_settings(path)
    assert problems == []
    assert loaded.device == "cpu" and loaded.threads == 2


def test_bad_values_fall_back_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 1, "values": {"device": "quantum", "threads": 4, "x": 1}}))
    loaded, problems = load_settings(path)
    assert loaded.device == "auto" and loaded.threads == 4
    assert any("device" in p for p in problems) and any("unknown setting 'x'" in p for p in problems)
    path.write_text("{not json")
    loaded, problems = load_settings(path)
    assert loaded == Settings() and "using defaults" in problems[0]


@pytest.mark.parametrize(
    "content",
    [
        '{"values": []}',
        '{"values": "cpu"}',
        '{"values": null}',
        "[]",
        '"text"',
        "null",
        '{"values": {"threads": true}}',
    ],
)
def test_wrong_shapes_fall_back_to_defaults_with_a_message(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    loaded, problems = load_settings(path)
    assert loaded == Settings() and len(problems) == 1
    assert ("threads" if "threads" in content else str(path)) in problems[0]


def test_a_settings_file_of_the_wrong_shape_does_not_break_the_command_line(tmp_path: Path) -> None:
    """settings.json = {"values": []} made every CLI command fail with "unexpected error"."""
    (tmp_path / "settings.json").write_text('{"values": []}')
    env = {**os.environ, "ATELIER_CONFIG_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "atelier", "models", "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "atelier-lineart" in done.stdout


def test_settings_are_saved_atomically_and_user_only(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(Settings(threads=2), path)
    save_settings(Settings(threads=3), path)
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"] and path.stat().st_mode & 0o777 == 0o600
    assert load_settings(path)[0].threads == 3


def test_validation_names_the_field() -> None:
    with pytest.raises(SettingsError, match="threads"):
        Settings(threads=-1).validated()


def test_cancel_token_runs_callbacks_once_and_from_other_threads() -> None:
    token = CancelToken()
    calls: list[str] = []
    unsubscribe = token.on_cancel(lambda: calls.append("a"))
    token.on_cancel(lambda: calls.append("b"))
    unsubscribe()
    worker = threading.Thread(target=token.cancel, args=("stopped",))
    worker.start()
    worker.join()
    token.cancel("again")
    assert calls == ["b"] and token.reason == "stopped"
    with pytest.raises(CancelledError):
        token.raise_if_cancelled()
    late: list[int] = []
    token.on_cancel(lambda: late.append(1))
    assert late == [1]


def test_exports_start_in_the_output_folder_or_pictures_never_the_working_folder(tmp_path, monkeypatch) -> None:
    from atelier.core.settings import Settings, export_folder

    monkeypatch.chdir(tmp_path)
    assert export_folder(Settings(output_folder=str(tmp_path / "out"))) == tmp_path / "out"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_PICTURES_DIR", str(tmp_path / "home" / "Pictures"))
    (tmp_path / "home").mkdir()
    assert export_folder(Settings()) == tmp_path / "home"  # no Pictures folder: home
    (tmp_path / "home" / "Pictures").mkdir()
    assert export_folder(Settings()) == tmp_path / "home" / "Pictures"
