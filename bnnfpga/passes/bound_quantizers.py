"""Give a Round its level range from the Clip (or Relu) in front of it (PACT, DoReFa)."""

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import ROUNDING_MODES, Affine, Clamp, Quantize
from bnnfpga.passes.base import Pass

# Most levels a quantizer may have: 2^8 (255 thresholds per channel).
MAX_LEVELS = 256


class BoundQuantizers(Pass):
    """Clamp(lo, hi) → [Affine(a, b)] → Quantize becomes [Affine(a, b)] → Quantize with the
    level range narrowed to [R(a·lo + b), R(a·hi + b)] (swapped where a < 0), R the
    quantizer's rounding. Exact: R is monotone, so R(clip(z, L, H)) = clip(R(z), R(L), R(H)).
    Consecutive clamps intersect first. Every quantizer must end with at most MAX_LEVELS
    levels (a Round with no Clip in front has no bounded range)."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        self._merge_clamps(g)
        for quantize in [n for n in g.nodes if isinstance(n.op, Quantize)]:
            self._bound(g, quantize)
            op: Quantize = quantize.op
            if op.qmax - op.qmin + 1 > MAX_LEVELS:
                raise ModelError(
                    f"quantizer with {op.qmax - op.qmin + 1} levels; supported: at most {MAX_LEVELS} (8 bits), e.g. "
                    "Clip(x, 0, α) → Mul → Round (PACT/DoReFa) or a QONNX/QCDQ quantizer of 8 bits or fewer",
                    quantize.source, "Round" if op.qmax - op.qmin > 1 << 20 else "Quantize")
        return g

    @staticmethod
    def _merge_clamps(g: Graph) -> None:
        for node in list(g.nodes):
            prev = g.producer(node.inputs[0])
            if (isinstance(node.op, Clamp) and prev is not None and isinstance(prev.op, Clamp)
                    and g.only_consumer(prev.output) is node):
                node.op = Clamp(lo=np.maximum(prev.op.lo, node.op.lo), hi=np.minimum(prev.op.hi, node.op.hi))
                node.inputs = prev.inputs
                g.nodes.remove(prev)
                g.onnx_tensors.pop(prev.output, None)

    @staticmethod
    def _bound(g: Graph, quantize: Node) -> None:
        affine = g.producer(quantize.inputs[0])
        if affine is None or g.only_consumer(affine.output) is not quantize:
            return
        if isinstance(affine.op, Clamp):
            clamp, a, b = affine, 1.0, 0.0
        elif isinstance(affine.op, Affine):
            clamp = g.producer(affine.inputs[0])
            if clamp is None or not isinstance(clamp.op, Clamp) or g.only_consumer(clamp.output) is not affine:
                return
            a, b = affine.op.scale, affine.op.bias
        else:
            return
        low = a * clamp.op.lo + b
        high = a * clamp.op.hi + b
        low, high = np.minimum(low, high), np.maximum(low, high)
        rounding = ROUNDING_MODES[quantize.op.rounding]
        with np.errstate(invalid="ignore"):
            low, high = rounding(low), rounding(high)
        if not (np.all(low == low[0]) and np.all(high == high[0])):
            raise ModelError("the Clip in front of this Round gives each channel other levels; supported: one level "
                             "range for all channels (one α per layer)", quantize.source, "Round")
        op: Quantize = quantize.op
        qmin = op.qmin if not np.isfinite(low[0]) else max(op.qmin, int(low[0]))
        qmax = op.qmax if not np.isfinite(high[0]) else min(op.qmax, int(high[0]))
        quantize.op = Quantize(qmin=qmin, qmax=qmax, rounding=op.rounding)
        reader = affine if clamp is not affine else quantize
        reader.inputs = clamp.inputs
        g.nodes.remove(clamp)
        g.onnx_tensors.pop(clamp.output, None)
