"""Accessibility checks: WCAG 2 contrast (matrix, badges, roles) and colour-blind simulation (coloraide)."""

from __future__ import annotations

from dataclasses import dataclass

from coloraide import Color

# (deficiency label, coloraide filter, method): Machado 2009 for protan/deutan, Brettel 1997 for tritan.
CVD_KINDS = (
    ("protanopia", "protan", "machado"),
    ("deuteranopia", "deutan", "machado"),
    ("tritanopia", "tritan", "brettel"),
)
# Two swatches closer than this (CIEDE2000) after simulation are hard to tell apart.
INDISTINGUISHABLE_DE = 6.0


def contrast(a: str, b: str) -> float:
    return float(Color(a).contrast(b, method="wcag21"))


def contrast_badge(ratio: float, large_text: bool = False) -> str:
    """'AAA', 'AA', 'AA Large' or 'Fail' for normal text (4.5:1 AA, 7:1 AAA; 3:1 for large text)."""
    if large_text:
        return "AAA" if ratio >= 4.5 else "AA" if ratio >= 3.0 else "Fail"
    if ratio >= 7.0:
        return "AAA"
    if ratio >= 4.5:
        return "AA"
    if ratio >= 3.0:
        return "AA Large"
    return "Fail"


def contrast_matrix(colors: list[str]) -> list[list[float]]:
    return [[contrast(a, b) for b in colors] for a in colors]


@dataclass(frozen=True)
class Roles:
    background: str
    text: str
    accent: str
    text_contrast: float
    accent_contrast: float

    @property
    def warnings(self) -> list[str]:
        notes = []
        if self.text_contrast < 4.5:
            notes.append(
                f"Text on background is {self.text_contrast:.2f}:1, below WCAG AA 4.5:1; "
                "darken the text or lighten the background."
            )
        if self.accent_contrast < 3.0:
            notes.append(f"Accent on background is {self.accent_contrast:.2f}:1, below 3:1 for large text/UI.")
        return notes


def suggest_roles(colors: list[str]) -> Roles:
    """Background = the lightest or darkest swatch, text = best contrast on it, accent = most chromatic."""
    if len(colors) < 2:
        raise ValueError("Roles need at least two colours.")
    by_light = sorted(colors, key=lambda c: Color(c).convert("oklch")["lightness"])
    best: tuple[float, str, str] | None = None
    for background in (by_light[-1], by_light[0]):
        text = max((c for c in colors if c != background), key=lambda c: contrast(background, c))
        ratio = contrast(background, text)
        if best is None or ratio > best[0]:
            best = (ratio, background, text)
    assert best is not None
    ratio, background, text = best
    return roles_for(colors, background, text)


def roles_for(colors: list[str], background: str, text: str, accent: str | None = None) -> Roles:
    others = [c for c in colors if c not in (background, text)] or [text]
    if accent is None:
        accent = max(others, key=lambda c: Color(c).convert("oklch")["chroma"] + 0.02 * contrast(background, c))
    return Roles(background, text, accent, contrast(background, text), contrast(background, accent))


def simulate(colors: list[str], kind: str) -> list[str]:
    """The palette as seen with `kind` ('protanopia', 'deuteranopia' or 'tritanopia')."""
    for label, name, method in CVD_KINDS:
        if label == kind:
            return [Color(c).filter(name, method=method).convert("srgb").to_string(hex=True, fit=True) for c in colors]
    raise ValueError(f"Unknown colour-vision deficiency '{kind}'.")


def confusable_pairs(colors: list[str], kind: str) -> list[tuple[int, int, float]]:
    """Pairs (i, j, dE2000) that become indistinguishable under `kind` though they differ normally."""
    simulated = simulate(colors, kind)
    pairs = []
    for i in range(len(colors)):
        for j in range(i + 1, len(colors)):
            seen = float(Color(simulated[i]).delta_e(simulated[j], method="2000"))
            normal = float(Color(colors[i]).delta_e(colors[j], method="2000"))
            if seen < INDISTINGUISHABLE_DE <= normal:
                pairs.append((i, j, seen))
    return pairs
