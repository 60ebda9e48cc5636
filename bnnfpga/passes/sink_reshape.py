"""Move a flatten down past elementwise ops, next to the fully connected layer that reads it."""

import numpy as np

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, Binarize, Quantize, Reshape
from bnnfpga.passes.base import LocalRewrite


class SinkReshape(LocalRewrite):
    """Reshape → Binarize (or Quantize) becomes Binarize → Reshape; Reshape → Affine becomes
    Affine → Reshape when the affine's per-feature parameters are one value per channel of the
    tensor before the flatten. Then a dot product, its affine and its binarisation stay
    adjacent (foldable into thresholds) and a flatten feeds the next dense layer directly."""

    def rewrite(self, g: Graph, reshape: Node, nxt: Node) -> bool:
        if not isinstance(reshape.op, Reshape) or not isinstance(nxt.op, (Affine, Binarize, Quantize)):
            return False
        before = g.types()[reshape.inputs[0]].shape
        if isinstance(nxt.op, Affine):
            per_channel = []
            for values in (nxt.op.scale, nxt.op.bias):
                blocks = values.reshape(before[0], -1)
                if not np.all(blocks == blocks[:, :1]):
                    return False
                per_channel.append(blocks[:, 0].copy())
            moved = Affine(scale=per_channel[0], bias=per_channel[1])
        else:
            moved = nxt.op
        g.exchange(reshape, nxt, moved, reshape.op)
        return True
