"""What the ONNX and QONNX frontends share: reading a node's attributes and checking the
input options both take."""

from __future__ import annotations

import numpy as np
import onnx

from bnnfpga.errors import BnnfpgaError


def node_attributes(node: onnx.NodeProto) -> dict:
    """A node's attributes as {name: Python value}."""
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def check_input_options(input_bits: int, input_scale: float, float_input: bool = False) -> None:
    """The input options every frontend takes: 1-16-bit integer frames times a positive
    scale, or float frames (then the model's input quantizer fixes the levels: no scale)."""
    if float_input and input_scale != 1.0:
        raise BnnfpgaError("--float-input takes the model's float input as it is; --input-scale applies to integer frames")
    if not 1 <= input_bits <= 16:
        raise BnnfpgaError(f"input bits must be between 1 and 16, got {input_bits}")
    if not (np.isfinite(input_scale) and input_scale > 0):
        raise BnnfpgaError(f"the input scale must be a positive number, got {input_scale}")


def uniform_values(values) -> tuple[float, ...]:
    """Per-channel values as a tuple: one value when they are all equal."""
    values = np.asarray(values, np.float64).reshape(-1)
    return (float(values[0]),) if np.all(values == values[0]) else tuple(float(v) for v in values)
