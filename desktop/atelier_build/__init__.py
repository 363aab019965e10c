"""Build-time code: turns model weights into ONNX packs (needs the `build` extra: torch, diffusers).

Kept out of the `atelier` package so the runtime cannot import torch by accident (an import-linter
contract checks it); the only way in is `atelier models import-diffusers`, which imports it lazily.
"""
