"""Move a dequantisation behind a max-pool whose output several branches read."""

import numpy as np

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, MaxPool
from bnnfpga.passes.base import NodeRewrite
from bnnfpga.passes.unshare_affines import copy_for_each_reader


class AffineBehindSharedPool(NodeRewrite):
    """Affine(s, b) → MaxPool on integers, the pool read by several nodes (a dense block's
    pooled concat feeds its next layer and the next concat), becomes MaxPool → Affine(s, b)
    with one copy of the affine per reader: max(s·x + b) = s·max(x) + b for s ≥ 0, and a
    min-pool on channels with s < 0. Each copy then folds along its branch. A pool read by
    one node is left to PoolAfterThreshold, which moves it behind the binarisation instead."""

    def rewrite(self, g: Graph, pool: Node) -> None:
        if not isinstance(pool.op, MaxPool):
            return
        affine = g.producer(pool.inputs[0])
        if (len(g.consumers(pool.output)) < 2 or affine is None or not isinstance(affine.op, Affine)
                or affine.op.position_bias is not None or g.only_consumer(affine.output) is not pool
                or not g.types()[affine.inputs[0]].dtype.is_integer):
            return
        op = pool.op
        use_min = op.use_min if op.use_min is not None else np.zeros(len(affine.op.scale), bool)
        g.exchange(affine, pool, MaxPool(kernel=op.kernel, strides=op.strides, pads=op.pads,
                                         use_min=use_min ^ (affine.op.scale < 0)), affine.op)
        copy_for_each_reader(g, pool)  # after the exchange, ``pool`` is the node holding the affine
