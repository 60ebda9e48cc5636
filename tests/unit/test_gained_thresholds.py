"""Integer gains and thresholds for two weight planes (asymmetric ternary, TTQ) against an
independent float64 evaluation of every (P, N) in the box."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnnfpga.ir.ops import Quantize
from bnnfpga.passes.gained_thresholds import (
    GainedChannel,
    check_gained_channel,
    fold_gained_channel,
    simplest_gains,
    threshold_bounds,
)

pytestmark = pytest.mark.unit
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None)

finite = dict(allow_nan=False, allow_infinity=False)


def binarize(z):
    return (np.asarray(z) >= 0).astype(np.int64)


def reference_levels(channel: GainedChannel, p: int, n: int) -> int:
    """One Python float operation at a time, in the golden model's order."""
    z = (channel.positive_gain * float(p) - channel.negative_gain * float(n)) * channel.scale + channel.bias
    return int(channel.levels_of(np.array([z]))[0])


def assert_exact(channel: GainedChannel, a: int, b: int, thresholds: np.ndarray) -> None:
    for p in range(channel.p_lo, channel.p_hi + 1):
        for n in range(channel.n_lo, channel.n_hi + 1):
            folded = int(sum(a * p - b * n >= t for t in thresholds))
            assert folded == reference_levels(channel, p, n), (p, n, a, b, thresholds)


@st.composite
def channels(draw):
    steps = draw(st.sampled_from([1, 3]))
    if steps == 1:
        levels_of = binarize
    else:
        quantize = Quantize(qmin=0, qmax=3, rounding="ROUND")
        levels_of = lambda z: quantize.count(z, 0)  # noqa: E731
    p_lo = draw(st.integers(-40, 0))
    n_lo = draw(st.integers(-40, 0))
    p_hi = p_lo + draw(st.integers(0, 60))
    n_hi = n_lo + draw(st.integers(0, 60))
    b = draw(st.floats(0.05, 20, **finite))
    a = draw(st.floats(0.05, 20, **finite))
    scale = draw(st.one_of(st.just(0.0), st.floats(1e-3, 10, **finite)))
    centre = draw(st.floats(-1, 1, **finite)) * (b * max(abs(p_lo), abs(p_hi)) + a * max(abs(n_lo), abs(n_hi)))
    bias = -scale * centre + draw(st.floats(-0.5, 0.5, **finite))
    return GainedChannel(levels_of, steps, scale, bias, b, a, p_lo, p_hi, n_lo, n_hi)


@SETTINGS
@given(channels())
def test_folded_gains_decide_every_point_as_float64(channel):
    folded = fold_gained_channel(channel)
    assert folded is not None
    a, b, thresholds = folded
    assert check_gained_channel(channel, a, b, thresholds) is None
    assert_exact(channel, a, b, thresholds)
    assert np.all(np.diff(thresholds) >= 0)
    acc_min, acc_max = a * channel.p_lo - b * channel.n_hi, a * channel.p_hi - b * channel.n_lo
    assert np.all(thresholds >= acc_min) and np.all(thresholds <= acc_max + 1)


def test_gains_are_the_simplest_that_work():
    # golden ratio on a wide box: the gains are a convergent of it, and smaller ones fail
    channel = GainedChannel(binarize, 1, 1.0, 0.3, (1 + 5**0.5) / 2, 1.0, -100, 100, -100, 100)
    a, b, thresholds = fold_gained_channel(channel)
    assert check_gained_channel(channel, a, b, thresholds) is None
    fibonacci = [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377]
    assert (a, b) in list(zip(fibonacci[1:], fibonacci[:-1]))
    for smaller in range(1, b):
        for numerator in (smaller * a // b, smaller * a // b + 1):
            if numerator > 0:
                p, cut = channel.cuts()
                lo, hi = threshold_bounds(p, cut, channel.n_lo, channel.n_hi, numerator, smaller)
                assert np.any(lo > hi), f"{numerator}/{smaller} would have worked"


def test_a_symmetric_pair_needs_equal_gains():
    channel = GainedChannel(binarize, 1, 0.7, 0.1, 0.25, 0.25, -9, 9, -9, 9)
    a, b, _ = fold_gained_channel(channel)
    assert (a, b) == (1, 1)


def test_simplest_gains_walks_long_runs_quickly():
    calls = []

    def feasible(a, b):
        calls.append((a, b))
        return Fraction(10007, 10) - Fraction(1, 1000) < Fraction(a, b) < Fraction(10007, 10) + Fraction(1, 1000)

    assert simplest_gains(Fraction(1000.7), feasible) == (10007, 10)
    assert len(calls) < 80
    assert simplest_gains(Fraction(1000.7), lambda a, b: False, max_gain=1 << 12) is None


def test_check_reports_a_wrong_threshold():
    channel = GainedChannel(binarize, 1, 1.0, -0.5, 1.37, 0.61, 0, 20, 0, 20)
    a, b, thresholds = fold_gained_channel(channel)
    assert check_gained_channel(channel, a, b, thresholds + 1) is not None
    assert check_gained_channel(channel, a + 1, b, thresholds) is not None
