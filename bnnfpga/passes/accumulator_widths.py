"""Prove the reachable range of every dot-product accumulator (docs/DESIGN.md 3.8)."""

import numpy as np

from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import Conv, DotProduct, IntegerAffine, MaxPool, Reshape, Threshold, is_integer_weight
from bnnfpga.ir.patches import conv_weight_rows, im2col
from bnnfpga.passes.base import Pass


def channel_bounds(graph: Graph, tensor: str, types) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel [min, max] of an integer tensor: its type's range, tightened where the
    producer says more (an IntegerAffine of the input adds a per-channel offset)."""
    t = types[tensor]
    lo, hi = np.full(t.shape[0], t.dtype.min, np.int64), np.full(t.shape[0], t.dtype.max, np.int64)
    producer = graph.producer(tensor)
    if producer is not None and isinstance(producer.op, Threshold) and producer.op.base is not None:
        lo = np.full(t.shape[0], producer.op.base, np.int64)  # k-bit levels: base + [0, n]
        hi = lo + producer.op.levels
    if producer is not None and isinstance(producer.op, (MaxPool, Reshape)):
        in_lo, in_hi = channel_bounds(graph, producer.inputs[0], types)
        if isinstance(producer.op, MaxPool) or len(in_lo) == t.shape[0]:
            lo, hi = in_lo, in_hi
        elif t.shape[0] % len(in_lo) == 0:  # flatten (C, H, W) → C·H·W, channel-major
            lo, hi = np.repeat(in_lo, t.shape[0] // len(in_lo)), np.repeat(in_hi, t.shape[0] // len(in_hi))
    if producer is not None and isinstance(producer.op, IntegerAffine):
        in_lo, in_hi = channel_bounds(graph, producer.inputs[0], types)
        q, r = producer.op.scale, producer.op.offset
        lo, hi = q * in_lo + r, q * in_hi + r
    return lo, hi


def reachable_range(op: DotProduct, in_shape: tuple[int, ...], lo, hi, weight: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-row [min, max] of Σ w·x over inputs x with x ∈ [lo[c], hi[c]] per input channel c
    (or scalars) and integer weights w (``op.weight`` unless given), taking zero padding into
    account (a padded tap contributes 0). Each bound is reached by one input."""
    weight = op.weight if weight is None else weight
    c = in_shape[0]
    lo, hi = np.broadcast_to(np.asarray(lo, np.int64), (c,)), np.broadcast_to(np.asarray(hi, np.int64), (c,))
    if isinstance(op, Conv):
        rows = conv_weight_rows(weight)
        _, h, w = in_shape
        _, valid = im2col(np.zeros((1, h, w, c), np.int8), op.kernel, op.strides, op.pads)
        valid = valid.astype(np.int64)  # (positions, K), K ordered (kh, kw, c)
        taps = rows.shape[1] // c
        lo, hi = np.tile(lo, taps), np.tile(hi, taps)
    else:
        rows = weight
        valid = np.ones((1, rows.shape[1]), np.int64)
    w = rows.astype(np.int64)
    pos, neg = np.maximum(w, 0), np.maximum(-w, 0)
    # At each position: max = Σ_{w>0} w·hi − Σ_{w<0} |w|·lo, min = Σ_{w>0} w·lo − Σ_{w<0} |w|·hi.
    acc_max = (valid @ (pos * hi - neg * lo).T).max(axis=0)
    acc_min = (valid @ (pos * lo - neg * hi).T).min(axis=0)
    return acc_min, acc_max


# Residual bounds beyond int64 are stored clamped here, so that sums of two ends and the
# threshold one above the maximum still fit int64: such a layer takes fixed-point gains
# (ResidualGainShift) or is refused.
RESIDUAL_BOUND_CLAMP = 1 << 61


def residual_bounds(op: DotProduct, lo, hi, shift: int) -> list[int]:
    """Per-row bound on |output| of a dot product with residual binarization (docs/DESIGN.md
    5.3), exact Python integers: Σ|w|·max|n^K·x̂| (a proven bound, not the reachable range: x̂
    depends on the whole vector). With the gains in fixed point, ⌊G_k/2^F⌋ for ``shift`` F > 0,
    the output is z/2^F − Σ_k ε_k·W·H_k with 0 ≤ ε_k < 1 and |W·H_k| ≤ Σ|w|, so the bound is
    ⌊Σ|w|·max|n^K·x̂| / 2^F⌋ + K·Σ|w|."""
    largest = int(max(np.abs(np.asarray(lo)).max(), np.abs(np.asarray(hi)).max()))
    rows = conv_weight_rows(op.weight) if isinstance(op, Conv) else op.weight
    magnitude = op.residual_magnitude(largest)
    sums = [int(v) for v in np.abs(rows.astype(np.int64)).sum(axis=1)]
    return [(s * magnitude >> shift) + (op.residual_order * s if shift else 0) for s in sums]


def residual_range(op: DotProduct, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """``residual_bounds`` at the op's gain shift as int64 (−bound, bound), clamped to
    ±``RESIDUAL_BOUND_CLAMP``."""
    bound = np.array([min(b, RESIDUAL_BOUND_CLAMP) for b in residual_bounds(op, lo, hi, op.residual_gain_shift)], np.int64)
    return -bound, bound


def gained_range(gains: np.ndarray, plane_min: np.ndarray, plane_max: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row [min, max] of A·P − B·N with integer gains (A, B) ≥ 0 over the plane ranges."""
    a, b = gains[:, 0].astype(np.int64), gains[:, 1].astype(np.int64)
    return a * plane_min[:, 0] - b * plane_max[:, 1], a * plane_max[:, 0] - b * plane_min[:, 1]


class AccumulatorWidths(Pass):
    """Record per-row reachable accumulator ranges; the accumulator type follows from them.
    A layer with gains gets the ranges of its two plane sums P and N (DotProduct), and an
    accumulator range once its gains are integers."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        types = g.types()
        for node in g.nodes:
            op = node.op
            in_type = types[node.inputs[0]]
            if not isinstance(op, DotProduct) or not is_integer_weight(op.weight) or not in_type.dtype.is_integer:
                continue
            lo, hi = channel_bounds(g, node.inputs[0], types)
            if op.residual_order:
                acc_min, acc_max = residual_range(op, lo, hi)
                node.op = type(op)(**{**vars(op), "acc_min": acc_min, "acc_max": acc_max})
            elif op.gains is not None:
                planes = [reachable_range(op, in_type.shape, lo, hi, (op.weight == sign).astype(np.int8)) for sign in (1, -1)]
                plane_min = np.stack([planes[0][0], planes[1][0]], axis=1)
                plane_max = np.stack([planes[0][1], planes[1][1]], axis=1)
                acc_min, acc_max = (None, None) if op.has_float_gains else gained_range(op.gains, plane_min, plane_max)
                node.op = type(op)(**{**vars(op), "acc_min": acc_min, "acc_max": acc_max,
                                      "plane_min": plane_min, "plane_max": plane_max})
            else:
                acc_min, acc_max = reachable_range(op, in_type.shape, lo, hi)
                node.op = type(op)(**{**vars(op), "acc_min": acc_min, "acc_max": acc_max})
            types = g.types()
        return g
