"""Training layers (PyTorch) whose ONNX export bnnfpga reads. Needs torch (the dev extra)."""

from bnnfpga.nn.layers import BinaryConv2d, BinaryLinear, BinarySign, binarize
from bnnfpga.nn.quantized import PACT, TernaryConv2d, TernaryLinear, ternarize

__all__ = ["PACT", "BinaryConv2d", "BinaryLinear", "BinarySign", "TernaryConv2d", "TernaryLinear", "binarize", "ternarize"]
