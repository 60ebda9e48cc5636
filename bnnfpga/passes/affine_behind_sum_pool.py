"""Move an affine from in front of a sum-pool (average pooling) to behind it."""

import numpy as np

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, SumPool
from bnnfpga.passes.base import LocalRewrite


class AffineBehindSumPool(LocalRewrite):
    """Affine(s, b) → SumPool becomes SumPool → Affine(s, b·taps): Σ (s·x + b) = s·Σ x + b·taps
    over a window of ``taps`` positions. With padding, a padded tap adds 0 rather than b, so the
    offset would depend on the position: there only an affine without offset moves. The pool
    then sums the integer levels of the quantizer in front (the dequantisation scale follows),
    and the quantizer behind it folds into thresholds on those integer sums."""

    def rewrite(self, g: Graph, affine: Node, pool: Node) -> bool:
        if not isinstance(affine.op, Affine) or not isinstance(pool.op, SumPool):
            return False
        op = pool.op
        if affine.op.position_bias is not None or (any(op.pads) and np.any(affine.op.bias != 0)):
            return False
        taps = op.kernel[0] * op.kernel[1]
        g.exchange(affine, pool, op, Affine(scale=affine.op.scale, bias=affine.op.bias * taps))
        return True
