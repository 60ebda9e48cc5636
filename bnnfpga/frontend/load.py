"""Reading a model file: the ONNX checker, after QONNX's domain aliases are normalised."""

from __future__ import annotations

import os
from pathlib import Path

import onnx

from bnnfpga.errors import BnnfpgaError, ModelError
from bnnfpga.frontend.qonnx import is_qonnx, normalise_domains


def load_onnx(path: str | os.PathLike) -> onnx.ModelProto:
    """Read and check an ONNX file (with external data beside it), or raise a clear error."""
    path = Path(path)
    if not path.is_file():
        raise BnnfpgaError(f"{path}: no such file")
    try:
        model = onnx.load(str(path), load_external_data=True)
    except Exception as exc:  # protobuf raises several types for garbage or truncated files
        raise ModelError(f"{path}: not a readable ONNX file (truncated or not ONNX): {exc}") from None
    if not model.graph.node:
        raise ModelError(f"{path}: not a readable ONNX file (no graph nodes)")
    if is_qonnx(model):
        model = normalise_domains(model)
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ModelError(f"{path}: invalid ONNX model: {str(exc).splitlines()[0]}") from None
    return model
