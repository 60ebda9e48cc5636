"""The intermediate representation: a typed graph of integer (and, before folding, float) ops."""

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.types import BIPOLAR, FLOAT, DType, TensorType

__all__ = ["BIPOLAR", "FLOAT", "DType", "Graph", "Node", "TensorType"]
