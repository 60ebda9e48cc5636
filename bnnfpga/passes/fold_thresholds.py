"""Fold the affine and binarisation behind a dot product into integer thresholds (docs/DESIGN.md 3.3)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from bnnfpga.errors import ModelError
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, Binarize, DotProduct, LevelQuantizer, Threshold
from bnnfpga.passes.accumulator_widths import gained_range
from bnnfpga.passes.base import Pass
from bnnfpga.passes.gained_thresholds import MAX_GAIN, GainedChannel, check_gained_channel, fold_gained_channel


class ThresholdCheckError(AssertionError):
    """The folded threshold disagrees with the float evaluation: a bug in bnnfpga."""


# The checks try every reachable accumulator value up to this many; beyond (the first layer
# behind 16-bit input gains reaches ~10^9 values) they try both ends, a window around every
# threshold, and evenly spaced values in between: z = fl(fl(s·y) + b) is monotone in y
# (IEEE-754 rounding is), so a decision can only change where a threshold says it does.
EXHAUSTIVE_CHECK_VALUES = 1 << 20
CHECK_WINDOW = 4096
CHECK_SPREAD = 1 << 16


def checked_values(lo: int, hi: int, flipped: bool, thresholds) -> np.ndarray:
    """The accumulator values y ∈ [lo, hi] a check evaluates (all of them when few enough);
    ``thresholds`` are in the y' domain (y' = −y when flipped)."""
    if hi - lo + 1 <= EXHAUSTIVE_CHECK_VALUES:
        return np.arange(lo, hi + 1, dtype=np.int64)
    steps = [-int(t) if flipped else int(t) for t in np.ravel(thresholds)]
    parts = [np.arange(lo, lo + CHECK_WINDOW), np.arange(hi - CHECK_WINDOW + 1, hi + 1),
             np.linspace(lo, hi, CHECK_SPREAD).astype(np.int64)]
    parts += [np.arange(max(lo, t - CHECK_WINDOW), min(hi, t + CHECK_WINDOW) + 1) for t in steps]
    return np.unique(np.concatenate(parts).astype(np.int64))


def float_decisions(scale: float, bias: float, strict: bool, y: np.ndarray) -> np.ndarray:
    """The reference: out = +1 where scale·y + bias ≥ 0 (> 0 when strict), evaluated in float64
    exactly as the golden model evaluates the unfolded Affine → Binarize."""
    z = scale * y.astype(np.float64) + bias
    return z > 0 if strict else z >= 0


def fold_channel(scale: float, bias: float, strict: bool, lo: int, hi: int) -> tuple[bool, int, int]:
    """For z = scale·y + bias and out = +1 ⇔ z ≥ 0 (z > 0 when ``strict``), over integers
    y ∈ [lo, hi]: returns (flipped, T, constant) such that out = +1 ⇔ y' ≥ T with y' = −y
    when flipped, else y' = y; ``constant`` is ±1 for a scale of 0, else 0.

    T comes from τ = −bias/scale computed exactly with Fractions of the float64 values; where
    float64 rounding of scale·y + bias lands on the other side of 0 than the exact value (a
    tie within one rounding step), T moves by one to follow the float64 evaluation, which is
    monotone in y and is what the unfolded graph computes."""
    if scale == 0:
        on = bias > 0 if strict else bias >= 0
        return False, (lo if on else hi + 1), (1 if on else -1)
    flipped = scale < 0
    tau = -Fraction(bias) / Fraction(abs(scale))  # out = +1 ⇔ y' ≥ τ (or > τ)
    t = math.floor(tau) + 1 if strict else math.ceil(tau)
    y_lo, y_hi = (-hi, -lo) if flipped else (lo, hi)
    t = min(max(t, y_lo), y_hi + 1)

    def on(y_prime: int) -> bool:
        return bool(float_decisions(scale, bias, strict, np.array([-y_prime if flipped else y_prime]))[0])

    while t > y_lo and on(t - 1):
        t -= 1
    while t <= y_hi and not on(t):
        t += 1
    return flipped, t, 0


def check_channel(scale: float, bias: float, strict: bool, lo: int, hi: int, flipped: bool, t: int) -> None:
    """Check over the reachable y (every one, or checked_values'): the threshold decision
    equals the float64 evaluation of scale·y + bias."""
    y = checked_values(lo, hi, flipped, [t])
    folded = (-y if flipped else y) >= t
    bad = np.flatnonzero(float_decisions(scale, bias, strict, y) != folded)
    if bad.size:
        raise ThresholdCheckError(f"threshold {t} disagrees with z = {scale!r}·y + {bias!r} at y = {y[bad[0]]}")


def quantize_levels(quantize: LevelQuantizer, scale: np.ndarray, bias: np.ndarray, y: np.ndarray, channel) -> np.ndarray:
    """The reference for k-bit outputs: the levels of quantize(scale·y + bias) above its
    base, evaluated in float64 exactly as the golden model evaluates the unfolded Affine →
    quantizer. ``scale``, ``bias``, ``y`` and ``channel`` (indices) broadcast together."""
    return quantize.count(scale * y.astype(np.float64) + bias, channel)


def fold_levels(quantize: LevelQuantizer, scale: np.ndarray, bias: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                channels_of_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For z = scale[c]·y + bias[c] and q = quantize(z), over integers y ∈ [lo[c], hi[c]]:
    returns (flipped (C,), thresholds (C, n)) with n = ``quantize.steps`` such that
    q − base = #{j : y' ≥ T[c, j]}, y' = −y on flipped channels (negative scale). Each T is
    the smallest y' whose level reaches j + 1, found by bisection on the float64 evaluation
    (monotone in y'); y_hi + 1 where no y' reaches it. A scale of 0 gives a constant channel:
    its thresholds sit at the ends of the range. ``channels_of_rows`` names the quantizer
    channel of each row where the rows are not the channels themselves (border classes)."""
    channels, n = len(scale), quantize.steps
    flipped = scale < 0
    y_lo = np.where(flipped, -hi, lo).astype(np.int64)
    y_hi = np.where(flipped, -lo, hi).astype(np.int64)
    sign = np.where(flipped, -1.0, 1.0)
    level = np.arange(1, n + 1)[None, :]  # T[c, j] for level j + 1
    first = np.repeat(y_lo[:, None], n, axis=1)  # invariant: answer in [first, last]
    last = np.repeat(y_hi[:, None] + 1, n, axis=1)
    rows = np.arange(channels) if channels_of_rows is None else channels_of_rows
    s, b, sg, channel = scale[:, None], bias[:, None], sign[:, None], rows[:, None]
    while np.any(first < last):
        mid = first + (last - first) // 2  # no int64 overflow near the ends of a wide range
        reached = quantize_levels(quantize, s, b, sg * mid, channel) >= level
        last = np.where(reached & (first < last), mid, last)
        first = np.where(~reached & (first < last), mid + 1, first)
    return flipped, first


def check_levels(quantize: LevelQuantizer, channel: int, scale: float, bias: float, lo: int, hi: int, flipped: bool,
                 t: np.ndarray) -> None:
    """Check of one channel over the reachable y (every one, or checked_values'): the count of
    thresholds reached equals the float64 level."""
    y = checked_values(lo, hi, flipped, t)
    folded = ((-y if flipped else y)[:, None] >= t[None, :]).sum(axis=1)
    bad = np.flatnonzero(quantize_levels(quantize, scale, bias, y, channel) != folded)
    if bad.size:
        raise ThresholdCheckError(f"thresholds {t.tolist()} disagree with {type(quantize).__name__}({scale!r}·y + {bias!r}) "
                                  f"on channel {channel} at y = {y[bad[0]]}")


def exact_zero_inputs(scale: float, bias: float, lo: int, hi: int, step: int = 1) -> bool:
    """Whether some reachable y ∈ {lo, lo + step, …, hi} gives scale·y + bias == 0 exactly
    (a Sign tie). ``step`` is 2 for ±1 dot products without padding: y ≡ fan-in (mod 2)."""
    if scale == 0:
        return bias == 0
    tau = -Fraction(bias) / Fraction(scale)
    return tau.denominator == 1 and lo <= tau <= hi and (int(tau) - lo) % step == 0


class FoldThresholds(Pass):
    """[Affine] → Binarize (or a Quantize or FloatThresholds) on integers becomes Threshold
    (one per channel, or one per level step with the quantizer's base). Behind a dot product, rows whose scale is negative
    are negated (flipped) so that every threshold reads y ≥ T. On other integer tensors (the
    raw input, an integer pool) a negative scale cannot be flipped."""

    def apply(self, graph: Graph) -> Graph:
        g = graph.copy()
        for binarize in [n for n in g.nodes if isinstance(n.op, (Binarize, LevelQuantizer))]:
            source = g.producer(binarize.inputs[0])
            affine = source if source is not None and isinstance(source.op, Affine) and g.only_consumer(source.output) is binarize else None
            values = affine.inputs[0] if affine is not None else binarize.inputs[0]
            producer = g.producer(values)
            if producer is not None and isinstance(producer.op, DotProduct):
                if g.only_consumer(values) is not (affine or binarize):
                    continue
                if producer.op.has_float_gains and producer.op.plane_min is not None:
                    if affine is not None and affine.op.position_bias is not None:
                        raise ModelError(
                            "asymmetric ternary weights in a zero-padded convolution of an offset input (its offset "
                            "differs at the border positions) are not supported; supported: symmetric weights there, "
                            "or an input without offset",
                            producer.source, type(producer.op).__name__)
                    self._fold_gained(g, producer, values, affine, binarize)
                    continue
                if producer.op.acc_min is None:
                    continue
                lo, hi = producer.op.acc_min, producer.op.acc_max
                if affine is not None and affine.op.position_bias is not None:
                    self._fold_positions(g, producer, values, lo, hi, affine, binarize)
                    continue
            else:
                dtype = g.types()[values].dtype
                if not dtype.is_integer:
                    continue
                channels = g.types()[values].shape[0]
                lo, hi = np.full(channels, dtype.min), np.full(channels, dtype.max)
                producer = None
            self._fold(g, producer, values, lo, hi, affine, binarize)
        return g

    @staticmethod
    def _fold(g: Graph, dot: Node | None, values: str, acc_min, acc_max, affine: Node | None, binarize: Node) -> None:
        channels = len(acc_min)
        scale = affine.op.scale if affine is not None else np.ones(channels)
        bias = affine.op.bias if affine is not None else np.zeros(channels)
        if dot is None and np.any(scale < 0):
            raise ModelError(
                "binarisation with a negative scale directly on the input (or on a pooled integer tensor) "
                "cannot be flipped into a dot product; supported: a non-negative scale there",
                (affine or binarize).source,
                f"Affine+{type(binarize.op).__name__}",
            )
        step = 1 if isinstance(binarize.op, LevelQuantizer) else FoldThresholds._tie_step(g, dot, values)
        thresholds, constant = FoldThresholds._fold_rows(g, binarize, scale.astype(np.float64), bias.astype(np.float64),
                                                         np.asarray(acc_min, np.int64), np.asarray(acc_max, np.int64),
                                                         np.arange(channels), step)
        base = binarize.op.base if isinstance(binarize.op, LevelQuantizer) else None
        FoldThresholds._replace(g, dot, values, scale < 0, affine, binarize,
                                Threshold(thresholds=thresholds, constant=constant, base=base))

    @staticmethod
    def _tie_step(g: Graph, dot: Node | None, values: str) -> int:
        """The spacing of the reachable values a binarisation sees (exact_zero_inputs)."""
        if dot is not None and g.types()[dot.inputs[0]].dtype.kind == "bipolar" and not any(getattr(dot.op, "pads", ())):
            return 2  # a sum of fan-in ±1 terms has the parity of the fan-in
        if dot is None and g.types()[values].dtype.kind == "bipolar":
            return 2  # the values themselves are ±1: never 0
        return 1

    @staticmethod
    def _fold_positions(g: Graph, dot: Node, values: str, acc_min, acc_max, affine: Node, binarize: Node) -> None:
        """Thresholds per output position, for an affine whose offset differs at the border
        positions (docs/DESIGN.md 3.4): each channel is folded once per distinct offset (a
        border class) and every position takes its class's thresholds. Checked like the
        per-channel case; a constant channel keeps its thresholds at the range ends."""
        scale = affine.op.scale.astype(np.float64)
        offsets = affine.op.offset().astype(np.float64)  # (C, H, W)
        channels = len(scale)
        classes = [np.unique(offsets[c].reshape(-1), return_inverse=True) for c in range(channels)]
        row_channel = np.concatenate([np.full(len(values_c), c) for c, (values_c, _) in enumerate(classes)])
        row_bias = np.concatenate([values_c for values_c, _ in classes])
        lo, hi = np.asarray(acc_min, np.int64)[row_channel], np.asarray(acc_max, np.int64)[row_channel]
        # a padded conv: y takes every integer of its range, so a Sign tie has step 1
        row_thresholds, _ = FoldThresholds._fold_rows(g, binarize, scale[row_channel], row_bias, lo, hi, row_channel, 1)
        first_row = np.concatenate([[0], np.cumsum([len(values_c) for values_c, _ in classes])[:-1]])
        positions = offsets.shape[1:]
        thresholds = np.stack([row_thresholds[first_row[c] + inverse.reshape(positions)]
                               for c, (_, inverse) in enumerate(classes)])
        base = binarize.op.base if isinstance(binarize.op, LevelQuantizer) else None
        threshold = Threshold(thresholds=thresholds, constant=np.zeros(channels, np.int8), base=base)
        FoldThresholds._replace(g, dot, values, scale < 0, affine, binarize, threshold)

    @staticmethod
    def _fold_rows(g: Graph, binarize: Node, scale: np.ndarray, bias: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   channel_of_rows: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Fold quantizer(scale[r]·y + bias[r]) over y ∈ [lo[r], hi[r]] for every row r (a
        channel, or one border class of a channel; ``channel_of_rows`` names its channel) and
        check each: (thresholds (R, n), constant (R,), ±1 where a bipolar row's scale is 0).
        Rows with a negative scale read y' = −y. ``step`` is the spacing of reachable y for the
        Sign-tie warning (exact_zero_inputs)."""
        quantizer = binarize.op
        rows = len(scale)
        if isinstance(quantizer, LevelQuantizer):
            flipped, thresholds = fold_levels(quantizer, scale, bias, lo, hi, channel_of_rows)
            for r, c in enumerate(channel_of_rows):
                check_levels(quantizer, int(c), float(scale[r]), float(bias[r]), int(lo[r]), int(hi[r]), bool(flipped[r]),
                             thresholds[r])
            return thresholds, np.zeros(rows, np.int8)
        thresholds = np.zeros((rows, 1), np.int64)
        constant = np.zeros(rows, np.int8)
        ties = set()
        for r, c in enumerate(channel_of_rows):
            args = float(scale[r]), float(bias[r]), quantizer.strict, int(lo[r]), int(hi[r])
            flipped, thresholds[r, 0], constant[r] = fold_channel(*args)
            check_channel(*args, flipped, int(thresholds[r, 0]))
            if quantizer.onnx_sign and exact_zero_inputs(args[0], args[1], args[3], args[4], step):
                ties.add(int(c))
        if ties:
            named = sorted(ties)
            g.notes.append(
                f"warning: node {binarize.source!r} (Sign): channels {named[:8]}{'…' if len(named) > 8 else ''} can see "
                "an input of exactly 0, where ONNX Sign outputs 0 and bnnfpga outputs +1"
            )
        return thresholds, constant

    @staticmethod
    def _fold_gained(g: Graph, dot: Node, values: str, affine: Node | None, binarize: Node) -> None:
        """Two weight planes with float gains (b, a) → integer gains (A, B) and thresholds
        on A·P − B·N (gained_thresholds). A row with a negative scale is flipped: its codes
        are negated and its gains and plane ranges swap, so that its scale is positive."""
        op: DotProduct = dot.op
        channels = op.out_channels
        scale = affine.op.scale.astype(np.float64) if affine is not None else np.ones(channels)
        bias = affine.op.bias.astype(np.float64) if affine is not None else np.zeros(channels)
        flipped = scale < 0
        order = np.where(flipped[:, None], [1, 0], [0, 1])  # flipped rows: (P, N) and (b, a) swap
        float_gains = np.take_along_axis(op.gains, order, axis=1)
        plane_min = np.take_along_axis(op.plane_min, order, axis=1)
        plane_max = np.take_along_axis(op.plane_max, order, axis=1)
        quantizer = binarize.op
        steps = 1 if isinstance(quantizer, Binarize) else quantizer.steps
        gains = np.zeros((channels, 2), np.int64)
        thresholds = np.zeros((channels, steps), np.int64)
        for c in range(channels):
            if isinstance(quantizer, Binarize):
                def levels_of(z, strict=quantizer.strict):
                    return (z > 0 if strict else z >= 0).astype(np.int64)
            else:
                def levels_of(z, channel=c):
                    return quantizer.count(z, channel)
            channel = GainedChannel(levels_of, steps, abs(float(scale[c])), float(bias[c]), float(float_gains[c, 0]),
                                    float(float_gains[c, 1]), int(plane_min[c, 0]), int(plane_max[c, 0]),
                                    int(plane_min[c, 1]), int(plane_max[c, 1]))
            folded = fold_gained_channel(channel)
            if folded is None:
                raise ModelError(
                    f"asymmetric ternary weights: no integer gains up to {MAX_GAIN} reproduce the float decisions of "
                    f"output channel {c} (gains {float_gains[c, 0]!r}, {float_gains[c, 1]!r}); supported: ternary rows "
                    "{−a, 0, +b} whose decisions are a half-plane in the two plane sums",
                    dot.source, type(op).__name__)
            a, b, t = folded
            problem = check_gained_channel(channel, a, b, t)
            if problem is not None:
                raise ThresholdCheckError(f"gains ({a}, {b}) and thresholds {t.tolist()} disagree with the float model "
                                          f"on channel {c}: {problem}")
            gains[c], thresholds[c] = (a, b), t
        weight = np.where(flipped.reshape((-1,) + (1,) * (op.weight.ndim - 1)), -op.weight, op.weight).astype(np.int8)
        acc_min, acc_max = gained_range(gains, plane_min, plane_max)
        dot.op = type(op)(**{**vars(op), "weight": weight, "flipped": flipped, "gains": gains, "plane_min": plane_min,
                             "plane_max": plane_max, "acc_min": acc_min, "acc_max": acc_max})
        base = None if isinstance(quantizer, Binarize) else quantizer.base
        FoldThresholds._replace(g, None, values, flipped, affine, binarize,
                                Threshold(thresholds=thresholds, constant=np.zeros(channels, np.int8), base=base))

    @staticmethod
    def _replace(g: Graph, dot: Node | None, values: str, flipped: np.ndarray, affine: Node | None, binarize: Node,
                 threshold: Threshold) -> None:
        """Negate the flipped rows of the dot product and put the threshold in place of the
        affine and the binarisation."""
        if dot is not None:
            op: DotProduct = dot.op
            sign = np.where(flipped, -1, 1)
            weight = (op.weight * sign.reshape((-1,) + (1,) * (op.weight.ndim - 1))).astype(op.weight.dtype)
            # a flipped row of weight bases negates its gains, not its bases: weight stays Σ gains·bases
            base_gains = None if op.base_gains is None else (op.base_gains * sign[:, None]).astype(op.base_gains.dtype)
            dot.op = type(op)(**{**vars(op), "weight": weight, "base_gains": base_gains, "flipped": flipped,
                                 "acc_min": np.where(flipped, -op.acc_max, op.acc_min),
                                 "acc_max": np.where(flipped, -op.acc_min, op.acc_max)})
        binarize.op = threshold
        binarize.inputs = (values,)
        if affine is not None:
            binarize.source = f"{affine.source}+{binarize.source}"
            g.nodes.remove(affine)
            g.onnx_tensors.pop(affine.output, None)
