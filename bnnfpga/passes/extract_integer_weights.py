"""Recognise integer weights by their values: every output row is s_r times small integers."""

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, DotProduct, is_integer_weight, weight_type
from bnnfpga.ir.types import NARROW_WEIGHT_BITS, signed_width
from bnnfpga.passes.base import Pass

# Widest integer weights: |q| ≤ 2^(bits−1) − 1, so that a flipped (negated) row still fits.
MAX_WEIGHT_BITS = 8
# Largest exponent of a power-of-two row (INQ): |q| ≤ 2^14, so that the weights fit int16
# with room to negate a flipped row.
MAX_POWER_OF_TWO_EXPONENT = 14
# A k-bit grid is accepted when every weight is within this fraction of the grid step s of
# s·q: float32 exporters compute s·q in float32, which rounds at 2^-24 relative.
GRID_TOLERANCE = 2.0**-16


def split_binary_rows(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """weight (O, ...) = s[:, None] · B with B ∈ {−1, 0, +1} and s ≥ 0 (every non-zero weight
    of a row has the same magnitude: binary, or ternary as TWN), or None. Exact. A row of
    zeros (batchnorm γ = 0 folded in by the exporter) has s = 0 and weights +1, so that a
    binary layer stays binary."""
    rows = weight.reshape(weight.shape[0], -1)
    magnitude = np.abs(rows)
    scale = magnitude.max(axis=1)
    if not np.all((magnitude == scale[:, None]) | (magnitude == 0)):
        return None
    signs = np.sign(rows).astype(np.int8)
    signs[scale == 0] = 1
    return signs.reshape(weight.shape), scale


def split_integer_rows(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """weight (O, ...) = s[:, None] · Q with integers |Q| < 2^(MAX_WEIGHT_BITS−1) (a k-bit
    grid per row, as DoReFa/INQ-style quantizers and asymmetric ternary rows {−a, 0, +b}
    with b/a rational), to within GRID_TOLERANCE of the step; or None. The step of each row is
    its smallest non-zero magnitude divided by the smallest d that puts the row on the grid."""
    exact = split_binary_rows(weight)
    if exact is not None:
        return exact
    rows = weight.reshape(weight.shape[0], -1).astype(np.float64)
    magnitude = np.abs(rows)
    smallest = np.where(magnitude > 0, magnitude, np.inf).min(axis=1)
    smallest[~np.isfinite(smallest)] = 1.0
    limit = (1 << (MAX_WEIGHT_BITS - 1)) - 1
    step = np.zeros(len(rows))
    unsolved = np.ones(len(rows), bool)
    for d in range(1, limit + 1):
        s = smallest[unsolved] / d
        q = np.round(rows[unsolved] / s[:, None])
        ok = np.all(np.abs(q * s[:, None] - rows[unsolved]) <= GRID_TOLERANCE * s[:, None], axis=1)
        ok &= np.all(np.abs(q) <= limit, axis=1)
        idx = np.flatnonzero(unsolved)[ok]
        step[idx] = s[ok]
        unsolved[idx] = False
        if not unsolved.any():
            break
    if unsolved.any():
        return None
    q = np.round(rows / step[:, None]).astype(np.int8).reshape(weight.shape)
    return q, step


def split_power_of_two_rows(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """weight (O, ...) = s[:, None] · Q with every non-zero |Q| a power of two up to
    2^MAX_POWER_OF_TWO_EXPONENT (INQ: {0, ±2^n1, …, ±2^n2} per layer, batchnorm folded in per
    row), s the row's smallest non-zero magnitude; or None. Exact: the ratio of two float
    weights is a power of two only if their significands are equal. Q is int8 where it fits,
    else int16."""
    rows = weight.reshape(weight.shape[0], -1).astype(np.float64)
    magnitude = np.abs(rows)
    smallest = np.where(magnitude > 0, magnitude, np.inf).min(axis=1)
    smallest[~np.isfinite(smallest)] = 1.0
    significand, exponent = np.frexp(magnitude)
    base_significand, base_exponent = np.frexp(smallest)
    nonzero = magnitude > 0
    shift = exponent - base_exponent[:, None]
    if not np.all(~nonzero | ((significand == base_significand[:, None]) & (shift <= MAX_POWER_OF_TWO_EXPONENT))):
        return None
    q = np.where(nonzero, np.sign(rows) * np.exp2(np.where(nonzero, shift, 0)), 0)
    dtype = np.int8 if np.abs(q).max(initial=0) <= 127 else np.int16
    return q.astype(dtype).reshape(weight.shape), smallest


def split_asymmetric_ternary_rows(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """weight (O, ...) with every row in {−a, 0, +b}, a, b > 0 (TTQ: two trained scales per
    layer, batchnorm folded in per row) → (codes in {−1, 0, +1}, gains (O, 2) = (b, a)), or
    None. Exact. A row with one sign only gets equal gains."""
    rows = weight.reshape(weight.shape[0], -1).astype(np.float64)
    positive = np.where(rows > 0, rows, -np.inf).max(axis=1)
    negative = np.where(rows < 0, -rows, -np.inf).max(axis=1)
    if not np.all((rows == 0) | (rows == positive[:, None]) | (rows == -negative[:, None])):
        return None
    positive = np.where(np.isfinite(positive), positive, negative)
    negative = np.where(np.isfinite(negative), negative, positive)
    empty = ~np.isfinite(positive)  # an all-zero row
    gains = np.stack([np.where(empty, 1.0, positive), np.where(empty, 1.0, negative)], axis=1)
    return np.sign(rows).astype(np.int8).reshape(weight.shape), gains


def split_weights(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray] | None:
    """Float weights → (integer weights, gains or None, per-row scale), or None: a narrow
    k-bit grid (≤ NARROW_WEIGHT_BITS), else asymmetric ternary rows with gains (the two-plane
    datapath costs less than a wide grid, and takes any ratio b/a), else powers of two (INQ,
    up to 2^MAX_POWER_OF_TWO_EXPONENT), else a wider grid (the engines take up to
    MAX_ENGINE_WEIGHT_BITS; the golden model runs any, and the hardware backends refuse wider
    ones with a clear message)."""
    grid = split_integer_rows(weight)
    if grid is not None and signed_width(int(grid[0].min(initial=0)), int(grid[0].max(initial=0))).bits <= NARROW_WEIGHT_BITS:
        return grid[0], None, grid[1]
    asymmetric = split_asymmetric_ternary_rows(weight)
    if asymmetric is not None:
        return asymmetric[0], asymmetric[1], np.ones(weight.shape[0])
    powers = split_power_of_two_rows(weight)
    if powers is not None:
        return powers[0], None, powers[1]
    return None if grid is None else (grid[0], None, grid[1])


class ExtractIntegerWeights(Pass):
    """Float weights W = s·Q (+ bias) become integer weights Q (±1, ternary or k-bit)
    followed by Affine(s, bias); asymmetric ternary rows become ternary codes with gains."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        out: list[Node] = []
        for node in g.nodes:
            op = node.op
            out.append(node)
            if not isinstance(op, DotProduct) or is_integer_weight(op.weight):
                continue
            split = split_weights(op.weight)
            if split is None:
                raise ModelError(self._not_integer(op), node.source, type(op).__name__)
            weight, gains, scale = split
            if gains is not None:
                g.notes.append(f"node {node.source!r}: asymmetric ternary weights {{−a, 0, +b}} (TTQ), "
                               "computed as b·P − a·N over two weight planes")
            elif weight_type(weight).kind == "pow2":
                exponents = sorted({int(v).bit_length() - 1 for v in np.unique(np.abs(weight)) if v})
                g.notes.append(f"node {node.source!r}: power-of-two weights (INQ) ±2^e·s per row, e in "
                               f"{{{', '.join(map(str, exponents))}}}: shift-and-add, no multipliers")
            elif not np.all(np.abs(weight) <= 1):
                g.notes.append(f"node {node.source!r}: weights read as {len(np.unique(weight))}-level integers "
                               f"times a per-row step (largest |q| = {int(np.abs(weight).max())})")
            bias = op.bias if op.bias is not None else np.zeros(op.out_channels)
            node.op = type(op)(**{**vars(op), "weight": weight, "bias": None, "gains": gains})
            if np.all(scale == 1) and np.all(bias == 0):
                continue
            acc = g.fresh_name(f"{node.name}_acc")
            affine = Node(g.fresh_name(f"{node.name}_scale"), Affine(scale=scale.astype(np.float64), bias=bias.astype(np.float64)), (acc,), node.output, node.source)
            node.output = acc
            out.append(affine)
        g.nodes = out
        return g

    @staticmethod
    def _not_integer(op: DotProduct) -> str:
        rows = op.weight.reshape(op.out_channels, -1)
        bad = next((r for r in range(len(rows)) if split_weights(rows[r : r + 1]) is None), 0)
        values = np.unique(rows[bad])
        shown = ", ".join(f"{v:g}" for v in values[:6]) + (", …" if len(values) > 6 else "")
        return (
            f"weights are not binary, ternary or k-bit: output channel {bad} takes {len(values)} distinct values ({shown}); "
            f"supported: each output channel's weights are s·q with integers |q| ≤ {(1 << (MAX_WEIGHT_BITS - 1)) - 1} "
            "(±s binary, {−s, 0, +s} ternary, or a k-bit grid), {−a, 0, +b} (asymmetric ternary, TTQ), "
            f"or {{0, ±s·2^e}} with 0 ≤ e ≤ {MAX_POWER_OF_TWO_EXPONENT} (powers of two, INQ)"
        )
