"""fold_channel / check_channel against exact evaluation (docs/DESIGN.md 3.3).

A batchnorm z = γ(y − μ)/sqrt(σ² + ε) + β on an integer accumulator y is the affine
z = scale·y + bias with scale = γ/sqrt(σ² + ε) and bias = β − μ·scale (float64). The
reference decision is the float64 evaluation of scale·y + bias (what the golden model
computes before folding), out = +1 ⟺ z ≥ 0 (z > 0 when strict). For every reachable y the
folded decision must agree with it, and may differ from the exact (Fraction) decision only
where the exact z is within float64 rounding of 0.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bnnfpga.passes.fold_thresholds import ThresholdCheckError, check_channel, exact_zero_inputs, fold_channel

SETTINGS = settings(max_examples=250, deadline=None, derandomize=True, database=None)

finite = dict(allow_nan=False, allow_infinity=False)
special = st.sampled_from([0.0, -0.0, 1e-30, -1e-30, 5e-324, -5e-324, 1e-300, 1.0, -1.0, 0.1, -0.1, 3.0, 1e30, -1e30])
gammas = st.one_of(special, st.floats(-100, 100, **finite), st.floats(-1e-20, 1e-20, **finite))
betas = st.one_of(special, st.floats(-1e4, 1e4, **finite), st.integers(-50, 50).map(float))
mus = st.one_of(st.floats(-3000, 3000, **finite), st.integers(-3000, 3000).map(float))
variances = st.one_of(st.floats(1e-6, 1e4, **finite), st.sampled_from([1.0, 4.0, 0.25, 1e-30]))
epsilons = st.sampled_from([0.0, 1e-5, 1e-3, 0.1])


@st.composite
def ranges(draw):
    lo = draw(st.integers(-2000, 2000))
    hi = draw(st.integers(lo, min(2000, lo + draw(st.sampled_from([0, 1, 5, 100, 4000])))))
    return lo, hi


def batchnorm_affine(gamma: float, beta: float, mu: float, var: float, eps: float) -> tuple[float, float]:
    scale = float(np.float64(gamma) / np.sqrt(np.float64(var) + np.float64(eps)))
    return scale, float(np.float64(beta) - np.float64(mu) * scale)


def exact_decisions(scale: float, bias: float, strict: bool, lo: int, hi: int) -> list[bool]:
    """out = +1 for each y in [lo, hi], from z = Fraction(scale)·y + Fraction(bias).
    Multiplied through by the (positive) common denominator so the loop uses integers only."""
    s, b = Fraction(scale), Fraction(bias)
    den = s.denominator * b.denominator
    a, c = s.numerator * b.denominator, b.numerator * s.denominator  # z·den = a·y + c
    assert den > 0
    return [(a * y + c > 0) if strict else (a * y + c >= 0) for y in range(lo, hi + 1)]


def float_decisions(scale: float, bias: float, strict: bool, lo: int, hi: int) -> list[bool]:
    """Independent float64 reference, one Python float operation per y."""
    return [(scale * float(y) + bias > 0) if strict else (scale * float(y) + bias >= 0) for y in range(lo, hi + 1)]


def within_rounding_of_zero(scale: float, bias: float, y: int) -> bool:
    exact = Fraction(scale) * y + Fraction(bias)
    return abs(exact) <= 4 * 2.0**-52 * (abs(scale * y) + abs(bias))


def folded_decisions(flipped: bool, t: int, constant: int, lo: int, hi: int) -> list[bool]:
    if constant:
        return [constant > 0] * (hi - lo + 1)
    return [((-y if flipped else y) >= t) for y in range(lo, hi + 1)]


def check_fold(scale: float, bias: float, strict: bool, lo: int, hi: int) -> tuple[bool, int, int]:
    flipped, t, constant = fold_channel(scale, bias, strict, lo, hi)
    assert isinstance(t, int) and not isinstance(t, bool)
    assert flipped == (scale < 0)
    assert (constant != 0) == (scale == 0)
    assert constant in (-1, 0, 1)
    y_lo, y_hi = (-hi, -lo) if flipped else (lo, hi)
    assert y_lo <= t <= y_hi + 1, "threshold clamped to the reachable range [lo, hi + 1]"
    folded = folded_decisions(flipped, t, constant, lo, hi)
    assert folded == float_decisions(scale, bias, strict, lo, hi)
    exact = exact_decisions(scale, bias, strict, lo, hi)
    for y, (f, e) in enumerate(zip(folded, exact), start=lo):
        assert f == e or within_rounding_of_zero(scale, bias, y), f"differs from exact at y = {y} beyond rounding"
    check_channel(scale, bias, strict, lo, hi, flipped, t)  # the compiler's own check agrees
    return flipped, t, constant


@SETTINGS
@given(gammas, betas, mus, variances, epsilons, st.booleans(), ranges())
@example(0.0, 0.0, 3.0, 1.0, 1e-5, False, (-5, 5))  # γ = 0, β = 0: constant +1
@example(0.0, 0.0, 3.0, 1.0, 1e-5, True, (-5, 5))  # … and −1 when strict
@example(-0.0, -1.0, 3.0, 1.0, 1e-5, False, (-5, 5))  # γ = −0, β < 0: constant −1
@example(1e-30, 1e-31, 0.0, 1.0, 0.0, False, (-2000, 2000))  # tiny γ
@example(-1.0, 0.0, 7.0, 1.0, 0.0, False, (-2000, 2000))  # τ = 7 exactly, flipped
@example(1.0, 0.0, 7.0, 1.0, 0.0, True, (7, 7))  # range of one value at τ
def test_fold_channel_matches_exact_batchnorm(gamma, beta, mu, var, eps, strict, rng):
    scale, bias = batchnorm_affine(gamma, beta, mu, var, eps)
    if not (math.isfinite(scale) and math.isfinite(bias)):
        return
    check_fold(scale, bias, strict, *rng)


@SETTINGS
@given(st.integers(-2000, 2000), st.integers(-2000, 2000), st.sampled_from([1, 2, 3, 7, 10, 255, 1000]), st.booleans(), ranges())
def test_fold_channel_exact_rational_tau(num, sign_den, den, strict, rng):
    """τ = num/den exactly representable or not: ties at integer τ decide ≥ vs >."""
    scale = math.copysign(1.0 / den, sign_den or 1)
    bias = -num * scale
    check_fold(scale, bias, strict, *rng)


@SETTINGS
@given(
    st.floats(-1e6, 1e6, **finite).filter(lambda v: v != 0),
    st.floats(-1e6, 1e6, **finite),
    st.booleans(),
    ranges(),
)
def test_check_channel_rejects_off_by_one_thresholds(scale, bias, strict, rng):
    """check_channel is a real check: moving a threshold that lies inside the reachable range
    by one changes the decision at one y, and must be reported."""
    lo, hi = rng
    flipped, t, constant = fold_channel(scale, bias, strict, lo, hi)
    y_lo, y_hi = (-hi, -lo) if flipped else (lo, hi)
    if t > y_lo:
        with pytest.raises(ThresholdCheckError):
            check_channel(scale, bias, strict, lo, hi, flipped, t - 1)
    if t <= y_hi:
        with pytest.raises(ThresholdCheckError):
            check_channel(scale, bias, strict, lo, hi, flipped, t + 1)


@pytest.mark.parametrize("strict", [False, True])
def test_float_rounding_trap_0_1_and_0_3(strict):
    """scale = 0.1, bias = −0.3: in float64 0.1·3 − 0.3 = 5.6e-17 while exactly
    Fraction(0.1)·3 + Fraction(−0.3) = 2.8e-17; both > 0, so y = 3 is the first +1."""
    flipped, t, constant = check_fold(0.1, -0.3, strict, -10, 10)
    assert (flipped, t, constant) == (False, 3, 0)


@pytest.mark.parametrize("strict", [False, True])
def test_float_rounding_trap_where_float64_says_zero(strict):
    """scale = 0.1, bias = −0.30000000000000004: float64 evaluates 0.1·3 + bias to exactly
    0.0 (→ +1 when not strict) but exactly z(3) = −2.8e-17 < 0; the float64 evaluation (what
    the unfolded graph computes) wins: the first +1 is y = 3, or y = 4 when strict."""
    bias = -0.30000000000000004
    assert 0.1 * 3 + bias == 0.0
    assert Fraction(0.1) * 3 + Fraction(bias) < 0
    flipped, t, constant = check_fold(0.1, bias, strict, -10, 10)
    assert (flipped, t, constant) == (False, 4 if strict else 3, 0)


@pytest.mark.parametrize(
    "scale, bias, strict, expected",
    [
        (0.5, -1.5, False, (False, 3, 0)),  # τ = 3 exactly: y ≥ 3
        (0.5, -1.5, True, (False, 4, 0)),  # y > 3
        (-0.25, 0.75, False, (True, -3, 0)),  # y ≤ 3 ⟺ −y ≥ −3
        (-0.25, 0.75, True, (True, -2, 0)),  # y < 3 ⟺ −y ≥ −2
        (1.0, 0.0, False, (False, 0, 0)),
        (1.0, 0.0, True, (False, 1, 0)),
        (-1.0, 0.0, False, (True, 0, 0)),
        (-1.0, -0.0, True, (True, 1, 0)),
        (2.0, 1e6, False, (False, -10, 0)),  # always +1: clamped to lo
        (2.0, -1e6, False, (False, 11, 0)),  # never +1: clamped to hi + 1
        (-2.0, -1e6, False, (True, 11, 0)),  # flipped range [−10, 10] → clamped to 11
        (1e-30, 0.5, False, (False, -10, 0)),  # tiny γ: τ = −5e29, clamped
        (1e-30, -0.5, False, (False, 11, 0)),
        (-1e-30, -1e-31, False, (True, 1, 0)),  # y ≤ −0.1 ⟺ −y ≥ 1
        (-1e-30, -1e-31, True, (True, 1, 0)),
    ],
)
def test_explicit_examples(scale, bias, strict, expected):
    assert check_fold(scale, bias, strict, -10, 10) == expected


@pytest.mark.parametrize(
    "bias, strict, constant",
    [(0.0, False, 1), (2.5, False, 1), (-0.0, False, 1), (-1e-300, False, -1), (-3.0, False, -1), (0.0, True, -1), (1e-300, True, 1)],
)
@pytest.mark.parametrize("gamma", [0.0, -0.0])
def test_zero_gamma_is_a_constant_channel(gamma, bias, strict, constant):
    scale, b = batchnorm_affine(gamma, bias, 7.0, 2.0, 1e-5)
    assert scale == 0 and b == bias
    flipped, t, c = check_fold(scale, b, strict, -5, 9)
    assert c == constant and not flipped


def test_exact_zero_inputs():
    assert exact_zero_inputs(0.5, -1.5, 0, 10)  # y = 3 gives z = 0
    assert not exact_zero_inputs(0.5, -1.5, 4, 10)  # outside the range
    assert not exact_zero_inputs(0.5, -1.25, -10, 10)  # τ = 2.5
    assert exact_zero_inputs(0.0, 0.0, 0, 1) and not exact_zero_inputs(0.0, 1.0, 0, 1)
    assert not exact_zero_inputs(0.1, -0.3, -10, 10)  # float 0.1·3 − 0.3 ≠ 0 exactly
