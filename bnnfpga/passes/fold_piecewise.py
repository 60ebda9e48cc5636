"""Fold a chain of affines and PReLUs on integers, with the quantizer behind it, into
thresholds by evaluating it on every reachable integer (ReActNet's RPReLU)."""

from __future__ import annotations

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, Binarize, DotProduct, LevelQuantizer, PReLU, Threshold
from bnnfpga.passes.accumulator_widths import channel_bounds
from bnnfpga.passes.base import Pass

# Most integers per channel the chain is evaluated on: the sums of k-bit shortcuts and the
# accumulators of hidden layers are far fewer.
MAX_VALUES = 1 << 20


class FoldPiecewise(Pass):
    """Integer u → (Affine | PReLU)* with at least one PReLU → Binarize or quantizer becomes
    Threshold on u. The level L(u) is computed in float64, as the golden model computes the
    chain, for every reachable u of each channel (a dot product's proven range, or the
    tensor's); L must be non-decreasing in u, and threshold j is the first u with
    L(u) ≥ base + j (docs/DESIGN.md 3.15). A chain whose level falls somewhere (a negative
    PReLU slope or scale) is refused, naming its PReLU."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        for quantizer in [n for n in g.nodes if isinstance(n.op, (Binarize, LevelQuantizer))]:
            chain = self._chain(g, quantizer)
            if chain:
                self._fold(g, chain, quantizer)
        return g

    @staticmethod
    def _chain(g: Graph, quantizer: Node) -> list[Node]:
        """The affines and PReLUs between an integer tensor and ``quantizer``, first first."""
        chain: list[Node] = []
        tensor = quantizer.inputs[0]
        while (node := g.producer(tensor)) is not None and isinstance(node.op, (Affine, PReLU)):
            if g.only_consumer(node.output) is not (chain[0] if chain else quantizer):
                return []
            chain.insert(0, node)
            tensor = node.inputs[0]
        types = g.types()
        if not any(isinstance(n.op, PReLU) for n in chain) or not types[tensor].dtype.is_integer:
            return []
        return chain

    @staticmethod
    def _fold(g: Graph, chain: list[Node], quantizer: Node) -> None:
        values = chain[0].inputs[0]
        producer = g.producer(values)
        if producer is not None and isinstance(producer.op, DotProduct) and producer.op.acc_min is not None:
            lo, hi = producer.op.acc_min.astype(np.int64), producer.op.acc_max.astype(np.int64)
        else:
            lo, hi = channel_bounds(g, values, g.types())
        prelu = next(n for n in chain if isinstance(n.op, PReLU))
        if np.any(hi - lo + 1 > MAX_VALUES):
            raise ModelError(f"a PReLU on integers of more than {MAX_VALUES:,} values per channel is not supported",
                             prelu.source, "PRelu")
        op = quantizer.op
        channels = len(lo)
        base = op.base if isinstance(op, LevelQuantizer) else 0
        steps = op.steps if isinstance(op, LevelQuantizer) else 1
        thresholds = np.zeros((channels, steps), np.int64)
        constant = np.zeros(channels, np.int8)
        for c in range(channels):
            u = np.arange(lo[c], hi[c] + 1, dtype=np.int64)
            z = u.astype(np.float64)
            for node in chain:
                z = z * node.op.scale[c] + node.op.bias[c] if isinstance(node.op, Affine) else \
                    np.where(z >= 0, z, node.op.slope[c] * z)
            if isinstance(op, Binarize):
                level = (z > 0 if op.strict else z >= 0).astype(np.int64)
            else:
                level = np.asarray(op.count(z, c)).astype(np.int64)
            if np.any(np.diff(level) < 0):
                raise ModelError("the affines and PReLU in front of this quantizer do not rise with their input on "
                                 f"channel {c} (a negative slope or scale): supported is a monotone step, e.g. "
                                 "RPReLU with positive slopes", prelu.source, "PRelu")
            if isinstance(op, Binarize) and level[0] == level[-1]:
                constant[c] = 1 if level[0] else -1
            thresholds[c] = [lo[c] + int(np.searchsorted(level, j)) for j in range(1, steps + 1)]
        quantizer.op = Threshold(thresholds=thresholds, constant=constant, base=None if isinstance(op, Binarize) else base)
        quantizer.inputs = (values,)
        quantizer.source = "+".join([n.source for n in chain] + [quantizer.source])
        for node in chain:
            g.nodes.remove(node)
            g.onnx_tensors.pop(node.output, None)
