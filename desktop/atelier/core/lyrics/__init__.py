"""Lyric rules in one place: checks that a written line is English worth keeping, and meter targets."""
