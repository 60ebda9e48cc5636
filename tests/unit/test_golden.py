"""The golden model's kernels and its two dot-product routes (docs/DESIGN.md 3.1, 3.4–3.6)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bnnfpga.errors import BnnfpgaError
from bnnfpga.golden import execute, kernels, predict
from bnnfpga.golden.executor import ROUTES
from bnnfpga.golden.kernels import dot_packed
from bnnfpga.ir.bits import pack_bipolar, pack_bits, popcount, unpack_bits
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import Affine, Conv, Dense, MaxPool, Threshold
from bnnfpga.ir.types import BIPOLAR, DType, uint
from bnnfpga.passes.pipeline import fold
from tests.graphs import GRAPHS, Chain, random_cnn, random_input

INT4 = DType("int", 4)


# -- packing -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 63, 64, 65, 127, 128, 129, 200])
def test_pack_bits_layout_and_round_trip(n):
    rng = np.random.default_rng(n)
    bits = rng.integers(0, 2, size=(3, 2, n)).astype(np.uint8)
    words = pack_bits(bits)
    assert words.dtype == np.uint64
    assert words.shape == (3, 2, (n + 63) // 64)
    for i in range(n):
        np.testing.assert_array_equal((words[..., i // 64] >> np.uint64(i % 64)) & np.uint64(1), bits[..., i])
    if n % 64:
        assert np.all(words[..., -1] >> np.uint64(n % 64) == 0), "unused high bits must be 0"
    np.testing.assert_array_equal(unpack_bits(words, n), bits)
    np.testing.assert_array_equal(popcount(words), bits.sum(axis=-1))
    np.testing.assert_array_equal(pack_bits(bits.astype(bool)), words)


def test_pack_bits_known_words():
    bits = np.zeros(130, bool)
    bits[[0, 3, 63, 64, 129]] = True
    np.testing.assert_array_equal(pack_bits(bits), np.array([(1 << 63) | 0b1001, 1, 2], np.uint64))


def test_pack_bipolar():
    v = np.array([[1, -1, -1, 1, 1], [-1, -1, -1, -1, 1]])
    np.testing.assert_array_equal(pack_bipolar(v), np.array([[0b11001], [0b10000]], np.uint64))


# -- dot_packed against a plain integer matrix product ------------------------------------


@pytest.mark.parametrize("k", [1, 9, 63, 64, 65, 150])
def test_dot_packed_bipolar_with_validity_mask(k):
    rng = np.random.default_rng(k)
    a = rng.choice([-1, 1], size=(13, k))
    w = rng.choice([-1, 1], size=(5, k)).astype(np.int8)
    valid = rng.random((13, k)) < 0.7
    valid[0] = True
    valid[1] = False
    got = dot_packed(a, valid, w, BIPOLAR)
    # masked-out elements contribute 0, whatever value the patch holds there
    np.testing.assert_array_equal(got, (a * valid) @ w.T.astype(np.int64))
    np.testing.assert_array_equal(got[1], 0)
    np.testing.assert_array_equal(dot_packed(a, None, w, BIPOLAR), a @ w.T.astype(np.int64))


@pytest.mark.parametrize(
    "dtype, k",
    [(uint(8), 27), (uint(8), 64), (uint(8), 200), (INT4, 5), (INT4, 64), (INT4, 130), (uint(1), 70), (uint(2), 33), (DType("int", 9), 40)],
)
def test_dot_packed_multibit(dtype, k):
    rng = np.random.default_rng(k * dtype.bits)
    x = rng.integers(dtype.min, dtype.max, size=(11, k), endpoint=True)
    x[0] = dtype.min
    x[1] = dtype.max
    w = rng.choice([-1, 1], size=(6, k)).astype(np.int8)
    got = dot_packed(x, None, w, dtype)
    np.testing.assert_array_equal(got, x @ w.T.astype(np.int64))


# -- convolution and dense through the executor, against a naive integer reference ---------


def naive_conv(x, w, strides, pads):
    """x (N, C, H, W) integers, w (O, C, KH, KW): zero padding contributes 0."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    top, left, bottom, right = pads
    xp = np.zeros((n, c, h + top + bottom, wd + left + right), np.int64)
    xp[:, :, top : top + h, left : left + wd] = x
    oh, ow = (h + top + bottom - kh) // strides[0] + 1, (wd + left + right - kw) // strides[1] + 1
    y = np.zeros((n, o, oh, ow), np.int64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * strides[0] : i * strides[0] + kh, j * strides[1] : j * strides[1] + kw]
            y[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w.astype(np.int64))
    return y


@pytest.mark.parametrize("dtype", [BIPOLAR, uint(8), INT4], ids=str)
@pytest.mark.parametrize(
    "kernel, strides, pads",
    [((3, 3), (1, 1), (1, 1, 1, 1)), ((3, 3), (2, 2), (1, 1, 1, 1)), ((3, 2), (2, 1), (0, 1, 2, 0)), ((1, 1), (1, 1), (0, 0, 0, 0))],
)
@pytest.mark.parametrize("c", [5, 64, 70])
def test_conv_routes_equal_naive_conv(dtype, kernel, strides, pads, c):
    """Channels within a word, exactly a word, and across words (the bipolar packed route
    gathers each pixel's channels as words, padded taps as 0 words corrected per position)."""
    rng = np.random.default_rng(sum(kernel) + sum(strides) + sum(pads) + c)
    o = 37
    chain = Chain((c, 7, 6), dtype)
    w = rng.choice([-1, 1], size=(o, c) + kernel).astype(np.int8)
    chain.add("conv", Conv(weight=w, strides=strides, pads=pads))
    g = chain.graph()
    x = random_input(g.input_type, 6, seed=1)
    expected = naive_conv(x, w, strides, pads)
    for route in ROUTES:
        got = execute(g, x, route)[g.output_name]
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected, err_msg=route)


def test_xor_disagreements_in_several_steps(monkeypatch):
    """Rows beyond one step of the XOR-popcount loop (and a last, shorter step) count alike."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 1 << 63, size=(3, 50), dtype=np.uint64)
    w = rng.integers(0, 1 << 63, size=(7, 3), dtype=np.uint64)
    expected = np.bitwise_count(a.T[:, None, :] ^ w[None]).sum(axis=-1)
    monkeypatch.setattr(kernels, "_XOR_CHUNK_WORDS", 7 * 16)
    np.testing.assert_array_equal(kernels.xor_disagreements(a, w), expected)


@pytest.mark.parametrize("dtype", [BIPOLAR, uint(8), INT4], ids=str)
def test_dense_routes_equal_matmul(dtype):
    rng = np.random.default_rng(dtype.bits)
    chain = Chain((130,), dtype)
    w = rng.choice([-1, 1], size=(37, 130)).astype(np.int8)
    chain.add("fc", Dense(weight=w))
    g = chain.graph()
    x = random_input(g.input_type, 9, seed=2)
    for route in ROUTES:
        np.testing.assert_array_equal(execute(g, x, route)[g.output_name], x @ w.T.astype(np.int64), err_msg=route)


@pytest.mark.parametrize("fan_in", [65793, 65795])
def test_gemm_route_exact_at_float32_limit(fan_in):
    """255·65793 = 2^24 − 1 still fits float32; 255·65795 = 16777725 (odd, > 2^24) does not
    and needs the float64 GEMM. Both routes must give the exact integer."""
    chain = Chain((fan_in,), uint(8))
    w = np.ones((2, fan_in), np.int8)
    w[1, :2] = -1
    chain.add("fc", Dense(weight=w))
    g = chain.graph()
    x = np.full((1, fan_in), 255)
    expected = np.array([[255 * fan_in, 255 * (fan_in - 4)]])
    for route in ROUTES:
        got = execute(g, x, route)[g.output_name]
        assert [int(v) for v in got[0]] == expected[0].tolist(), route


# -- the two routes on whole folded graphs ------------------------------------------------

FOLDED_CASES = [
    "cnn_pool_before_bn",
    "cnn_strict_stride2",
    "cnn_padded_first_conv",
    "cnn_bipolar_input_sign_head",
    "cnn_pool_after_sign",
    "cnn_offset_before_padded_conv",
    "cnn_binarized_input",
    "mlp",
]


def _assert_routes_agree(folded: Graph, seed: int) -> None:
    x = random_input(folded.input_type, 20, seed)
    packed = execute(folded, x, "packed", keep_all=True)
    gemm = execute(folded, x, "gemm", keep_all=True)
    assert packed.keys() == gemm.keys()
    assert len(packed) == len(folded.nodes) + 1
    for name in packed:
        assert packed[name].shape == gemm[name].shape, name
        np.testing.assert_array_equal(packed[name], gemm[name], err_msg=name)
        if np.issubdtype(gemm[name].dtype, np.floating) and folded.types()[name].dtype.is_integer:
            assert np.all(gemm[name] == np.round(gemm[name])), name


@pytest.mark.parametrize("name", FOLDED_CASES)
def test_routes_agree_on_folded_graphs(name):
    folded = fold(GRAPHS[name]())
    assert any(isinstance(n.op, Conv) and any(n.op.pads) for n in folded.nodes) or name == "mlp"
    _assert_routes_agree(folded, seed=3)


@pytest.mark.parametrize("seed", range(6))
def test_routes_agree_on_random_folded_cnns(seed):
    _assert_routes_agree(fold(random_cnn(seed + 50)), seed)


def test_folded_cases_cover_padding_stride_and_37_channels():
    """Guard for the cases above: they do exercise what the routes must agree on."""
    folded = [fold(GRAPHS[name]()) for name in FOLDED_CASES]
    convs = [n.op for g in folded for n in g.nodes if isinstance(n.op, Conv)]
    assert any(any(c.pads) for c in convs)
    assert any(c.strides == (2, 2) for c in convs)
    assert any(c.out_channels == 37 for c in convs)
    inputs = {str(g.input_type.dtype) for g in folded}
    assert {"uint8", "bipolar"} <= inputs


# -- max-pool and threshold ---------------------------------------------------------------


def naive_pool(x, kernel, strides, pads, use_min):
    n, c, h, w = x.shape
    top, left, bottom, right = pads
    oh, ow = (h + top + bottom - kernel[0]) // strides[0] + 1, (w + left + right - kernel[1]) // strides[1] + 1
    out = np.zeros((n, c, oh, ow), x.dtype)
    for i in range(oh):
        for j in range(ow):
            y0, x0 = i * strides[0] - top, j * strides[1] - left
            win = x[:, :, max(y0, 0) : y0 + kernel[0], max(x0, 0) : x0 + kernel[1]]  # valid positions only
            hi, lo = win.max(axis=(2, 3)), win.min(axis=(2, 3))
            out[:, :, i, j] = np.where(use_min[None, :], lo, hi)
    return out


@pytest.mark.parametrize("dtype", [DType("int", 8), BIPOLAR, "float"], ids=str)
@pytest.mark.parametrize(
    "kernel, strides, pads", [((2, 2), (2, 2), (0, 0, 0, 0)), ((3, 3), (2, 2), (1, 1, 1, 1)), ((3, 2), (1, 2), (2, 0, 0, 1))]
)
def test_max_pool_with_use_min(dtype, kernel, strides, pads):
    c = 6
    use_min = np.array([True, False, True, True, False, False])
    chain = Chain((c, 7, 8), DType("int", 8) if dtype == "float" else dtype)
    if dtype == "float":  # pooling of float values (before folding), negative ones included
        chain.add("aff", Affine(scale=np.linspace(-1.5, 1.5, c), bias=np.full(c, 0.25)))
    chain.add("pool", MaxPool(kernel=kernel, strides=strides, pads=pads, use_min=use_min))
    g = chain.graph()
    x = random_input(g.input_type, 5, seed=4)
    values = execute(g, x, keep_all=True)
    pooled_input = values[g.nodes[-1].inputs[0]]
    got = values[g.output_name]
    np.testing.assert_array_equal(got, naive_pool(pooled_input, kernel, strides, pads, use_min))
    if dtype == BIPOLAR:  # OR of bits for max channels, AND for min channels
        bits = pooled_input > 0
        expected_bits = naive_pool(bits.astype(np.int8), kernel, strides, pads, use_min) > 0
        np.testing.assert_array_equal(got > 0, expected_bits)
        assert set(np.unique(got)) <= {-1, 1}


def test_max_pool_without_use_min_is_max():
    chain = Chain((3, 4, 4), DType("int", 8))
    chain.add("pool", MaxPool(kernel=(2, 2), strides=(2, 2)))
    g = chain.graph()
    x = random_input(g.input_type, 3, seed=5)
    np.testing.assert_array_equal(execute(g, x)[g.output_name], naive_pool(x, (2, 2), (2, 2), (0, 0, 0, 0), np.zeros(3, bool)))


@pytest.mark.parametrize("shape", [(5, 3, 4), (5,)], ids=["map", "vector"])
def test_threshold_with_constant_channels(shape):
    c = shape[0]
    thresholds = np.array([[0], [-3], [5], [200], [-200]], np.int64)
    constant = np.array([0, 1, -1, 0, 0], np.int8)  # channel 1 stays +1, channel 2 stays −1
    chain = Chain(shape, DType("int", 8))
    chain.add("th", Threshold(thresholds=thresholds, constant=constant))
    g = chain.graph()
    x = random_input(g.input_type, 7, seed=6)
    got = execute(g, x)[g.output_name]
    view = (1, c) + (1,) * (len(shape) - 1)
    expected = np.where(x >= thresholds[:, 0].reshape(view), 1, -1)
    expected = np.where(constant.reshape(view) != 0, constant.reshape(view), expected)
    np.testing.assert_array_equal(got, expected)
    assert np.all(got[:, 1] == 1) and np.all(got[:, 2] == -1)
    assert np.all(got[:, 3] == -1) and np.all(got[:, 4] == 1)  # thresholds beyond the int8 range
    assert got.dtype == np.int8


def test_multi_level_threshold_counts():
    thresholds = np.array([[-10, 0, 10], [-100, -100, 5], [0, 1, 2]], np.int64)
    chain = Chain((3, 2, 5), DType("int", 8))
    chain.add("th", Threshold(thresholds=thresholds, constant=np.zeros(3, np.int8), base=0))
    g = chain.graph()
    assert g.types()[g.output_name].dtype == uint(2)
    x = random_input(g.input_type, 4, seed=7)
    x[0, 2] = 1  # exactly at a threshold: counted (y ≥ t)
    got = execute(g, x)[g.output_name]
    expected = (x[..., None] >= thresholds[None, :, None, None, :]).sum(axis=-1)
    np.testing.assert_array_equal(got, expected)
    assert np.all(got[0, 2] == 2)


# -- batching and input checks -------------------------------------------------------------


def test_execute_batches_consistently():
    """More frames than one internal batch: every frame's result equals running it alone."""
    folded = fold(GRAPHS["cnn_pool_before_bn"]())
    x = random_input(folded.input_type, 150, seed=8)
    whole = execute(folded, x)[folded.output_name]
    assert whole.shape == (150, 10)
    for i in (0, 63, 64, 65, 149):
        np.testing.assert_array_equal(execute(folded, x[i])[folded.output_name][0], whole[i])
    np.testing.assert_array_equal(execute(folded, x, "gemm")[folded.output_name], whole)
    p = predict(folded, x)
    assert p.dtype == np.float32 and np.allclose(p, whole, rtol=1e-6)


def test_execute_empty_batch():
    folded = fold(GRAPHS["mlp"]())
    out = execute(folded, np.zeros((0, 20), np.int64))[folded.output_name]
    assert out.shape == (0, 5)


@pytest.mark.parametrize(
    "x, words",
    [
        (np.full((2, 20), 256), "[0, 255]"),
        (np.full((2, 20), -1), "[0, 255]"),
        (np.zeros((2, 21), np.int64), "shape"),
        (np.full((2, 20), 0.5), "integer"),
        (np.full((2, 20), np.nan), "integer"),
        (np.full((2, 20), "a"), "integer"),
    ],
)
def test_execute_rejects_invalid_input(x, words):
    graph = GRAPHS["mlp"]()
    with pytest.raises(BnnfpgaError, match=re.escape(words)):
        execute(graph, x)


def test_execute_accepts_integer_valued_floats_and_rejects_bad_route():
    graph = fold(GRAPHS["mlp"]())
    x = random_input(graph.input_type, 3, seed=9)
    np.testing.assert_array_equal(execute(graph, x.astype(np.float32))[graph.output_name], execute(graph, x)[graph.output_name])
    with pytest.raises(ValueError):
        execute(graph, x, route="fast")
