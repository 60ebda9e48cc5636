"""Prove the reachable range of every dot-product accumulator (DESIGN 3.8)."""

import numpy as np

from bnnfpga.golden.kernels import conv_weight_rows, im2col
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import Conv, DotProduct
from bnnfpga.passes.base import Pass


def reachable_range(op: DotProduct, in_shape: tuple[int, ...], lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row [min, max] of Σ w·x over inputs x ∈ [lo, hi] with ±1 weights w, taking zero
    padding into account (a padded tap contributes 0). Each bound is reached by one input."""
    if isinstance(op, Conv):
        rows = conv_weight_rows(op.weight)
        c, h, w = in_shape
        _, valid = im2col(np.zeros((1, h, w, c), np.int8), op.kernel, op.strides, op.pads)
        valid = valid.astype(np.int64)  # (positions, K)
    else:
        rows = op.weight
        valid = np.ones((1, rows.shape[1]), np.int64)
    pos, neg = (rows > 0).astype(np.int64), (rows < 0).astype(np.int64)
    # At each position: max = Σ_{w=+1} hi − Σ_{w=−1} lo, min = Σ_{w=+1} lo − Σ_{w=−1} hi.
    vp, vn = valid @ pos.T, valid @ neg.T  # (positions, O)
    acc_max = (vp * hi - vn * lo).max(axis=0)
    acc_min = (vp * lo - vn * hi).min(axis=0)
    return acc_min, acc_max


class AccumulatorWidths(Pass):
    """Record per-row reachable accumulator ranges; the accumulator type follows from them."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        types = g.types()
        for node in g.nodes:
            op = node.op
            in_type = types[node.inputs[0]]
            if not isinstance(op, DotProduct) or op.weight.dtype != np.int8 or not in_type.dtype.is_integer:
                continue
            acc_min, acc_max = reachable_range(op, in_type.shape, in_type.dtype.min, in_type.dtype.max)
            node.op = type(op)(**{**vars(op), "acc_min": acc_min, "acc_max": acc_max})
            types = g.types()
        return g
