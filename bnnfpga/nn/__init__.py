"""Training layers (PyTorch) whose ONNX export bnnfpga reads. Needs torch (the dev extra)."""

from bnnfpga.nn.layers import BinaryConv2d, BinaryLinear, BinarySign, binarize

__all__ = ["BinaryConv2d", "BinaryLinear", "BinarySign", "binarize"]
