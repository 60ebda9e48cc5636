"""Compose consecutive per-channel affines into one."""

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine
from bnnfpga.passes.base import LocalRewrite


class MergeAffines(LocalRewrite):
    """Affine(s1, b1) → Affine(s2, b2) becomes Affine(s1·s2, b1·s2 + b2); position biases
    p1, p2 (docs/DESIGN.md 3.4) become p1·s2 + p2."""

    def rewrite(self, g: Graph, first: Node, second: Node) -> bool:
        if not (isinstance(first.op, Affine) and isinstance(second.op, Affine)):
            return False
        s1, b1, s2, b2 = first.op.scale, first.op.bias, second.op.scale, second.op.bias
        p1, p2 = first.op.position_bias, second.op.position_bias
        moved = None if p1 is None else p1 * s2[:, None, None]
        position_bias = moved if p2 is None else p2 if moved is None else moved + p2
        second.op = Affine(scale=s1 * s2, bias=b1 * s2 + b2, position_bias=position_bias)
        second.inputs = first.inputs
        second.source = f"{first.source}+{second.source}"
        g.nodes.remove(first)
        g.onnx_tensors.pop(first.output, None)
        return True
