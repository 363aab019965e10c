"""Atelier: an offline creative assistant for artists (sketch, lyric and palette tools)."""

__version__ = "0.1.0"
