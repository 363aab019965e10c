"""Diffusers Stable Diffusion pipelines to the ONNX folder layout, with the graph rewrites the export applies."""
