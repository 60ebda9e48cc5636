"""Compose consecutive per-channel affines into one."""

from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import Affine
from bnnfpga.passes.base import Pass


class MergeAffines(Pass):
    """Affine(s1, b1) → Affine(s2, b2) becomes Affine(s1·s2, b1·s2 + b2)."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        changed = True
        while changed:
            changed = False
            for first in g.nodes:
                second = g.only_consumer(first.output)
                if isinstance(first.op, Affine) and second is not None and isinstance(second.op, Affine):
                    s1, b1, s2, b2 = first.op.scale, first.op.bias, second.op.scale, second.op.bias
                    second.op = Affine(scale=s1 * s2, bias=b1 * s2 + b2)
                    second.inputs = first.inputs
                    second.source = f"{first.source}+{second.source}"
                    g.nodes.remove(first)
                    g.onnx_tensors.pop(first.output, None)
                    changed = True
                    break
        return g
