"""The pack manifest schema: every key Atelier reads, with its type and range; anything else is refused by name.

Written here rather than as a JSON Schema for the `jsonschema` package: a dozen keys do not justify a new
dependency (and its Rust extension) in the installer, and each problem must read as advice to whoever
wrote the manifest, naming the key, what it holds and what it should hold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Bounds on what a manifest may ask for: all of them come from outside (a downloaded or hand-made pack).
MAX_MANIFEST_BYTES = 8 << 20  # a 20,000-file manifest is about 3 MB
MAX_DEPTH = 16  # the deepest real manifest (melody's tokens) is 3 levels
MAX_FILES = 20_000
MAX_FILE_BYTES = 1 << 42  # 4 TiB: larger than any model, small enough to stay an exact integer
MAX_THREADS = 64
MAX_COMPONENTS = 64
MAX_PROVIDERS = 16
MAX_PATH_CHARS = 1024

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
KIND_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
ROLE_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
PROVIDER_PATTERN = re.compile(r"[A-Za-z0-9]{1,48}ExecutionProvider")
SHA256_PATTERN = re.compile(r"[0-9a-fA-F]{64}")
HEX_PATTERN = re.compile(r"[0-9a-fA-F]{1,128}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
FREE_KEY_PREFIX = "x-"  # a manifest's own notes, kept but never read

Check = Callable[[Any, str], list[str]]


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, int):
        return f"the whole number {value}"
    return type(value).__name__


def text(max_chars: int, pattern: re.Pattern[str] | None = None, rule: str = "") -> Check:
    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, str):
            return [f"{where} must be text, not {_type_name(value)}"]
        if not value:
            return [f"{where} is empty"]
        if len(value) > max_chars:
            return [f"{where} is {len(value)} characters long (at most {max_chars})"]
        if pattern is not None and not pattern.fullmatch(value):
            return [f"{where} {value[:80]!r} is not allowed: {rule}"]
        if pattern is None and CONTROL_CHARACTERS.search(value):
            return [f"{where} holds control characters"]
        return []

    return check


def integer(low: int, high: int) -> Check:
    def check(value: Any, where: str) -> list[str]:
        # bool is an int in Python, and 571.5 or "571" must not pass as a size.
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where} must be a whole number from {low} to {high}, not {_type_name(value)}"]
        if not low <= value <= high:
            return [f"{where} is {value}, outside {low}..{high}"]
        return []

    return check


def number(low: float, high: float) -> Check:
    def check(value: Any, where: str) -> list[str]:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{where} must be a number from {low} to {high}, not {_type_name(value)}"]
        # An int is compared as it is: math.isfinite(10**400) raises OverflowError (found by the fuzzer).
        if (isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high:
            shown = (
                value if isinstance(value, float) or abs(value) < 10**20 else f"a {len(str(abs(value)))}-digit number"
            )
            return [f"{where} is {shown}, outside {low}..{high}"]
        return []

    return check


def one_of(*choices: str) -> Check:
    def check(value: Any, where: str) -> list[str]:
        if value not in choices:
            return [f"{where} must be one of {', '.join(choices)}, not {str(value)[:80]!r}"]
        return []

    return check


def version(value: Any, where: str) -> list[str]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return []  # `version = 1` in a hand-written TOML reads as a number; it is still a version
    return text(64)(value, where)


def relative_path(value: Any, where: str) -> list[str]:
    problems = text(MAX_PATH_CHARS)(value, where)
    if problems:
        return problems
    if "\\" in value or value.startswith("/") or re.match(r"[A-Za-z]:", value):
        return [f"{where} {value!r} must be a relative path with forward slashes"]
    folder_path = value[:-1] if value.endswith("/") else value  # a component may name a folder
    if any(part in ("", ".", "..") for part in folder_path.split("/")):
        return [f"{where} {value!r} may not hold empty, '.' or '..' parts (a pack's files stay inside it)"]
    return []


def list_of(item: Check, max_items: int, min_items: int = 0) -> Check:
    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, list):
            return [f"{where} must be a list, not {_type_name(value)}"]
        if not min_items <= len(value) <= max_items:
            return [f"{where} has {len(value)} entries (from {min_items} to {max_items} allowed)"]
        problems: list[str] = []
        for index, entry in enumerate(value):
            problems += item(entry, f"{where}[{index}]")
            if len(problems) >= 10:
                break
        return problems

    return check


def mapping(value_check: Check, max_items: int, key_pattern: re.Pattern[str] = ROLE_PATTERN) -> Check:
    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{where} must be an object of name: value pairs, not {_type_name(value)}"]
        if len(value) > max_items:
            return [f"{where} has {len(value)} entries (at most {max_items})"]
        problems: list[str] = []
        for key, entry in value.items():
            if not key_pattern.fullmatch(str(key)):
                problems.append(f"{where} has a badly formed name {str(key)[:80]!r} (letters, digits, _ . -)")
                continue
            problems += value_check(entry, f"{where}.{key}")
        return problems

    return check


def any_value(value: Any, where: str) -> list[str]:
    return []  # depth is bounded for the whole manifest before any key is checked


def pack_file(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} must be an object with path, sha256 and size, not {_type_name(value)}"]
    problems = [f"{where} has an unknown key {str(key)[:80]!r}" for key in value if key not in FILE_FIELDS]
    for key, check in FILE_FIELDS.items():
        if key not in value:
            problems.append(f"{where} has no {key}")
        else:
            problems += check(value[key], f"{where}.{key}")
    return problems


FILE_FIELDS: dict[str, Check] = {
    "path": relative_path,
    "sha256": text(64, SHA256_PATTERN, "64 hexadecimal digits"),
    "size": integer(0, MAX_FILE_BYTES),
}


@dataclass(frozen=True)
class Key:
    check: Check
    required: bool = False


KEYS: dict[str, Key] = {
    "id": Key(text(64, ID_PATTERN, "letters, digits, '.', '_' and '-', starting with a letter or digit"), True),
    "kind": Key(text(32, KIND_PATTERN, "lower-case letters, digits, '_' and '-'"), True),
    "files": Key(list_of(pack_file, MAX_FILES, min_items=1), True),
    "name": Key(text(200)),
    "version": Key(version),
    "licence": Key(text(500)),
    "source": Key(text(4000)),
    "providers": Key(list_of(text(64, PROVIDER_PATTERN, "an onnxruntime provider name"), MAX_PROVIDERS)),
    "components": Key(mapping(relative_path, MAX_COMPONENTS)),
    # Read by one kind's task or build each; their own code checks what lies inside.
    "max_threads": Key(integer(1, MAX_THREADS)),
    "memory_bytes": Key(mapping(integer(0, MAX_FILE_BYTES), MAX_COMPONENTS)),
    "work_size": Key(mapping(integer(8, 8192), 8)),
    "size_multiple": Key(integer(1, 512)),
    "tokens": Key(mapping(any_value, 64)),
    # [layers, hidden] of the melody GRU's state: exactly two (the task unpacks two), and bounded so the
    # state it allocates stays small (4096 x 4096 floats is 64 MB; 65536 x 65536 was 16 GB).
    "hidden_shape": Key(list_of(integer(1, 4096), 2, min_items=2)),
    "precision": Key(text(32)),
    "min_cosine_to_fp32": Key(number(-1.0, 1.0)),
    "input_hash": Key(text(128, HEX_PATTERN, "hexadecimal digits")),
    "runtime": Key(one_of("onnxruntime", "onnxruntime-genai")),
}


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists/objects nest deeper than `limit`, found without recursion (so no depth can crash it)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict | list):
            if depth >= limit:
                return True
            children = current.values() if isinstance(current, dict) else current
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def validate_manifest(raw: Any) -> list[str]:
    """Every problem with a parsed manifest, as phrases naming the key ('files[3].size is 571.5 ...')."""
    if not isinstance(raw, dict):
        return [f"the manifest must be an object of keys, not {_type_name(raw)}"]
    if too_deep(raw):
        return [f"the manifest nests lists or objects more than {MAX_DEPTH} levels deep"]
    problems: list[str] = []
    for key in raw:
        if key not in KEYS and not str(key).startswith(FREE_KEY_PREFIX):
            problems.append(
                f"unknown key {str(key)[:80]!r} (Atelier reads {', '.join(KEYS)}; "
                f"keep your own notes under a key starting with '{FREE_KEY_PREFIX}')"
            )
    for key, spec in KEYS.items():
        if key in raw:
            problems += spec.check(raw[key], key)
        elif spec.required:
            problems.append(f"the required key '{key}' is missing")
    files = raw.get("files")
    if isinstance(files, list):
        paths: list[str] = [f["path"] for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)]
        seen: set[str] = set()
        for path in paths:
            if path in seen:
                problems.append(f"files lists {str(path)[:80]!r} twice")
                break
            seen.add(path)
    return problems


# -- a diffusers folder's scheduler/scheduler_config.json ------------------------------------------
# Read by engine/diffusion/schedulers.py from any ONNX folder the user picks: the numbers size arrays
# (num_train_timesteps 99999999999 asked numpy for 745 GB) and go through int() and float() (a list or
# text there raised TypeError/ValueError). Only the keys Atelier reads are checked; diffusers' others pass.
MAX_TRAIN_TIMESTEPS = 10_000  # every published scheduler uses 1,000
SCHEDULER_KEYS: dict[str, Check] = {
    "num_train_timesteps": integer(2, MAX_TRAIN_TIMESTEPS),
    "beta_start": number(1e-8, 0.999),
    "beta_end": number(1e-8, 0.999),
    "beta_schedule": one_of("linear", "scaled_linear"),
    "prediction_type": one_of("epsilon", "v_prediction"),
    "timestep_spacing": one_of("linspace", "leading", "trailing"),
    "steps_offset": integer(0, MAX_TRAIN_TIMESTEPS),
    "original_inference_steps": integer(1, MAX_TRAIN_TIMESTEPS),
    "timestep_scaling": number(0.0, 1e4),
    "clip_sample_range": number(0.0, 1e4),
}
SCHEDULER_FLAGS = ("clip_sample", "set_alpha_to_one")


def scheduler_config_problems(config: Any) -> list[str]:
    """Every problem with a scheduler config as the scheduler reads it (defaults filled in), as phrases
    naming the key; [] when the scheduler can use it."""
    if not isinstance(config, dict):
        return [f"the scheduler config must be an object of keys, not {_type_name(config)}"]
    problems: list[str] = []
    for key, check in SCHEDULER_KEYS.items():
        if key in config:
            problems += check(config[key], key)
    problems += [
        f"{key} must be true or false" for key in SCHEDULER_FLAGS if not isinstance(config.get(key, False), bool)
    ]
    train, original = config.get("num_train_timesteps"), config.get("original_inference_steps")
    if not problems and isinstance(train, int) and isinstance(original, int) and original > train:
        problems.append(f"original_inference_steps ({original}) is more than num_train_timesteps ({train})")
    return problems
