"""Thresholds for a dot product with two weight planes (asymmetric ternary weights, TTQ).

The float model computes z = s·(b·P − a·N) + β over the plane sums P = Σ_{w=+1} x and
N = Σ_{w=−1} x, and a quantizer (or a binarisation) of z. With b/a irrational no single
integer accumulator is proportional to b·P − a·N, so the decision moves to integers another
way: integer gains (A, B) and thresholds T_j with

    level(z) ≥ j  ⇔  A·P − B·N ≥ T_j     for every (P, N) in the proven box of plane sums.

For a fixed P, z falls as N grows (float64 rounding is monotone), so each level is decided by
a cut: level ≥ j ⇔ N ≤ cut_j(P). A pair (A, B) works when, for every level, the largest
A·P − B·N of the points above the cuts is smaller than the smallest one of the points on or
below them. The working slopes A/B form an interval around b/a; the pair with the smallest
B in it is a node of the Stern–Brocot path to b/a, found in O(log) feasibility checks per
run of the path's continued fraction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

# Largest gain the engines take: A·P − B·N then needs at most 17 bits more than P and N.
MAX_GAIN = 1 << 16
_NONE = np.iinfo(np.int64).max  # "no point of this kind": a bound that does not bind

LevelsOf = Callable[[np.ndarray], np.ndarray]  # float64 z → integer level (above the base)


@dataclass
class GainedChannel:
    """One channel's float decision: levels(s·(b·P − a·N) + β) for P ∈ [p_lo, p_hi],
    N ∈ [n_lo, n_hi], s ≥ 0 (a negative scale is flipped by the caller first)."""

    levels_of: LevelsOf
    steps: int
    scale: float
    bias: float
    positive_gain: float  # b
    negative_gain: float  # a
    p_lo: int
    p_hi: int
    n_lo: int
    n_hi: int

    def levels(self, p: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The float64 evaluation, in the golden model's order of operations."""
        y = self.positive_gain * p.astype(np.float64) - self.negative_gain * n.astype(np.float64)
        return self.levels_of(y * self.scale + self.bias)

    def cuts(self) -> tuple[np.ndarray, np.ndarray]:
        """(P values, cut (n_steps, |P|)): the largest N with level ≥ j + 1 at each P, or
        n_lo − 1 where no N reaches it; by bisection, as the level falls with N."""
        p = np.arange(self.p_lo, self.p_hi + 1, dtype=np.int64)
        level = np.arange(1, self.steps + 1)[:, None]
        first = np.full((self.steps, len(p)), self.n_lo - 1, np.int64)  # invariant: cut in [first, last]
        last = np.full((self.steps, len(p)), self.n_hi, np.int64)
        while np.any(first < last):
            mid = (first + last + 1) // 2
            reached = self.levels(np.broadcast_to(p, mid.shape), mid) >= level
            first = np.where(reached & (first < last), mid, first)
            last = np.where(~reached & (first < last), mid - 1, last)
        return p, first


def threshold_bounds(p: np.ndarray, cut: np.ndarray, n_lo: int, n_hi: int, a: int, b: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """For integer gains (a, b): per level, (lowest, highest) T with A·P − B·N ≥ T exactly on
    the points on or below the cuts; lowest > highest when no T works."""
    on = cut >= n_lo  # the point (P, cut) is on
    off = cut < n_hi  # the point (P, cut + 1) is off
    on_value = np.where(on, a * p - b * cut, _NONE)
    off_value = np.where(off, a * p - b * (cut + 1), -_NONE)
    return off_value.max(axis=1) + 1, on_value.min(axis=1)


def _feasible(p, cut, n_lo, n_hi, a: int, b: int) -> bool:
    lowest, highest = threshold_bounds(p, cut, n_lo, n_hi, a, b)
    return bool(np.all(lowest <= highest))


def simplest_gains(ratio: Fraction, feasible: Callable[[int, int], bool], max_gain: int = MAX_GAIN
                   ) -> tuple[int, int] | None:
    """The (A, B) with the smallest B (then A) such that feasible(A, B), searched along the
    Stern–Brocot path to ``ratio`` (> 0), whose feasible slopes form an interval around it;
    None when no A, B ≤ max_gain works."""
    num, den = ratio.numerator, ratio.denominator
    lp, lq, rp, rq = 0, 1, 1, 0  # the path's bounds: lp/lq < ratio < rp/rq
    while True:
        mp, mq = lp + rp, lq + rq
        if mp > max_gain or mq > max_gain:
            return None
        if feasible(mp, mq):
            return mp, mq
        if mp * den < num * mq:  # mediant below the ratio: a run of steps to the right
            t_max = (num * lq - lp * den - 1) // (rp * den - num * rq) if rp * den - num * rq else max_gain
            step = lambda t: (lp + t * rp, lq + t * rq)  # noqa: E731
        elif mp * den > num * mq:  # above: a run of steps to the left
            t_max = (rp * den - num * rq - 1) // (num * lq - lp * den)
            step = lambda t: (rp + t * lp, rq + t * lq)  # noqa: E731
        else:
            return None  # the ratio itself fails: the float decisions are no half-plane
        t_max = max(1, min(t_max, max_gain))
        while max(step(t_max)) > max_gain:
            t_max //= 2
        if t_max > 1 and feasible(*step(t_max)):
            lo, hi = 1, t_max  # first feasible t in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if feasible(*step(mid)) else (mid, hi)
            return step(hi)
        if mp * den < num * mq:
            lp, lq = step(t_max)
        else:
            rp, rq = step(t_max)


def fold_gained_channel(channel: GainedChannel, max_gain: int = MAX_GAIN) -> tuple[int, int, np.ndarray] | None:
    """(A, B, thresholds (steps,)) deciding every (P, N) of the box as the float model does,
    with the smallest B; None when no gains up to ``max_gain`` do. Each threshold lies in
    [min, max + 1] of A·P − B·N over the box."""
    p, cut = channel.cuts()
    ratio = Fraction(channel.positive_gain) / Fraction(channel.negative_gain)
    gains = simplest_gains(ratio, lambda a, b: _feasible(p, cut, channel.n_lo, channel.n_hi, a, b), max_gain)
    if gains is None:
        return None
    a, b = gains
    lowest, highest = threshold_bounds(p, cut, channel.n_lo, channel.n_hi, a, b)
    acc_min, acc_max = a * channel.p_lo - b * channel.n_hi, a * channel.p_hi - b * channel.n_lo
    thresholds = np.clip(lowest, acc_min, acc_max + 1)
    assert np.all(thresholds <= highest), "threshold outside its feasible interval"
    return a, b, thresholds


# Boxes up to this many points are also checked point by point.
FULL_CHECK_POINTS = 1 << 21


def check_gained_channel(channel: GainedChannel, a: int, b: int, thresholds: np.ndarray) -> str | None:
    """Exhaustive check: at every P the integer rule's cut equals the float cut (the float
    level falls with N, so equal cuts mean equal decisions at every N); small boxes are also
    compared point by point. Returns a description of the first disagreement, or None."""
    p, cut = channel.cuts()
    # the integer rule: A·P − B·N ≥ T ⇔ N ≤ floor((A·P − T)/B), clamped to the box
    integer_cut = np.clip((a * p[None, :] - thresholds[:, None]) // b, channel.n_lo - 1, channel.n_hi)
    bad = np.argwhere(integer_cut != cut)
    if bad.size:
        j, i = bad[0]
        return f"level {j + 1} at P = {p[i]}: float cut N ≤ {cut[j, i]}, integer cut N ≤ {integer_cut[j, i]}"
    points = len(p) * (channel.n_hi - channel.n_lo + 1)
    if points <= FULL_CHECK_POINTS:
        pp, nn = np.meshgrid(p, np.arange(channel.n_lo, channel.n_hi + 1, dtype=np.int64), indexing="ij")
        folded = ((a * pp - b * nn)[..., None] >= thresholds).sum(axis=-1)
        wrong = np.argwhere(folded != channel.levels(pp, nn))
        if wrong.size:
            i, k = wrong[0]
            return f"at (P, N) = ({pp[i, k]}, {nn[i, k]})"
    return None
