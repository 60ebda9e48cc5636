"""Ternary and k-bit weights, k-bit activations (docs/DESIGN.md 5): bit-plane dot products, integer
weight extraction and quantizers folded into multi-thresholds, each against the golden
model's unfolded float evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga.errors import ModelError
from bnnfpga.golden import execute, kernels
from bnnfpga.ir.ops import Affine, Clamp, Conv, Dense, MaxPool, Quantize, Reshape, Threshold
from bnnfpga.ir.patches import conv_weight_rows, im2col
from bnnfpga.ir.types import BIPOLAR, TERNARY, DType, TensorType, uint
from bnnfpga.ir.verify import verify
from bnnfpga.passes.bound_quantizers import BoundQuantizers
from bnnfpga.passes.extract_integer_weights import split_integer_rows, split_weights
from bnnfpga.passes.pipeline import fold
from tests.graphs import UINT8, Chain, random_input

INPUT_TYPES = [BIPOLAR, TERNARY, uint(3), DType("int", 4)]
WEIGHT_KINDS = {"ternary": (-1, 1), "int3": (-3, 3), "int4": (-7, 7)}


@pytest.mark.parametrize("weights", WEIGHT_KINDS)
@pytest.mark.parametrize("dtype", INPUT_TYPES, ids=str)
@pytest.mark.parametrize("pads", [(0, 0, 0, 0), (1, 1, 1, 1)], ids=["valid", "padded"])
def test_bit_plane_dot_product_equals_gemm(weights, dtype, pads):
    rng = np.random.default_rng(1)
    lo, hi = WEIGHT_KINDS[weights]
    weight = rng.integers(lo, hi, size=(5, 4, 3, 3), endpoint=True).astype(np.int8)
    x = random_input(TensorType((6, 7, 4), dtype), 3, seed=2)  # channels-last (N, H, W, C)
    bound = 7 * 8 * 36
    packed = kernels.conv(x, weight, (1, 1), pads, "packed", dtype, bound)
    gemm = kernels.conv(x, weight, (1, 1), pads, "gemm", dtype, bound)
    np.testing.assert_array_equal(packed, gemm)
    # and a plain integer reference
    patches, _ = im2col(x.astype(np.int64), (3, 3), (1, 1), pads)
    expected = patches @ conv_weight_rows(weight).astype(np.int64).T
    np.testing.assert_array_equal(packed.reshape(expected.shape), expected)


def test_integer_rows_are_found_exactly_or_on_a_grid():
    rng = np.random.default_rng(3)
    ternary = rng.integers(-1, 1, size=(4, 9), endpoint=True) * np.array([[0.5], [1.25], [3.0], [0.1]])
    q, s = split_integer_rows(ternary)
    np.testing.assert_array_equal(q * s[:, None], ternary)  # exact: one magnitude per row
    assert q.dtype == np.int8 and set(np.unique(q)) <= {-1, 0, 1}

    # asymmetric ternary {−a, 0, +2a} and a 4-bit grid computed in float32, as exporters do
    grid = rng.integers(-7, 7, size=(3, 16), endpoint=True)
    grid[:, 0] = 1  # the smallest magnitude is one step
    steps = np.float32([0.1, 0.037, 1.7])
    weights = (grid.astype(np.float32) * steps[:, None]).astype(np.float64)
    q, s = split_integer_rows(weights)
    np.testing.assert_array_equal(q, grid)
    np.testing.assert_allclose(s, steps, rtol=1e-6)
    assert split_integer_rows(np.array([[0.5, -0.3, 0.1234, 0.7071]])) is None


def test_asymmetric_ternary_rows_get_gains_unless_a_narrow_grid_holds_them():
    rng = np.random.default_rng(4)
    codes = rng.integers(-1, 1, size=(5, 12), endpoint=True)
    codes[:, :2] = (1, -1)  # both signs in every row
    scales = np.array([[0.9, 0.9 * 1.37], [0.5, 1.0], [1.1, 0.3], [0.2, 0.2], [2.0, 2.0 * np.sqrt(2)]])  # (a, b)
    weight = np.where(codes > 0, scales[:, 1:2], np.where(codes < 0, -scales[:, :1], 0.0))
    q, gains, step = split_weights(weight)
    assert gains is not None and q.dtype == np.int8
    np.testing.assert_array_equal(q, codes)
    np.testing.assert_array_equal(gains, scales[:, ::-1])  # (b, a)
    np.testing.assert_array_equal(step, np.ones(5))
    # b = 2a is an int3 grid {−1, 0, +2}: the integer MVU takes it as it is
    q, gains, step = split_weights(weight[1:2])
    assert gains is None and set(np.unique(q)) == {-1, 0, 2}
    # b/a = 1.3 is a grid only with 13 steps (5 bits): gains instead
    q, gains, _ = split_weights(np.array([[1.3, -1.0, 0.0, 1.3]]))
    assert gains is not None and gains.tolist() == [[1.3, 1.0]]
    assert split_weights(np.array([[0.5, -0.3, 0.1234, 0.7071]])) is None


def _calibrated_affine(chain: Chain, rng, span: float, frames: int = 32) -> Affine:
    """A batchnorm-like affine that spreads the current accumulators over ``span`` levels,
    with negative scales (flipped rows), one zero scale (a constant channel) and a scale
    of exactly 0.5 (z lands on half-integers: rounding ties)."""
    g = chain.graph()
    y = execute(g, random_input(g.input_type, frames, seed=9))[g.output_name].astype(np.float64)
    axes = (0,) + tuple(range(2, y.ndim))
    mean, std = y.mean(axis=axes), y.std(axis=axes) + 1.0
    c = len(mean)
    scale = rng.uniform(0.5, 1.5, c) * span / (2 * std) * rng.choice([-1.0, 1.0], c)
    scale[0] = 0.0
    scale[1] = 0.5
    bias = -scale * mean + rng.uniform(-0.5, 0.5, c)
    bias[1] = 0.0
    return Affine(scale=scale, bias=bias)


def _ternary_float(rng, shape, scale=True) -> np.ndarray:
    w = rng.integers(-1, 1, size=shape, endpoint=True).astype(np.float64)
    return w * (rng.uniform(0.2, 2.0, size=(shape[0],) + (1,) * (len(shape) - 1)) if scale else 1.0)


@pytest.mark.parametrize("rounding", ["ROUND", "FLOOR", "CEIL", "HALF_UP", "HALF_DOWN", "DOWN", "UP"])
@pytest.mark.parametrize("levels", [(-1, 1), (0, 3), (-8, 7)], ids=["ternary", "uint2", "int4"])
def test_quantizer_folds_to_exact_multi_thresholds(rounding, levels):
    """uint8 → conv (ternary weights) → affine → Quantize → maxpool → conv (int4 weights)
    → affine → Quantize → flatten → dense → affine: the folded graph's levels equal the
    float evaluation everywhere, including rounding ties."""
    rng = np.random.default_rng(4)
    qmin, qmax = levels
    chain = Chain((2, 8, 8), UINT8)
    chain.add("conv", Conv(weight=_ternary_float(rng, (6, 2, 3, 3)), pads=(1, 1, 1, 1)))
    chain.add("bn", _calibrated_affine(chain, rng, qmax - qmin))
    chain.add("q", Quantize(qmin=qmin, qmax=qmax, rounding=rounding))
    chain.add("pool", MaxPool(kernel=(2, 2), strides=(2, 2)))
    chain.add("dq", Affine(scale=np.full(6, 0.25), bias=np.zeros(6)))
    w4 = rng.integers(-7, 7, size=(5, 6, 3, 3), endpoint=True) * 0.125
    chain.add("conv", Conv(weight=w4))
    chain.add("bn", _calibrated_affine(chain, rng, qmax - qmin))
    chain.add("q", Quantize(qmin=qmin, qmax=qmax, rounding=rounding))
    hidden = chain.current
    chain.add("flat", Reshape(shape=(20,)))
    chain.add("fc", Dense(weight=_ternary_float(rng, (3, 20)), bias=rng.normal(size=3)))
    before = chain.graph()
    verify(before)
    after = fold(before)
    assert any(isinstance(n.op, Threshold) and n.op.base == qmin and n.op.levels == qmax - qmin for n in after.nodes)
    x = random_input(before.input_type, 24, seed=5)
    ref = execute(before, x, keep_all=True)
    ours = execute(after, x, keep_all=True)
    q_after = [n.output for n in after.nodes if isinstance(n.op, Threshold)][-1]
    np.testing.assert_array_equal(ours[q_after], ref[hidden].reshape(ours[q_after].shape))
    assert len(np.unique(ref[hidden])) > 1  # the levels are not trivially constant
    np.testing.assert_allclose(ours[after.output_name], ref[before.output_name], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(execute(after, x, route="gemm")[after.output_name], ours[after.output_name])



def test_clip_bounds_a_round_exactly():
    """Clamp(0, α) → Affine(n/α) → Quantize(unbounded) is the PACT quantizer: BoundQuantizers
    gives Quantize the levels [0, n] and drops the clamp, with the same outputs."""
    rng = np.random.default_rng(6)
    chain = Chain((4,), DType("int", 6))
    chain.add("fc", Dense(weight=_ternary_float(rng, (5, 4))))
    chain.add("relu", Clamp(lo=np.zeros(5), hi=np.full(5, np.inf)))
    chain.add("clip", Clamp(lo=np.full(5, -1.0), hi=np.full(5, 20.0)))
    chain.add("mul", Affine(scale=np.full(5, 3 / 20), bias=np.zeros(5)))
    chain.add("round", Quantize(qmin=-(1 << 31), qmax=(1 << 31) - 1))
    before = chain.graph()
    after = BoundQuantizers().apply(before)
    verify(after)
    assert not any(isinstance(n.op, Clamp) for n in after.nodes)
    quantize = next(n.op for n in after.nodes if isinstance(n.op, Quantize))
    assert (quantize.qmin, quantize.qmax) == (0, 3)
    x = random_input(before.input_type, 64, seed=7)
    np.testing.assert_array_equal(execute(after, x)[after.output_name], execute(before, x)[before.output_name])


def test_round_without_clip_is_rejected():
    chain = Chain((4,), UINT8)
    chain.add("fc", Dense(weight=_ternary_float(np.random.default_rng(0), (5, 4))))
    chain.add("round", Quantize(qmin=-(1 << 31), qmax=(1 << 31) - 1))
    with pytest.raises(ModelError, match="at most 256"):
        BoundQuantizers().apply(chain.graph())
