"""User settings: each field carries its description and default, so the dialog is built from them.

Stored as JSON in the per-user config folder (platformdirs), with a schema version for migrations.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from atelier.core.atomic_files import write_atomic
from atelier.core.devices import GPU_PROVIDERS
from atelier.core.errors import SettingsError

SCHEMA_VERSION = 1
APP_NAME = "atelier"


def setting(default: Any, description: str, label: str, choices: tuple[str, ...] = (), **extra: Any) -> Any:
    """A dataclass field with the metadata the settings dialog needs."""
    meta = {"description": description, "label": label, "choices": choices, **extra}
    return field(default=default, metadata=meta)


@dataclass
class Settings:
    device: str = setting(
        "auto",
        "Where models run. 'auto' picks the fastest GPU provider that loads and falls back to the CPU; "
        "a provider name (e.g. CUDAExecutionProvider) asks for that one first.",
        "Device",
        choices=("auto", "cpu", *GPU_PROVIDERS),
    )
    threads: int = setting(
        0,
        "CPU threads per model run; 0 lets Atelier choose (all cores).",
        "CPU threads",
        minimum=0,
        maximum=256,
    )
    models_folder: str = setting(
        "",
        "An extra folder searched for model packs (besides the bundled and per-user ones).",
        "Models folder",
        kind="folder",
    )
    output_folder: str = setting(
        "",
        "Where exported and generated files go by default; empty means your Pictures folder.",
        "Output folder",
        kind="folder",
    )
    memory_budget_mb: int = setting(
        4096,
        "Loaded models beyond this size are unloaded, least recently used first.",
        "Model memory budget (MB)",
        minimum=256,
        maximum=262144,
    )
    theme: str = setting("system", "Colour theme of the window.", "Theme", choices=("system", "light", "dark"))
    render_server: str = setting(
        "",
        "A studio render server (e.g. https://studio-gpu-1:8765) for heavy jobs; empty runs everything here.",
        "Render server",
    )
    render_server_token_file: str = setting(
        "",
        "File holding the render server's access token (the server prints where it wrote it).",
        "Server token file",
        kind="file",
    )
    render_server_fingerprint: str = setting(
        "",
        "SHA-256 fingerprint of the server's certificate, as the server prints it; needed for a self-signed one.",
        "Server fingerprint",
    )
    sign_exports: bool = setting(
        False,
        "Sign exported pictures with content credentials (C2PA), so anyone can check what made them.",
        "Sign exports",
    )
    watermark_exports: bool = setting(
        False,
        "Hide an invisible mark in exported pictures (256 px and larger) that survives resizing and JPEG.",
        "Invisible watermark",
    )

    @classmethod
    def field_info(cls) -> list[dataclasses.Field[Any]]:
        return list(dataclasses.fields(cls))

    def validated(self) -> Settings:
        """Check every value against its metadata; raise SettingsError naming the bad one."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            # bool is an int to Python, but `"threads": true` is a mistake, not one thread.
            if not isinstance(value, type(f.default)) or isinstance(value, bool) != isinstance(f.default, bool):
                raise SettingsError(f"Setting '{f.name}' must be a {type(f.default).__name__}, not {value!r}.")
            if meta.get("choices") and value not in meta["choices"]:
                raise SettingsError(f"Setting '{f.name}' must be one of {', '.join(meta['choices'])}.")
            if "minimum" in meta and not meta["minimum"] <= value <= meta["maximum"]:
                raise SettingsError(f"Setting '{f.name}' must be between {meta['minimum']} and {meta['maximum']}.")
        return self


def config_dir() -> Path:
    override = os.environ.get("ATELIER_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    override = os.environ.get("ATELIER_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))


def cache_dir() -> Path:
    override = os.environ.get("ATELIER_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


def export_folder(settings: Settings) -> Path:
    """Where export dialogs start: the Output folder setting, else the user's Pictures folder (home when
    there is none), never the folder Atelier happened to be started from."""
    if settings.output_folder:
        return Path(settings.output_folder).expanduser()
    pictures = Path(platformdirs.user_pictures_dir())
    return pictures if pictures.is_dir() else Path.home()


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> tuple[Settings, list[str]]:
    """Read settings; unknown or invalid values fall back to defaults and are reported, never fatal."""
    path = path or settings_path()
    problems: list[str] = []
    if not path.exists():
        return Settings(), problems
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return Settings(), [f"Could not read {path} ({exc}); using defaults."]
    values = raw.get("values", {})
    if not isinstance(values, dict):
        return Settings(), [f"The settings in {path} are {type(values).__name__}, not named values; using defaults."]
    settings = Settings()
    names = {f.name for f in dataclasses.fields(Settings)}
    for name, value in values.items():
        if name not in names:
            problems.append(f"Ignored unknown setting '{name}'.")
            continue
        candidate = dataclasses.replace(settings, **{name: value})
        try:
            candidate.validated()
        except SettingsError as exc:
            problems.append(f"{exc} Using the default.")
            continue
        settings = candidate
    return settings, problems


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    path = path or settings_path()
    settings.validated()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"schema_version": SCHEMA_VERSION, "values": dataclasses.asdict(settings)}
    return write_atomic(path, json.dumps(payload, indent=2).encode("utf-8"), private=True)
