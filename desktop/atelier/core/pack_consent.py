"""Licence consent: which packs the user has accepted (remembered per pack hash) and what each licence allows."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from atelier.core.atomic_files import write_atomic
from atelier.core.errors import AtelierError
from atelier.core.requests import Request
from atelier.core.settings import data_dir

OPEN = "open"
RESTRICTED = "restricted"  # use restrictions (OpenRAIL, Llama-style community licences), commercial use allowed
NON_COMMERCIAL = "non-commercial"
UNKNOWN = "unknown"
MANIFEST_NAMES = ("pack.json", "pack.toml")

# Which kind of pack each request kind runs (the engine's tasks pick the first pack of that kind when the
# request names none). Requests not listed here (rhymes, analysis, palettes from pictures) use no model pack.
PACK_KIND_OF_REQUEST = {
    "sketch": "diffusion",
    "upscale": "diffusion",
    "colorize": "colorize",
    "lineart": "lineart",
    "lyrics": "llm",
    "melody": "melody",
    "palette-text": "text-embedding",
    "palette-infill": "palette-infill",
}

_OPEN_LICENCES = re.compile(
    r"^(mit|apache[- ]?2(\.0)?|bsd[- ]?[23][- ]clause|bsd|isc|zlib|unlicense|cc0([- ]1\.0)?|public[- ]domain"
    r"|cc[- ]by([- ][34]\.0)?|cc[- ]by[- ]sa([- ][34]\.0)?|mpl[- ]?2(\.0)?|lgpl.*|gpl.*|openmdw.*)$"
)
_NON_COMMERCIAL = re.compile(r"(\bnc\b|non[- ]?commercial|research[- ]only|personal[- ]use|academic)")
_RESTRICTED = re.compile(r"(rail|llama|gemma|community|responsible|custom|proprietary)")


class PackLicenceError(AtelierError):
    """A pack is used for the first time and its licence has not been accepted."""

    hint = "Read the licence, then run again with --accept-licence to accept it (asked once per pack)."


def licence_class(licence: str) -> str:
    """open, restricted (use-based rules), non-commercial, or unknown (nothing said, or 'unknown'/'other')."""
    # The licence's name comes first; packs add notes after it: "MIT (weights trained here; see MODEL_CARD.md)".
    text = re.split(r"[(;,]", licence, maxsplit=1)[0].strip().lower().replace("_", "-")
    if not text or text in ("unknown", "other", "none", "n/a", "?", "unspecified"):
        return UNKNOWN
    if _NON_COMMERCIAL.search(text):
        return NON_COMMERCIAL
    if _OPEN_LICENCES.match(text):
        return OPEN
    if _RESTRICTED.search(text):
        return RESTRICTED
    return UNKNOWN


def needs_attention(licence: str) -> bool:
    """Whether a pack chooser should mark this licence (non-commercial, or nobody said what it is)."""
    return licence_class(licence) in (NON_COMMERCIAL, UNKNOWN)


def licence_label(licence: str) -> str:
    """The licence as a chooser shows it: its name, plus a warning word where it limits the results' use."""
    name = licence.strip() or "unknown"
    kind = licence_class(licence)
    if kind == NON_COMMERCIAL:
        return f"{name} — non-commercial"
    if kind == UNKNOWN:
        return f"{name} — licence unknown" if name.lower() != "unknown" else "licence unknown"
    return name


def licence_meaning(licence: str) -> str:
    """One sentence saying what the licence class means for the user's results."""
    return {
        OPEN: "An open licence: you may use the results, commercially too (keep any attribution it asks for).",
        RESTRICTED: "A licence with use restrictions: read it before using the results, especially for paid work.",
        NON_COMMERCIAL: "Non-commercial: the results may not be used for paid or commercial work.",
        UNKNOWN: "Nobody has said under which licence this model may be used: check with its source before "
        "you publish or sell anything made with it.",
    }[licence_class(licence)]


def pack_key(summary: dict[str, Any]) -> str:
    """What an acceptance is remembered by: the sha256 of the pack's manifest (which lists every file's hash
    and the licence), so a changed pack or licence asks again; for a pack not built yet, of its description."""
    folder = str(summary.get("folder") or "")
    if folder:
        for name in MANIFEST_NAMES:
            manifest = Path(folder) / name
            try:
                return hashlib.sha256(manifest.read_bytes()).hexdigest()
            except OSError:
                continue
    described = {k: str(summary.get(k, "")) for k in ("id", "name", "kind", "version", "licence", "source")}
    if folder and not described["source"]:  # an ONNX folder the user picked: its place stands for it
        described["folder"] = str(Path(folder).expanduser().resolve())
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode("utf-8")).hexdigest()


def pack_for_request(request: Request, summaries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The pack a request will run, as a summary (id, name, kind, licence, source, folder), or None when the
    request runs no pack (or none of its kind is installed: the task itself then says so)."""
    kind = PACK_KIND_OF_REQUEST.get(request.kind)
    if kind is None:
        return None
    wanted = str(getattr(request, "pack_id", "") or "")
    if wanted:
        for summary in summaries:
            if summary.get("id") == wanted:
                return summary
        if ("/" in wanted or "\\" in wanted) and Path(wanted).expanduser().is_dir():
            folder = Path(wanted).expanduser()
            return {"id": folder.name, "name": folder.name, "kind": kind, "licence": "unknown", "source": "",
                    "folder": str(folder)}  # fmt: skip
        return None  # an unknown id: the task fails with its own message
    for summary in summaries:
        if summary.get("kind") == kind:
            return summary
    return None


def consent_path() -> Path:
    return data_dir() / "accepted-packs.json"


class ConsentStore:
    """The packs this user accepted, by pack key, in a private JSON file in the data folder."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or consent_path()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # unreadable: every pack asks again, which is the safe side
        accepted = data.get("accepted") if isinstance(data, dict) else None
        return accepted if isinstance(accepted, dict) else {}

    def is_accepted(self, summary: dict[str, Any]) -> bool:
        return pack_key(summary) in self._read()

    def accept(self, summary: dict[str, Any]) -> None:
        accepted = self._read()
        accepted[pack_key(summary)] = {
            "id": str(summary.get("id", "")),
            "licence": str(summary.get("licence", "")),
            "accepted": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"version": 1, "accepted": accepted}, indent=2, sort_keys=True)
        write_atomic(self.path, payload.encode("utf-8"), private=True)

    def accepted_ids(self) -> list[str]:
        return sorted({str(v.get("id", "")) for v in self._read().values() if isinstance(v, dict)})


def licence_notice(summary: dict[str, Any]) -> str:
    """The text the command line prints before the first use of a pack that is not openly licensed."""
    return (
        f"Pack '{summary.get('id')}' ({summary.get('name') or summary.get('id')}) is licensed as "
        f"'{summary.get('licence') or 'unknown'}'. {licence_meaning(str(summary.get('licence', '')))} "
        f"Source: {str(summary.get('source') or 'not stated').rstrip('.')}."
    )


def check_cli_consent(
    request: Request, summaries: list[dict[str, Any]], accept: bool, store: ConsentStore | None = None
) -> str:
    """For the command line: pass a pack with an open licence or one accepted before; for any other pack
    record the acceptance when `accept` (--accept-licence) is given and return the notice to print, else
    raise PackLicenceError with the licence and source. Returns "" when nothing needs saying."""
    summary = pack_for_request(request, summaries)
    if summary is None or licence_class(str(summary.get("licence", ""))) == OPEN:
        return ""
    store = store or ConsentStore()
    if store.is_accepted(summary):
        return ""
    notice = licence_notice(summary)
    if not accept:
        raise PackLicenceError(f"{notice} It has not been accepted on this computer yet.")
    store.accept(summary)
    return f"{notice} Accepted (remembered for this pack)."
