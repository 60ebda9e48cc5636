"""Training layers (PyTorch) whose ONNX export bnnfpga reads. Needs torch (the dev extra)."""

from bnnfpga.nn.abc import ABCActivation, ABCConv2d, ABCLinear, least_squares_gains, weight_bases
from bnnfpga.nn.horq import (
                              HORQConv2d,
                              HORQLinear,
                              ScaledInputXNORConv2d,
                              ScaledInputXNORLinear,
                              patch_kernel,
                              residual_binarize,
)
from bnnfpga.nn.inq import INQ_SCHEDULE, INQConv2d, INQLinear, quantize_fraction
from bnnfpga.nn.layers import BinaryConv2d, BinaryLinear, BinarySign, XNORConv2d, XNORLinear, binarize, scaled_binarize
from bnnfpga.nn.quantized import (
                                  HWGQ,
                                  PACT,
                                  DoReFaActivation,
                                  DoReFaConv2d,
                                  DoReFaLinear,
                                  IntConv2d,
                                  IntLinear,
                                  TernaryConv2d,
                                  TernaryLinear,
                                  TTQConv2d,
                                  TTQLinear,
                                  UniformActivation,
                                  dorefa_weights,
                                  quantize_weights,
                                  ternarize,
                                  trained_ternarize,
)
from bnnfpga.nn.residual import BiRealBlock, DenseBlock, FakeQuant, ReActBlock, RPReLU, RSign

__all__ = ["HWGQ", "ABCActivation", "ABCConv2d", "ABCLinear", "INQ_SCHEDULE", "PACT", "BiRealBlock", "BinaryConv2d", "BinaryLinear", "BinarySign", "DenseBlock",
           "DoReFaActivation", "DoReFaConv2d", "DoReFaLinear", "FakeQuant", "HORQConv2d", "HORQLinear", "INQConv2d", "INQLinear", "IntConv2d",
           "IntLinear", "ReActBlock", "RPReLU", "RSign", "ScaledInputXNORConv2d", "ScaledInputXNORLinear", "TTQConv2d", "TTQLinear", "TernaryConv2d", "TernaryLinear",
           "UniformActivation", "XNORConv2d", "XNORLinear", "binarize", "dorefa_weights", "least_squares_gains", "patch_kernel", "quantize_fraction",
           "quantize_weights", "residual_binarize", "scaled_binarize", "ternarize", "trained_ternarize", "weight_bases"]
