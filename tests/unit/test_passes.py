"""Every pass preserves the golden model's semantics and does what it says (docs/DESIGN.md 1, 3).

For each stage of ``pipeline.stages()`` the graph is brought to the state just before that
stage (by running the earlier stages), the stage is applied, and the golden model is run
before and after on the same random frames. Outputs must be equal: exactly for integer and
bipolar outputs, to rtol 1e-9 for float outputs (float affines are re-associated).
"""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga.errors import ModelError
from bnnfpga.golden import execute
from bnnfpga.ir.graph import Graph
from bnnfpga.ir.ops import (
    Add,
    Affine,
    Binarize,
    Conv,
    Dense,
    DotProduct,
    IntegerAffine,
    MaxPool,
    OutputAffine,
    Reshape,
    Threshold,
)
from bnnfpga.ir.types import BIPOLAR, DType, TensorType, signed_width, uint
from bnnfpga.ir.verify import verify, verify_folded
from bnnfpga.passes.absorb_input_affine import AbsorbInputAffine
from bnnfpga.passes.accumulator_widths import AccumulatorWidths
from bnnfpga.passes.extract_integer_weights import ExtractIntegerWeights
from bnnfpga.passes.fold_thresholds import FoldThresholds
from bnnfpga.passes.host_output_affine import HostOutputAffine
from bnnfpga.passes.merge_affines import MergeAffines
from bnnfpga.passes.name_tensors import NameTensorsAfterNodes
from bnnfpga.passes.pipeline import fold, stages
from bnnfpga.passes.pool_after_threshold import PoolAfterThreshold
from tests.graphs import CHAINS, GRAPHS, UINT8, Chain, cnn, mlp, random_cnn, random_input

FRAMES = 16
STAGE_NAMES = [p.name for p in stages()]
STAGE_IDS = [f"{i}-{name}" for i, name in enumerate(STAGE_NAMES)]


def stage_index(cls: type, occurrence: int = 0) -> int:
    return [i for i, p in enumerate(stages()) if type(p) is cls][occurrence]


def state_before(graph: Graph, index: int) -> Graph:
    """The graph as the pipeline hands it to stage ``index``."""
    for p in stages()[:index]:
        graph = p.apply(graph)
        verify(graph)
    return graph


def run(graph: Graph, x: np.ndarray, route: str = "packed") -> np.ndarray:
    return execute(graph, x, route)[graph.output_name]


def assert_same_outputs(before: Graph, after: Graph, x: np.ndarray, routes=("packed",)) -> None:
    """Integer and bipolar outputs (by IR type; the gemm route holds integers in floats)
    must be exactly equal, float outputs equal to rtol 1e-9."""
    expected = run(before, x)
    exact = before.types()[before.output_name].dtype.is_integer and after.types()[after.output_name].dtype.is_integer
    for route in routes:
        got = run(after, x, route)
        assert got.shape == expected.shape
        if exact:
            np.testing.assert_array_equal(got, expected, err_msg=f"route {route}")
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=f"route {route}")


def frames(graph: Graph, seed: int = 0) -> np.ndarray:
    return random_input(graph.input_type, FRAMES, seed)


def ops_of(graph: Graph, cls) -> list:
    return [n for n in graph.nodes if isinstance(n.op, cls)]


def consumer(graph: Graph, node):
    return graph.only_consumer(node.output)


# -- the equivalence matrix: every stage on every graph ----------------------------------


@pytest.mark.parametrize("index", range(len(STAGE_NAMES)), ids=STAGE_IDS)
@pytest.mark.parametrize("name", list(GRAPHS))
def test_stage_preserves_golden_outputs(name, index):
    before = state_before(GRAPHS[name](), index)
    after = stages()[index].apply(before)
    verify(after)
    assert_same_outputs(before, after, frames(before, seed=index), routes=("packed", "gemm"))


@pytest.mark.parametrize("index", range(len(STAGE_NAMES)), ids=STAGE_IDS)
@pytest.mark.parametrize("name", ["cnn_pool_before_bn", "cnn_bipolar_input_sign_head", "mlp_dense_head"])
def test_stage_does_not_mutate_its_input(name, index):
    before = state_before(GRAPHS[name](), index)
    text = before.to_json()
    names = [(n.name, n.inputs, n.output) for n in before.nodes]
    ops = [n.op for n in before.nodes]
    stages()[index].apply(before)
    assert before.to_json() == text
    assert [(n.name, n.inputs, n.output) for n in before.nodes] == names
    assert all(n.op is op for n, op in zip(before.nodes, ops, strict=True))


# -- ExtractIntegerWeights ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["cnn_pool_before_bn", "cnn_padded_first_conv", "mlp", "cnn_dense_head"])
def test_extract_binary_weights(name):
    before = GRAPHS[name]()
    after = ExtractIntegerWeights().apply(before)
    verify(after)
    assert_same_outputs(before, after, frames(before))

    old_dots = ops_of(before, DotProduct)
    new_dots = ops_of(after, DotProduct)
    assert len(old_dots) == len(new_dots) > 0
    for old, new in zip(old_dots, new_dots, strict=True):
        w_old, w_new = old.op.weight, new.op.weight
        assert w_old.dtype == np.float64
        assert w_new.dtype == np.int8 and w_new.shape == w_old.shape
        assert set(np.unique(w_new)) <= {-1, 1}
        assert new.op.bias is None
        rows_old = w_old.reshape(w_old.shape[0], -1)
        scale = np.abs(rows_old).max(axis=1)
        # the signs are the weights' signs wherever the row is not all zero
        np.testing.assert_array_equal(w_new.reshape(len(scale), -1) * scale[:, None], rows_old)
        nxt = consumer(after, new)
        if old.op.bias is None and np.all(scale == 1):
            assert nxt is None or not isinstance(nxt.op, Affine)  # nothing to scale
        else:
            assert isinstance(nxt.op, Affine)
            np.testing.assert_array_equal(nxt.op.scale, scale)
            np.testing.assert_array_equal(nxt.op.bias, old.op.bias)
    # a zero row (scale 0) is kept as ±1 weights with an affine scale of 0
    if name != "cnn_dense_head":
        assert any(np.any(consumer(after, d).op.scale == 0) for d in new_dots if consumer(after, d) is not None and isinstance(consumer(after, d).op, Affine))


def test_extract_integer_weights_rejects_rows_off_any_grid():
    chain = Chain((4,), UINT8)
    w = np.array([[1.0, -1.0, 1.0, 1.0], [0.5, -0.3, 0.1234, 0.7071]])
    chain.add("fc", Dense(weight=w))
    with pytest.raises(ModelError, match="not binary, ternary or k-bit: output channel 1"):
        ExtractIntegerWeights().apply(chain.graph())


# -- MergeAffines ------------------------------------------------------------------------


def _affine_pairs(graph: Graph) -> int:
    return sum(
        1
        for n in graph.nodes
        if isinstance(n.op, Affine) and consumer(graph, n) is not None and isinstance(consumer(graph, n).op, Affine)
    )


@pytest.mark.parametrize("occurrence", [0, 1])
@pytest.mark.parametrize("name", ["cnn_pool_before_bn", "cnn_pool_before_sign", "cnn_negative_input_scale", "mlp"])
def test_merge_affines(name, occurrence):
    index = stage_index(MergeAffines, occurrence)
    before = state_before(GRAPHS[name](), index)
    after = MergeAffines().apply(before)
    verify(after)
    assert_same_outputs(before, after, frames(before, seed=occurrence))
    pairs = _affine_pairs(before)
    if occurrence == 1 and name == "cnn_pool_before_bn":
        # conv → scale → pool → bn: the pool moved behind bn and sign, scale and bn now meet
        assert pairs > 0
    if occurrence == 0:
        assert pairs > 0  # the conv's weight scale meets its batchnorm (or the split normalisation)
    assert _affine_pairs(after) == 0
    assert len(ops_of(after, Affine)) < len(ops_of(before, Affine)) or pairs == 0


def test_merge_affines_composes_a_chain_of_three():
    c = 5
    rng = np.random.default_rng(0)
    chain = Chain((c, 3, 3), DType("int", 8))
    params = [(rng.normal(size=c), rng.normal(size=c)) for _ in range(3)]
    for s, b in params:
        chain.add("aff", Affine(scale=s, bias=b))
    before = chain.graph()
    after = MergeAffines().apply(before)
    verify(after)
    (node,) = after.nodes
    (s1, b1), (s2, b2), (s3, b3) = params
    np.testing.assert_allclose(node.op.scale, s1 * s2 * s3, rtol=1e-12)
    np.testing.assert_allclose(node.op.bias, (b1 * s2 + b2) * s3 + b3, rtol=1e-12)
    assert node.inputs == (before.input_name,) and after.output_name == before.output_name
    assert_same_outputs(before, after, frames(before))


# -- AbsorbInputAffine -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["cnn_pool_before_bn", "cnn_padded_first_conv", "cnn_negative_input_scale", "mlp", "mlp_dense_head"]
)
def test_absorb_input_affine(name):
    index = stage_index(AbsorbInputAffine)
    before = state_before(GRAPHS[name](), index)
    first = before.consumers(before.input_name)
    assert len(first) == 1 and isinstance(first[0].op, Affine)
    after = AbsorbInputAffine().apply(before)
    verify(after)
    assert_same_outputs(before, after, frames(before), routes=("packed", "gemm"))
    (first,) = after.consumers(after.input_name)
    assert isinstance(first.op, DotProduct), "the dot product now reads the raw integer input"
    assert after.types()[first.output].dtype.is_integer
    post = consumer(after, first)
    assert isinstance(post.op, Affine)
    x = frames(before, seed=9)
    np.testing.assert_allclose(
        execute(after, x, keep_all=True)[post.output], execute(before, x, keep_all=True)[post.output], rtol=1e-9, atol=1e-9
    )
    for n in after.nodes:
        nxt = consumer(after, n)
        if isinstance(n.op, Affine) and nxt is not None:
            assert not isinstance(nxt.op, (DotProduct, Reshape)), f"{n.name} still in front of {nxt.name}"


def test_absorb_input_affine_moves_affine_through_flatten():
    """Affine on (C, H, W) → flatten → Dense: the affine crosses the flatten channel-major
    (per-channel values repeated H·W times, ONNX NCHW order) and is absorbed."""
    rng = np.random.default_rng(3)
    c, h, w = 3, 2, 4
    chain = Chain((c, h, w), UINT8)
    chain.add("norm", Affine(scale=np.full(c, 0.02), bias=np.array([-1.0, 0.5, 2.0])))
    chain.add("flatten", Reshape(shape=(c * h * w,)))
    chain.add("fc", Dense(weight=rng.choice([-1, 1], size=(6, c * h * w)).astype(np.int8)))
    chain.add("bn", Affine(scale=rng.normal(size=6), bias=rng.normal(size=6)))
    before = chain.graph()
    after = AbsorbInputAffine().apply(before)
    verify(after)
    assert [type(n.op) for n in after.nodes] == [Reshape, Dense, Affine]
    assert after.nodes[0].inputs == (before.input_name,)
    assert_same_outputs(before, after, frames(before))


def test_absorb_input_affine_gives_each_dense_layer_behind_one_flatten_a_copy():
    """Affine → flatten read by several dense layers (ABC-Net's weight bases, each a matmul of
    the same flattened activation): every dense layer absorbs its own copy and reads the one
    flatten of the raw input."""
    rng = np.random.default_rng(4)
    c, h, w = 3, 2, 2
    chain = Chain((c, h, w), UINT8)
    chain.add("levels", Affine(scale=np.full(c, 0.5), bias=np.array([-1.0, 0.25, 2.0])))
    chain.add("flatten", Reshape(shape=(c * h * w,)))
    flat = chain.current
    terms = []
    for _ in range(3):
        chain.current = flat
        chain.add("fc", Dense(weight=rng.choice([-1, 1], size=(5, c * h * w)).astype(np.int8)))
        terms.append(chain.current)
    chain.join("sum", Add(), (terms[0], terms[1]))
    chain.join("sum", Add(), (chain.current, terms[2]))
    before = chain.graph()
    after = AbsorbInputAffine().apply(before)
    verify(after)
    (flatten,) = [n for n in after.nodes if isinstance(n.op, Reshape)]
    assert flatten.inputs == (before.input_name,)
    assert [n.inputs for n in after.nodes if isinstance(n.op, Dense)] == [(flatten.output,)] * 3
    assert_same_outputs(before, after, frames(before))


def test_absorb_input_affine_any_offset_before_padded_conv():
    """(x/255 − m_c)/s with offsets that are no fraction of the scale, in front of a
    zero-padded conv: the offset reaches a border position through fewer taps, so the affine
    behind the conv carries it per position, exactly (never rounded)."""
    g = ExtractIntegerWeights().apply(cnn(1, input_offset=False, conv1_pads=(1, 1, 1, 1)))
    norm = g.nodes[0]
    assert isinstance(norm.op, Affine)
    norm.op = Affine(scale=np.full(3, 1 / 255 / 0.2347), bias=np.array([-1.5, 0.3, -2.0 / 3.0]))
    after = AbsorbInputAffine().apply(g)
    verify(after)
    assert_same_outputs(g, after, frames(g), routes=("packed", "gemm"))
    conv = after.nodes[0]
    assert isinstance(conv.op, Conv) and conv.inputs == (after.input_name,)
    post = consumer(after, conv)
    assert isinstance(post.op, Affine) and post.op.position_bias is not None
    # 3×3, pad 1 on a 9×9 map: corner, edge and inner positions, 9 offsets per channel
    for channel in post.op.offset():
        assert len(np.unique(channel)) <= 9
    assert max(len(np.unique(channel)) for channel in post.op.offset()) > 1


def test_absorb_input_affine_offset_before_padded_conv_same_values_everywhere():
    """The affine behind the conv holds the same float values as the unfolded graph at every
    position: a border-dependent or off-by-one offset shows here long before it flips a sign."""
    index = stage_index(AbsorbInputAffine)
    before = state_before(GRAPHS["cnn_offset_before_padded_conv"](), index)
    after = AbsorbInputAffine().apply(before)
    verify(after)
    assert not any(isinstance(n.op, IntegerAffine) for n in after.nodes)
    conv = after.nodes[0]
    assert isinstance(conv.op, Conv) and any(conv.op.pads) and conv.inputs == (after.input_name,)
    post = consumer(after, conv)
    assert isinstance(post.op, Affine) and before.producer(post.output) is not None
    x = frames(before, seed=9)
    np.testing.assert_allclose(
        execute(after, x, keep_all=True)[post.output], execute(before, x, keep_all=True)[post.output], rtol=1e-9, atol=1e-9
    )
    # the whole pipeline keeps it exact and in hardware form: thresholds per position
    folded = _check_fold(GRAPHS["cnn_offset_before_padded_conv"](), seed=2)
    first = consumer(folded, folded.nodes[0])
    assert isinstance(first.op, Threshold) and first.op.positional


@pytest.mark.parametrize("split", [False, True], ids=["one_affine", "split_affines"])
@pytest.mark.parametrize("negative", [False, True], ids=["positive_scale", "negative_scale"])
@pytest.mark.parametrize("simple", [False, True], ids=["any_offset", "fraction_offset"])
def test_fold_offset_before_padded_conv_variants(negative, split, simple):
    graph = cnn(77, simple_norm=simple, conv1_pads=(1, 1, 1, 1), negative_input_scale=negative, split_norm=split)
    folded = _check_fold(graph, seed=3)
    assert not any(isinstance(n.op, IntegerAffine) for n in folded.nodes)
    threshold = consumer(folded, folded.nodes[0])
    assert isinstance(threshold.op, Threshold) and threshold.op.positional
    # the border classes of a 3×3/pad-1 conv: at most 3 row × 3 column classes per channel
    t = threshold.op.thresholds[..., 0]
    assert all(len(np.unique(channel)) <= 9 for channel in t)
    assert np.all(t[:, 1:-1, 1:-1] == t[:, 1:2, 1:2])  # the inner positions share one threshold


@pytest.mark.parametrize("padded", [False, True], ids=["plain", "integer_offset"])
def test_absorb_input_affine_without_affine_behind_the_dot(padded):
    """Normalisation → ±1 conv without bias → Binarize (no batchnorm): ExtractIntegerWeights
    leaves no affine behind the conv, so AbsorbInputAffine must insert one."""
    rng = np.random.default_rng(5)
    chain = Chain((2, 6, 6), UINT8)
    chain.add("norm", Affine(scale=np.full(2, 1 / (255 * 0.25)), bias=np.array([-2.0, -1.0])))
    pads = (1, 1, 1, 1) if padded else (0, 0, 0, 0)
    chain.add("conv", Conv(weight=rng.choice([-1.0, 1.0], size=(4, 2, 3, 3)), pads=pads))
    chain.add("sign", Binarize())
    before = ExtractIntegerWeights().apply(chain.graph())
    assert not isinstance(consumer(before, before.nodes[1]).op, Affine)
    after = AbsorbInputAffine().apply(before)
    verify(after)
    assert_same_outputs(before, after, frames(before))


@pytest.mark.parametrize("padded", [False, True], ids=["plain", "padded"])
def test_absorb_input_affine_per_channel_scale_exact_gains(padded):
    """Scales a·(1, 2, 1) per channel: integer gains (1, 2, 1) in front of the first conv,
    one scale a behind, the same outputs exactly; no warning."""
    g = ExtractIntegerWeights().apply(cnn(1, conv1_pads=(1, 1, 1, 1) if padded else (0, 0, 0, 0)))
    norm = g.nodes[0]
    a = norm.op.scale[0]
    norm.op = Affine(scale=a * np.array([1.0, 2.0, 1.0]), bias=norm.op.bias)
    after = AbsorbInputAffine().apply(g)
    verify(after)
    gains = after.nodes[0]
    assert isinstance(gains.op, IntegerAffine) and gains.op.scale.tolist() == [1, 2, 1]
    assert isinstance(consumer(after, gains).op, Conv)
    assert not after.notes
    assert_same_outputs(g, after, frames(g), routes=("packed", "gemm"))


def test_per_channel_scale_folds_exactly_end_to_end():
    chain_graph = cnn(31, conv1_pads=(1, 1, 1, 1))
    norm = chain_graph.nodes[0]
    norm.op = Affine(scale=norm.op.scale * np.array([0.5, 1.0, 0.25]), bias=norm.op.bias)
    folded = _check_fold(chain_graph, seed=4)
    assert isinstance(folded.nodes[0].op, IntegerAffine) and folded.nodes[0].op.scale.tolist() == [2, 4, 1]


def test_per_channel_scale_as_fixed_point_gains():
    """torchvision's CIFAR-10 std: no common unit, so 16-bit gains round(2^16·a_c/a_max); a
    warning names the node and the error, and the first accumulator's float value stays within
    that relative error of the unfolded one."""
    g = ExtractIntegerWeights().apply(cnn(1, conv1_pads=(1, 1, 1, 1)))
    norm = g.nodes[0]
    std, mean = np.array([0.2470, 0.2435, 0.2616]), np.array([0.4914, 0.4822, 0.4465])
    norm.op = Affine(scale=1 / (255 * std), bias=-mean / std)
    after = AbsorbInputAffine().apply(g)
    verify(after)
    gains = after.nodes[0].op
    assert isinstance(gains, IntegerAffine)
    assert int(np.abs(gains.scale).max()) == 1 << 16 and np.all(gains.scale > 0)
    (note,) = [n for n in after.notes if "integer gains" in n]
    assert norm.source in note and "16-bit" in note
    conv = consumer(after, after.nodes[0])
    post_after, post_before = consumer(after, conv), consumer(g, consumer(g, norm))
    x = frames(g, seed=5)
    want = execute(g, x, keep_all=True)[post_before.output]
    got = execute(after, x, keep_all=True)[post_after.output]
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * np.abs(want).max())


def test_per_channel_scale_with_too_wide_a_first_layer_is_named():
    chain = Chain((3, 12, 12), UINT8)
    chain.add("norm", Affine(scale=np.array([1.0, 2.0, 3.0]) / 7, bias=np.zeros(3)))
    rng = np.random.default_rng(3)
    chain.add("conv", Conv(weight=rng.integers(-127, 128, size=(4, 3, 11, 11)).astype(np.float64)))
    chain.add("sign", Binarize())
    g = ExtractIntegerWeights().apply(chain.graph())
    with pytest.raises(ModelError, match="per-channel input scale: the accumulators") as info:
        AbsorbInputAffine().apply(g)
    assert info.value.node == g.nodes[0].source


def test_per_channel_scale_of_zero_is_named():
    g = ExtractIntegerWeights().apply(cnn(1))
    norm = g.nodes[0]
    norm.op = Affine(scale=np.array([1.0, 0.0, 1.0]), bias=norm.op.bias)
    with pytest.raises(ModelError, match="input scale of channel 1 is zero"):
        AbsorbInputAffine().apply(g)


# -- PoolAfterThreshold ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cnn_pool_before_bn", "cnn_pool_before_sign", "cnn_negative_input_scale"])
def test_pool_after_threshold(name):
    index = stage_index(PoolAfterThreshold)
    before = state_before(GRAPHS[name](), index)
    (pool,) = ops_of(before, MaxPool)
    nxt = consumer(before, pool)
    assert isinstance(nxt.op, (Affine, Binarize))
    expected_min = nxt.op.scale < 0 if isinstance(nxt.op, Affine) else np.zeros(before.types()[pool.output].shape[0], bool)
    if name == "cnn_pool_before_bn":
        assert expected_min.any() and not expected_min.all()

    after = PoolAfterThreshold().apply(before)
    verify(after)
    assert_same_outputs(before, after, frames(before))
    (moved,) = ops_of(after, MaxPool)
    producer = after.producer(moved.inputs[0])
    assert isinstance(producer.op, Binarize), "the pool now reads bipolar values"
    assert after.types()[moved.output].dtype == BIPOLAR
    assert moved.op.use_min is not None
    np.testing.assert_array_equal(moved.op.use_min, expected_min)
    assert (moved.op.kernel, moved.op.strides, moved.op.pads) == (pool.op.kernel, pool.op.strides, pool.op.pads)


def test_pool_after_threshold_composes_min_flags():
    """An existing min-pool crossing a negative scale becomes a max-pool again (XOR), a
    zero scale keeps the flag; the result pools bipolar values (OR / AND)."""
    chain = Chain((4, 6, 6), DType("int", 8))
    chain.add("pool", MaxPool(kernel=(2, 2), strides=(2, 2), use_min=np.array([True, False, True, False])))
    chain.add("aff", Affine(scale=np.array([-1.0, -0.5, 2.0, 0.0]), bias=np.array([3.0, -2.0, 1.0, 0.5])))
    chain.add("sign", Binarize())
    before = chain.graph()
    after = PoolAfterThreshold().apply(before)
    verify(after)
    assert [type(n.op) for n in after.nodes] == [Affine, Binarize, MaxPool]
    np.testing.assert_array_equal(after.nodes[2].op.use_min, [False, True, True, False])
    assert_same_outputs(before, after, frames(before))


def test_pool_after_threshold_min_pool_is_needed():
    """The same graph with plain max-pools behind the threshold is *not* equivalent: the
    flipped channels really need the min-pool (guards against a use_min that is ignored)."""
    index = stage_index(PoolAfterThreshold)
    before = state_before(GRAPHS["cnn_pool_before_bn"](), index)
    after = PoolAfterThreshold().apply(before)
    (moved,) = ops_of(after, MaxPool)
    moved.op = MaxPool(kernel=moved.op.kernel, strides=moved.op.strides, pads=moved.op.pads, use_min=None)
    x = frames(before)
    assert not np.allclose(run(after, x), run(before, x), rtol=1e-9)


# -- AccumulatorWidths -------------------------------------------------------------------


def brute_force_range(op: DotProduct, in_shape, lo: int, hi: int):
    """Per-row reachable [min, max] by walking every output position and its window."""
    w = op.weight.astype(np.int64)
    if isinstance(op, Dense):
        pos, neg = (w > 0).sum(axis=1), (w < 0).sum(axis=1)
        return pos * lo - neg * hi, pos * hi - neg * lo
    _, h, wd = in_shape
    kh, kw = op.kernel
    (sy, sx), (top, left, bottom, right) = op.strides, op.pads
    oh, ow = (h + top + bottom - kh) // sy + 1, (wd + left + right - kw) // sx + 1
    best_min = np.full(op.out_channels, np.iinfo(np.int64).max)
    best_max = np.full(op.out_channels, np.iinfo(np.int64).min)
    for oy in range(oh):
        for ox in range(ow):
            ys = [oy * sy - top + k for k in range(kh)]
            xs = [ox * sx - left + k for k in range(kw)]
            my = np.array([0 <= y < h for y in ys])
            mx = np.array([0 <= x < wd for x in xs])
            valid = my[:, None] & mx[None, :]
            taps = w * valid[None, None]
            pos, neg = (taps > 0).sum(axis=(1, 2, 3)), (taps < 0).sum(axis=(1, 2, 3))
            best_max = np.maximum(best_max, pos * hi - neg * lo)
            best_min = np.minimum(best_min, pos * lo - neg * hi)
    return best_min, best_max


def _extreme_input(op: DotProduct, in_type: TensorType, row: int, want_max: bool):
    """A graph input that drives the accumulator of ``row`` of a dot reading the graph
    input to its proven bound, at the output position where that bound is reached."""
    lo, hi = in_type.dtype.min, in_type.dtype.max
    w = op.weight.astype(np.int64)[row]
    pick = (lambda s: np.where(s > 0, hi, lo)) if want_max else (lambda s: np.where(s > 0, lo, hi))
    if isinstance(op, Dense):
        return pick(w)[None], ()
    _, h, wd = in_type.shape
    kh, kw = op.kernel
    (sy, sx), (top, left, bottom, right) = op.strides, op.pads
    oh, ow = (h + top + bottom - kh) // sy + 1, (wd + left + right - kw) // sx + 1
    best = None
    for oy in range(oh):
        for ox in range(ow):
            x = np.full(in_type.shape, lo if want_max else hi, np.int64)
            for ky in range(kh):
                for kx in range(kw):
                    y_, x_ = oy * sy - top + ky, ox * sx - left + kx
                    if 0 <= y_ < h and 0 <= x_ < wd:
                        x[:, y_, x_] = pick(w[:, ky, kx])
            value = int(np.sum(w * np.pad(x, ((0, 0), (top, bottom), (left, right)))[:, oy * sy : oy * sy + kh, ox * sx : ox * sx + kw]))
            if best is None or (value > best[0] if want_max else value < best[0]):
                best = (value, x, (oy, ox))
    return best[1][None], best[2]


@pytest.mark.parametrize(
    "name", ["cnn_pool_before_bn", "cnn_padded_first_conv", "cnn_bipolar_input_sign_head", "cnn_strict_stride2", "mlp"]
)
def test_accumulator_widths(name):
    index = stage_index(AccumulatorWidths)
    before = state_before(GRAPHS[name](), index)
    after = AccumulatorWidths().apply(before)
    verify(after)
    assert_same_outputs(before, after, frames(before))
    types = after.types()
    dots = ops_of(after, DotProduct)
    assert dots
    x = frames(after, seed=5)
    values = execute(after, x, keep_all=True)
    for node, old in zip(dots, ops_of(before, DotProduct), strict=True):
        in_type = types[node.inputs[0]]
        assert in_type.dtype.is_integer and node.op.weight.dtype == np.int8
        assert old.op.acc_min is None
        lo, hi = node.op.acc_min, node.op.acc_max
        assert lo.shape == hi.shape == (node.op.out_channels,)
        exp_lo, exp_hi = brute_force_range(node.op, in_type.shape, in_type.dtype.min, in_type.dtype.max)
        np.testing.assert_array_equal(lo, exp_lo)
        np.testing.assert_array_equal(hi, exp_hi)
        assert types[node.output].dtype == signed_width(int(lo.min()), int(hi.max()))
        acc = values[node.output]
        axes = tuple(i for i in range(acc.ndim) if i != 1)
        assert np.all(acc.min(axis=axes) >= lo) and np.all(acc.max(axis=axes) <= hi)
    # each bound is reached by one input (first dot reads the graph input)
    first = dots[0]
    assert first.inputs == (after.input_name,)
    for row in (0, first.op.out_channels - 1):
        for want_max in (True, False):
            x, where = _extreme_input(first.op, after.input_type, row, want_max)
            acc = execute(after, x, keep_all=True)[first.output][0, row][where]
            assert acc == (first.op.acc_max if want_max else first.op.acc_min)[row]


# -- FoldThresholds ----------------------------------------------------------------------


@pytest.mark.parametrize("name", CHAINS)
def test_fold_thresholds(name):
    index = stage_index(FoldThresholds)
    before = state_before(GRAPHS[name](), index)
    after = FoldThresholds().apply(before)
    verify(after)
    assert_same_outputs(before, after, frames(before), routes=("packed", "gemm"))

    assert not ops_of(after, Binarize)
    for dot in ops_of(after, DotProduct):
        nxt = consumer(after, dot)
        assert nxt is None or not isinstance(nxt.op, Binarize)
        if nxt is not None and isinstance(nxt.op, Affine):
            # only the last layer's affine (headed to the host) may stay behind a dot
            assert nxt.output == after.output_name
    thresholds = ops_of(after, Threshold)
    assert len(thresholds) == len(ops_of(before, Binarize))
    flipped_seen = constant_seen = False
    for node in thresholds:
        dot = after.producer(node.inputs[0])
        if dot is None or not isinstance(dot.op, DotProduct):
            # a threshold on the raw input or an integer pool: never flipped
            assert after.types()[node.inputs[0]].dtype.is_integer
            continue
        old_dot = before.producer(dot.output)
        old_affine = consumer(before, old_dot)
        scale = old_affine.op.scale if isinstance(old_affine.op, Affine) else np.ones(dot.op.out_channels)
        np.testing.assert_array_equal(dot.op.flipped, scale < 0)
        t = node.op.thresholds.reshape(dot.op.out_channels, -1)  # per channel: one, or one per position
        lo, hi = dot.op.acc_min[:, None], dot.op.acc_max[:, None]
        if node.op.positional:  # a constant channel has its thresholds at an end of the range
            assert not np.any(node.op.constant)
            at_end = np.all(t == lo, axis=1) | np.all(t == hi + 1, axis=1)
            assert np.all(at_end[scale == 0])
            constant_seen |= bool(np.any(scale == 0))
        else:
            np.testing.assert_array_equal(node.op.constant != 0, scale == 0)
            constant_seen |= bool(np.any(node.op.constant != 0))
        sign = np.where(scale < 0, -1, 1).reshape((-1,) + (1,) * (dot.op.weight.ndim - 1))
        np.testing.assert_array_equal(dot.op.weight, old_dot.op.weight * sign)
        np.testing.assert_array_equal(dot.op.acc_min, np.where(scale < 0, -old_dot.op.acc_max, old_dot.op.acc_min))
        np.testing.assert_array_equal(dot.op.acc_max, np.where(scale < 0, -old_dot.op.acc_min, old_dot.op.acc_max))
        assert node.op.thresholds.shape[-1] == 1
        assert np.all(t >= lo) and np.all(t <= hi + 1)
        flipped_seen |= bool(dot.op.flipped.any())
    assert flipped_seen and constant_seen


def test_fold_thresholds_on_raw_input():
    """Affine → Binarize on the uint8 input: thresholds on the raw pixel values, clamped to
    [0, 256]; a zero scale gives a constant channel. Checked on every pixel value 0…255."""
    chain = Chain((4, 16, 16), UINT8)
    chain.add("norm", Affine(scale=np.array([0.5, 2.0, 0.0, 1.0]), bias=np.array([-10.25, -511.0, -1.0, 3.0])))
    chain.add("sign", Binarize())
    before = chain.graph()
    after = FoldThresholds().apply(before)
    verify(after)
    verify_folded(after)
    (th,) = after.nodes
    assert isinstance(th.op, Threshold) and th.inputs == (before.input_name,)
    assert th.op.thresholds[:, 0].tolist()[:2] == [21, 256] and th.op.thresholds[3, 0] == 0
    assert th.op.constant.tolist() == [0, 0, -1, 0]
    x = np.broadcast_to(np.arange(256).reshape(1, 1, 16, 16), (1, 4, 16, 16))
    assert_same_outputs(before, after, x, routes=("packed", "gemm"))


def test_fold_thresholds_rejects_negative_scale_on_raw_input():
    chain = Chain((2,), UINT8)
    chain.add("norm", Affine(scale=np.array([1.0, -1.0]), bias=np.array([-3.0, 3.0])))
    chain.add("sign", Binarize())
    with pytest.raises(ModelError, match="negative scale"):
        FoldThresholds().apply(chain.graph())


def test_fold_thresholds_without_affine():
    """Dot → Binarize with no affine in between: thresholds at 0 (y ≥ 0), or 1 when strict."""
    rng = np.random.default_rng(4)
    for strict in (False, True):
        chain = Chain((2, 5, 5), BIPOLAR)
        chain.add("conv", Conv(weight=rng.choice([-1, 1], size=(4, 2, 2, 2)).astype(np.int8)))
        chain.add("sign", Binarize(strict=strict))
        before = AccumulatorWidths().apply(chain.graph())
        after = FoldThresholds().apply(before)
        verify(after)
        (th,) = ops_of(after, Threshold)
        np.testing.assert_array_equal(th.op.thresholds[:, 0], np.full(4, 1 if strict else 0))
        assert_same_outputs(before, after, frames(before), routes=("packed", "gemm"))


# -- HostOutputAffine --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cnn_pool_before_bn", "mlp", "cnn_dense_head", "mlp_dense_head", "cnn_bipolar_input_sign_head"])
def test_host_output_affine(name):
    index = stage_index(HostOutputAffine)
    before = state_before(GRAPHS[name](), index)
    after = HostOutputAffine().apply(before)
    verify(after)
    assert_same_outputs(before, after, frames(before), routes=("packed", "gemm"))
    last_before = before.producer(before.output_name)
    last = after.producer(after.output_name)
    if isinstance(last_before.op, Threshold):  # bipolar output: nothing for the host to do
        assert after.to_json() == before.to_json()
        return
    assert isinstance(last.op, OutputAffine)
    assert not ops_of(after, Affine)
    if isinstance(last_before.op, DotProduct):
        assert len(after.nodes) == len(before.nodes) + 1
        assert last.inputs == (before.output_name,)
        np.testing.assert_array_equal(last.op.scale, np.ones(last_before.op.out_channels))
        np.testing.assert_array_equal(last.op.bias, np.zeros(last_before.op.out_channels))
    else:
        np.testing.assert_array_equal(last.op.scale, last_before.op.scale)
        np.testing.assert_array_equal(last.op.bias, last_before.op.bias)
    assert after.types()[last.inputs[0]].dtype.is_integer


# -- NameTensorsAfterNodes ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["cnn_pool_before_bn", "mlp_strict_sign_head"])
def test_name_tensors_after_nodes(name):
    index = stage_index(NameTensorsAfterNodes)
    before = state_before(GRAPHS[name](), index)
    assert any(n.output != n.name for n in before.nodes)
    after = NameTensorsAfterNodes().apply(before)
    verify(after)
    assert_same_outputs(before, after, frames(before))
    assert all(n.output == n.name for n in after.nodes)
    assert after.output_name == after.nodes[-1].name
    assert [type(n.op) for n in after.nodes] == [type(n.op) for n in before.nodes]
    assert all(a.op is b.op for a, b in zip(after.nodes, before.nodes, strict=True))


def test_name_tensors_keeps_names_on_collision():
    chain = Chain((3,), BIPOLAR, input_name="fc0")  # node 'fc0' would take the input's name
    chain.add("fc", Dense(weight=np.ones((2, 3), np.int8)))
    before = chain.graph()
    after = NameTensorsAfterNodes().apply(before)
    verify(after)
    assert after.to_json() == before.to_json()


# -- the whole pipeline ------------------------------------------------------------------


def _check_fold(graph: Graph, seed: int) -> Graph:
    seen = []
    folded = fold(graph, on_stage=lambda name, g: seen.append(name))
    assert seen == ["frontend"] + STAGE_NAMES
    verify_folded(folded)
    for n in folded.nodes:
        assert not isinstance(n.op, (Affine, Binarize))
        if isinstance(n.op, DotProduct):
            assert n.op.weight.dtype == np.int8 and n.op.bias is None and n.op.acc_min is not None
    x = frames(graph, seed)
    assert_same_outputs(graph, folded, x, routes=("packed", "gemm"))
    return folded


@pytest.mark.parametrize("name", list(GRAPHS))
def test_fold_equals_unfolded(name):
    _check_fold(GRAPHS[name](), seed=1)


@pytest.mark.parametrize("seed", range(12))
def test_fold_equals_unfolded_random_cnn(seed):
    _check_fold(random_cnn(seed), seed)


@pytest.mark.parametrize("seed", range(4))
def test_fold_equals_unfolded_random_mlp(seed):
    rng = np.random.default_rng(seed)
    graph = mlp(
        100 + seed,
        features=int(rng.integers(3, 70)),
        hidden=tuple(int(v) for v in rng.integers(1, 70, size=int(rng.integers(1, 4)))),
        classes=int(rng.integers(2, 12)),
        strict=bool(rng.integers(2)),
        input_offset=bool(rng.integers(2)),
        head=str(rng.choice(["affine", "sign", "dense"])),
    )
    _check_fold(graph, seed)


def test_fold_does_not_mutate_input():
    graph = GRAPHS["cnn_pool_before_bn"]()
    text = graph.to_json()
    fold(graph)
    assert graph.to_json() == text


def test_fold_output_is_host_affine_on_integer_accumulators():
    folded = fold(GRAPHS["cnn_pool_before_bn"]())
    last = folded.producer(folded.output_name)
    assert isinstance(last.op, OutputAffine)
    dot = folded.producer(last.inputs[0])
    assert isinstance(dot.op, Dense)
    assert folded.types()[dot.output].dtype.kind == "int"


# -- onnx_tensors: a mapped tensor keeps exactly the values of its ONNX tensor -------------


@pytest.mark.parametrize("name", ["cnn_pool_before_bn", "cnn_pool_before_sign", "cnn_pool_after_sign", "mlp_strict_sign_head", "cnn_dense_head"])
def test_passes_keep_onnx_tensor_map_truthful(name):
    """The frontend maps every bipolar tensor (and the output) to its ONNX tensor; verify
    compares those hidden activations bit for bit. After every stage, each tensor still
    mapped must hold the same values as the tensor originally mapped to that ONNX name."""
    graph = GRAPHS[name]()
    types = graph.types()
    graph.onnx_tensors = {t: f"onnx::{t}" for t, ty in types.items() if ty.dtype == BIPOLAR and t != graph.input_name}
    graph.onnx_tensors[graph.output_name] = "onnx::output"
    x = frames(graph, seed=11)
    reference = execute(graph, x, keep_all=True)
    by_onnx = {o: reference[t] for t, o in graph.onnx_tensors.items()}
    assert len(graph.onnx_tensors) >= 2  # some hidden bipolar tensor besides the output
    g = graph
    for stage in stages():
        g = stage.apply(g)
        values = execute(g, x, keep_all=True)
        assert g.output_name in g.onnx_tensors and g.onnx_tensors[g.output_name] == "onnx::output", stage.name
        for tensor, onnx_name in g.onnx_tensors.items():
            assert tensor in values, f"{stage.name}: maps a tensor {tensor!r} that no longer exists"
            want = by_onnx[onnx_name]
            if np.issubdtype(want.dtype, np.floating):
                np.testing.assert_allclose(values[tensor], want, rtol=1e-9, err_msg=f"{stage.name}: {tensor}")
            else:
                np.testing.assert_array_equal(values[tensor], want, err_msg=f"{stage.name}: {tensor} → {onnx_name}")
    # the hidden activations are still compared after folding (the map was not just dropped)
    assert len(g.onnx_tensors) >= 2


# -- ONNX Sign ties (docs/DESIGN.md 3.2) ---------------------------------------------------------


def _sign_graph(bias: float) -> Graph:
    chain = Chain((4,), DType("int", 4))
    chain.add("fc", Dense(weight=np.array([[1, 1, -1, 1], [1, -1, 1, 1]], np.int8)))
    chain.add("bn", Affine(scale=np.array([0.5, 0.25]), bias=np.array([bias, -0.3])))
    chain.add("sign", Binarize(onnx_sign=True))
    return AccumulatorWidths().apply(chain.graph())


@pytest.mark.parametrize("fan_in, tau, reachable", [(4, 2, True), (4, 1, False), (5, 1, True), (5, 0, False), (4, 5, False)])
def test_sign_tie_warning_respects_bipolar_parity(fan_in, tau, reachable):
    """A ±1 dot product of fan-in n (no padding) only reaches y ≡ n (mod 2) in [−n, n]:
    z = y − τ can be exactly 0 only when τ is such a value."""
    chain = Chain((fan_in,), BIPOLAR)
    chain.add("fc", Dense(weight=np.ones((1, fan_in), np.int8)))
    chain.add("bn", Affine(scale=np.array([1.0]), bias=np.array([-float(tau)])))
    chain.add("sign", Binarize(onnx_sign=True))
    after = FoldThresholds().apply(AccumulatorWidths().apply(chain.graph()))
    assert bool(after.notes) == reachable, after.notes


def test_fold_thresholds_warns_about_reachable_sign_ties():
    tied = FoldThresholds().apply(_sign_graph(-1.5))  # y = 3 gives exactly 0 on channel 0
    assert any("sign" in note.lower() and "[0]" in note for note in tied.notes), tied.notes
    clean = FoldThresholds().apply(_sign_graph(-1.25))  # τ = 2.5: no integer y gives 0
    assert not clean.notes
    assert_same_outputs(_sign_graph(-1.5), tied, frames(_sign_graph(-1.5)))


# -- float rounding at threshold ties ----------------------------------------------------


def test_fold_thresholds_matches_golden_float_evaluation_at_rounding_tie():
    chain = Chain((3,), uint(8))
    chain.add("fc", Dense(weight=np.ones((1, 3), np.int8)))
    chain.add("bn", Affine(scale=np.array([0.1]), bias=np.array([-0.30000000000000004])))
    chain.add("sign", Binarize())
    before = AccumulatorWidths().apply(chain.graph())
    after = FoldThresholds().apply(before)
    x = np.array([[1, 1, 1]])  # accumulator y = 3
    np.testing.assert_array_equal(run(after, x), run(before, x))
