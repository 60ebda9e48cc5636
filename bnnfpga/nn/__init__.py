"""Training layers (PyTorch) whose ONNX export bnnfpga reads. Needs torch (the dev extra)."""

from bnnfpga.nn.layers import BinaryConv2d, BinaryLinear, BinarySign, binarize
from bnnfpga.nn.quantized import (
                                  PACT,
                                  IntConv2d,
                                  IntLinear,
                                  TernaryConv2d,
                                  TernaryLinear,
                                  TTQConv2d,
                                  TTQLinear,
                                  quantize_weights,
                                  ternarize,
                                  trained_ternarize,
)
from bnnfpga.nn.residual import BiRealBlock, DenseBlock, FakeQuant, ReActBlock, RPReLU, RSign

__all__ = ["PACT", "BiRealBlock", "BinaryConv2d", "DenseBlock", "FakeQuant", "ReActBlock", "RPReLU", "RSign", "BinaryLinear", "BinarySign", "IntConv2d", "IntLinear", "TernaryConv2d", "TernaryLinear",
           "TTQConv2d", "TTQLinear", "binarize", "quantize_weights", "ternarize", "trained_ternarize"]
