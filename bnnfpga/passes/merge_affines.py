"""Compose consecutive per-channel affines into one."""

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine
from bnnfpga.passes.base import LocalRewrite


class MergeAffines(LocalRewrite):
    """Affine(s1, b1) → Affine(s2, b2) becomes Affine(s1·s2, b1·s2 + b2)."""

    def rewrite(self, g: Graph, first: Node, second: Node) -> bool:
        if not (isinstance(first.op, Affine) and isinstance(second.op, Affine)):
            return False
        s1, b1, s2, b2 = first.op.scale, first.op.bias, second.op.scale, second.op.bias
        second.op = Affine(scale=s1 * s2, bias=b1 * s2 + b2)
        second.inputs = first.inputs
        second.source = f"{first.source}+{second.source}"
        g.nodes.remove(first)
        g.onnx_tensors.pop(first.output, None)
        return True
