"""MIDI for the audio side: the file writer lives in core (history keeps .mid files); programme names."""

from __future__ import annotations

import pretty_midi

from atelier.core.midi_file import key_number, melody_to_midi, write_midi

__all__ = ["instrument_names", "key_number", "melody_to_midi", "write_midi"]


def instrument_names() -> list[str]:
    """The 128 General MIDI programme names, programme 0 first."""
    return [pretty_midi.program_to_instrument_name(program) for program in range(128)]
