"""Move max-pooling from before the threshold to after it (docs/DESIGN.md 3.6)."""

import numpy as np

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, Binarize, LevelQuantizer, MaxPool
from bnnfpga.passes.base import LocalRewrite


class PoolAfterThreshold(LocalRewrite):
    """MaxPool → Affine becomes Affine → MaxPool, where channels with a negative scale turn
    into min-pools (max(s·y) = s·min(y) for s < 0); MaxPool → Binarize becomes
    Binarize → MaxPool (binarisation is non-decreasing), and likewise for Quantize and
    FloatThresholds (k-bit levels: max of levels = level of the max). On bipolar values the pool is then
    an OR, or an AND for the flipped channels, and the accumulators never need pooling."""

    def rewrite(self, g: Graph, pool: Node, nxt: Node) -> bool:
        if not isinstance(pool.op, MaxPool) or not isinstance(nxt.op, (Affine, Binarize, LevelQuantizer)):
            return False
        if isinstance(nxt.op, Affine) and nxt.op.position_bias is not None:
            return False  # its positions are the pool's outputs, not its inputs
        op = pool.op
        use_min = op.use_min if op.use_min is not None else np.zeros(g.types()[pool.output].shape[0], bool)
        if isinstance(nxt.op, Affine):
            use_min = use_min ^ (nxt.op.scale < 0)
        new_pool = MaxPool(kernel=op.kernel, strides=op.strides, pads=op.pads, use_min=use_min)
        g.exchange(pool, nxt, nxt.op, new_pool)
        return True
