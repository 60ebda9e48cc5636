"""Fixed-point gains for residual binarizations whose exact accumulator passes its bound
(docs/DESIGN.md 5.3)."""

import dataclasses

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import DotProduct, OutputAffine, Threshold
from bnnfpga.ir.types import signed_width
from bnnfpga.ir.verify import MAX_RESIDUAL_GAIN_BITS, accumulator_limit
from bnnfpga.passes.accumulator_widths import channel_bounds, residual_bounds, residual_range
from bnnfpga.passes.base import Pass


def width_of(bounds: list[int]) -> int:
    """Two's-complement bits of the range ±max(bounds)."""
    largest = max(bounds, default=0)
    return signed_width(-largest, largest).bits


def shifted_threshold(t: np.ndarray, lo: int, hi: int, new_lo: int, new_hi: int, shift: int) -> np.ndarray:
    """Thresholds on the exact output z (out steps where z ≥ T) as thresholds on the shifted
    output z' ≈ z/2^F: z'·2^F ≥ T ⇔ z' ≥ ⌈T/2^F⌉ (z' is an integer), which is also what folding
    the affine scaled by 2^F gives, since ⌈⌈τ⌉/2^F⌉ = ⌈τ/2^F⌉. A threshold at an end of the old
    range (a step always or never taken) goes to the same end of the new one."""
    t = np.asarray(t, np.int64)
    ceiling = -(-t >> shift)
    return np.where(t > hi, new_hi + 1, np.where(t <= lo, new_lo, ceiling)).astype(np.int64)


class ResidualGainShift(Pass):
    """A dot product with residual binarization whose proven accumulator bound passes its limit
    (``accumulator_limit``: 48 bits read by thresholds, 32 streamed to the host) takes its
    per-vector gains G_k = A_k·n^(K−k) as ⌊G_k/2^F⌋, F the smallest shift that fits; the
    thresholds behind become ⌈T/2^F⌉ and a host affine behind is scaled by 2^F.

    Unlike the other passes this one changes what the layer computes (the decisions are those
    of the exact model on z' ≈ z/2^F, off by less than 2^F·K·Σ|w|): a warning note names the
    layer, F and that error relative to the layer's range. A layer whose exact sums A_k would
    need more than ``MAX_RESIDUAL_GAIN_BITS`` is refused, naming it."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        types = g.types()
        for node in g.nodes:
            op = node.op
            if not isinstance(op, DotProduct) or not op.residual_order or op.acc_min is None:
                continue
            # the sums' registers are sized by the input type (hw/engines.residual_widths), not by
            # the tighter channel bounds: the one check for the golden model and the backends
            gain_bits = (op.fan_in**op.residual_order * types[node.inputs[0]].dtype.magnitude).bit_length()
            if gain_bits > MAX_RESIDUAL_GAIN_BITS:
                raise ModelError(
                    f"residual binarization of order {op.residual_order} over vectors of {op.fan_in} values: its exact "
                    f"sums of |residual| need {gain_bits} bits, more than {MAX_RESIDUAL_GAIN_BITS} (docs/DESIGN.md 5.3); "
                    "supported: a lower order or shorter vectors",
                    node.source or node.name, type(op).__name__)
            lo, hi = channel_bounds(g, node.inputs[0], types)
            limit = accumulator_limit(g, node)
            exact = residual_bounds(op, lo, hi, 0)
            if width_of(exact) <= limit:
                continue
            largest = int(max(np.abs(lo).max(), np.abs(hi).max()))
            shift = next((f for f in range(1, gain_bits + 1) if width_of(residual_bounds(op, lo, hi, f)) <= limit), gain_bits)
            self._shift(g, node, shift, lo, hi)
            error = float((1 << shift) * op.residual_order / op.residual_magnitude(largest))
            g.notes.append(
                f"warning: node {node.source or node.name!r}: order-{op.residual_order} residual binarization over "
                f"{op.fan_in} values would need a {width_of(exact)}-bit accumulator, more than {limit}; its gains "
                f"A_k·n^(K−k) ({gain_bits} bits) are taken as ⌊G_k/2^{shift}⌋ (fixed-point β), which moves the layer's "
                f"output by less than {error:.1e} of its range: its decisions can differ from the exact model's within "
                "that margin (docs/DESIGN.md 5.3)")
        return g

    @staticmethod
    def _shift(g: Graph, node: Node, shift: int, lo, hi) -> None:
        op = node.op
        old_lo, old_hi = op.acc_min, op.acc_max
        shifted = type(op)(**{**vars(op), "residual_gain_shift": shift})
        new_lo, new_hi = residual_range(shifted, lo, hi)
        node.op = type(op)(**{**vars(shifted), "acc_min": new_lo, "acc_max": new_hi})
        for reader in g.consumers(node.output):
            r = reader.op
            if isinstance(r, Threshold):
                view = (-1,) + (1,) * (r.thresholds.ndim - 1)
                t = shifted_threshold(r.thresholds, old_lo.reshape(view), old_hi.reshape(view), new_lo.reshape(view),
                                      new_hi.reshape(view), shift)
                reader.op = dataclasses.replace(r, thresholds=t)
            elif isinstance(r, OutputAffine):
                reader.op = dataclasses.replace(r, scale=r.scale * float(1 << shift))
            else:
                raise ModelError(
                    f"residual binarization of order {op.residual_order} over vectors of {op.fan_in} values needs "
                    "fixed-point gains, which bnnfpga applies with a binarisation, a quantizer or the output behind the "
                    f"layer, not a {type(r).__name__}", node.source or node.name, type(op).__name__)
