"""Colour knowledge and maths for palettes (no Qt, no onnxruntime): spaces, names, harmony, checks, files."""
