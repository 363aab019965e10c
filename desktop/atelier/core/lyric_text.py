"""Lyric text in and out: Markdown export (sections as headings) and .txt import clean-up."""

from __future__ import annotations

from atelier.core.prosody import is_section


def to_markdown(text: str, title: str = "") -> str:
    """Sections become '## Verse 1' headings; lines end with two spaces (a Markdown line break)
    so each lyric line stays on its own line when rendered."""
    out = [f"# {title}", ""] if title else []
    for line in text.split("\n"):
        section = is_section(line)
        if section is not None:
            if out and out[-1] != "":
                out.append("")
            out += [f"## {section}", ""]
        elif line.strip():
            out.append(line.rstrip() + "  ")
        elif out and out[-1] != "":
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def from_text_file(data: bytes) -> str:
    """Decode an imported .txt (UTF-8, a BOM, or Latin-1 as a last resort) with \\n line ends."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    return text.replace("\r\n", "\n").replace("\r", "\n")
