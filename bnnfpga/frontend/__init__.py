"""Frontends: read a model file into the IR."""

from bnnfpga.frontend.onnx import import_model, load_onnx

__all__ = ["import_model", "load_onnx"]
