"""Frontends: read a model file into the IR.

``import_model`` picks the frontend by the model's ops: QONNX quantizers (frontend/qonnx.py),
else plain ONNX (frontend/onnx.py).
"""

from onnx import ModelProto

from bnnfpga.frontend.load import load_onnx
from bnnfpga.frontend.onnx import import_model as import_plain_onnx
from bnnfpga.frontend.qonnx import import_qonnx, is_qonnx
from bnnfpga.ir.graph import Graph


def import_model(model: ModelProto, input_bits: int = 8, input_scale: float = 1.0, float_input: bool = False) -> Graph:
    """A checked ONNX model (plain or QONNX) as a float-level IR graph. The model's input
    receives the integer frame times ``input_scale``; with ``float_input`` it receives float
    frames, which the host quantizes with the model's own input quantizer."""
    if is_qonnx(model):
        return import_qonnx(model, input_bits, input_scale, float_input)
    return import_plain_onnx(model, input_bits, input_scale, float_input)


__all__ = ["import_model", "is_qonnx", "load_onnx"]
