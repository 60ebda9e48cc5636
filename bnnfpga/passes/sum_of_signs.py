"""A weighted sum of signs of one tensor (ABC-Net's activation bases) becomes one multi-threshold."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Add, Affine, Binarize, FloatThresholds
from bnnfpga.passes.base import NodeRewrite

# The most thresholds per channel one sum may become (a term of weight m·u is m thresholds).
MAX_THRESHOLDS = 64


@dataclass
class _Terms:
    """offset[c] + Σ_k weight_k[c]·[x ≥ threshold_k[c]] on tensor ``x``; ``nodes`` made it."""

    x: str
    offset: np.ndarray
    thresholds: list[np.ndarray]
    weights: list[np.ndarray]
    nodes: list[Node]


class SumOfSignsAsThresholds(NodeRewrite):
    """Σ_j β_j·sign(x + v_j) + b (ABC-Net's activation: N shifted binary bases of one tensor,
    Sign or Where(x ≥ 0, 1, −1), with any affines around the terms) becomes
    FloatThresholds(x) → Affine: since sign(x + v) = 2·[x ≥ −v] − 1, the sum is
    offset + Σ_j 2β_j·[x ≥ −v_j]. When every 2β_j is the same integer multiple m_j of a unit u
    on every channel (β ratios such as 1 : ½), that is base + #thresholds reached with each
    −v_j repeated m_j times (QONNX MultiThreshold semantics), times u plus the offset; the
    thresholds then fold into integer thresholds like any quantizer (docs/DESIGN.md 5). The
    affine in front of each sign must have a positive power-of-two scale, so that its
    threshold on x is exact. Sums that do not match are left alone (a later pass names them)."""

    def rewrite(self, g: Graph, add: Node) -> None:
        if not isinstance(add.op, Add) or g.types()[add.output].dtype.is_integer:
            return
        sides = [self._terms(g, tensor, add) for tensor in add.inputs]
        if None in sides or sides[0].x != sides[1].x or add.inputs[0] == add.inputs[1]:
            return
        a, b = sides
        weights, thresholds = a.weights + b.weights, a.thresholds + b.thresholds
        counts = self._multiplicities(weights)
        if counts is None:
            return
        unit, multiples = counts
        columns = [t for t, m in zip(thresholds, multiples) for _ in range(m)]
        levels = np.sort(np.stack(columns, axis=1), axis=1)
        for node in a.nodes + b.nodes:
            g.nodes.remove(node)
            g.onnx_tensors.pop(node.output, None)
        counted = g.fresh_name(f"{add.name}_levels")
        add.op, add.inputs, output = FloatThresholds(thresholds=levels, base=0), (a.x,), add.output
        add.output = counted
        behind = Node(g.fresh_name(f"{add.name}_scale"), Affine(scale=unit, bias=a.offset + b.offset), (counted,), output,
                      add.source)
        g.nodes.insert(g.nodes.index(add) + 1, behind)

    @staticmethod
    def _multiplicities(weights: list[np.ndarray]) -> tuple[np.ndarray, list[int]] | None:
        """(unit u per channel, integer m_k) with weight_k = m_k·u on every channel, or None."""
        if any(np.any(w <= 0) for w in weights):
            return None
        unit = np.min(np.stack(weights), axis=0)
        multiples = []
        for w in weights:
            ratios = {Fraction(float(x)) / Fraction(float(u)) for x, u in zip(w, unit)}
            if len(ratios) != 1 or (ratio := ratios.pop()).denominator != 1:
                return None
            multiples.append(int(ratio))
        return (unit, multiples) if sum(multiples) <= MAX_THRESHOLDS else None

    def _terms(self, g: Graph, tensor: str, reader: Node) -> _Terms | None:
        """The sum-of-signs form of ``tensor`` (read by ``reader`` alone), or None."""
        producer = g.producer(tensor)
        if producer is None or g.consumers(tensor) != [reader] or tensor == g.output_name:
            return None
        op = producer.op
        if isinstance(op, Affine) and op.position_bias is None:
            inner = self._terms(g, producer.inputs[0], producer)
            if inner is None:
                return None
            return _Terms(inner.x, op.scale * inner.offset + op.bias, inner.thresholds,
                          [op.scale * w for w in inner.weights], inner.nodes + [producer])
        if isinstance(op, Binarize) and not op.strict:
            return self._sign(g, producer)
        if isinstance(op, FloatThresholds) and op.thresholds.shape[1] > 0:
            channels = op.thresholds.shape[0]
            return _Terms(producer.inputs[0], np.full(channels, float(op.base)), list(op.thresholds.T),
                          [np.ones(channels)] * op.thresholds.shape[1], [producer])
        if isinstance(op, Add):
            parts = [self._terms(g, t, producer) for t in producer.inputs]
            if None in parts or parts[0].x != parts[1].x:
                return None
            first, second = parts
            return _Terms(first.x, first.offset + second.offset, first.thresholds + second.thresholds,
                          first.weights + second.weights, first.nodes + second.nodes + [producer])
        return None

    @staticmethod
    def _sign(g: Graph, binarize: Node) -> _Terms | None:
        """2·[x ≥ t] − 1 for Binarize(Affine(a, c)(x)) with a = 2^k > 0 (t = −c/a, exact), or
        for Binarize(x) (t = 0)."""
        shifted = g.producer(binarize.inputs[0])
        channels = g.types()[binarize.output].shape[0]
        nodes = [binarize]
        x, threshold = binarize.inputs[0], np.zeros(channels)
        if (shifted is not None and isinstance(shifted.op, Affine) and shifted.op.position_bias is None
                and g.consumers(shifted.output) == [binarize]):
            scale = shifted.op.scale
            mantissa, _ = np.frexp(scale)
            if not np.all((scale > 0) & (mantissa == 0.5)):
                return None
            x, threshold, nodes = shifted.inputs[0], -shifted.op.bias / scale, [shifted, binarize]
        return _Terms(x, np.full(channels, -1.0), [threshold], [np.full(channels, 2.0)], nodes)
