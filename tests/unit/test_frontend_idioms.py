"""Every idiom the plain ONNX frontend (bnnfpga/frontend/onnx.py) recognises, one small
hand-written graph each: the IR ops it becomes, and, where the graph folds, the golden model
on the folded graph against onnxruntime on random integer frames; each unsupported form
raises a ModelError that names the node and its op. The QONNX quantizers are in
tests/unit/test_frontend_qonnx.py."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from bnnfpga import golden
from bnnfpga.errors import BnnfpgaError, ModelError
from bnnfpga.frontend import import_model
from bnnfpga.ir.ops import (
    Affine,
    Binarize,
    Clamp,
    Conv,
    Dense,
    IntegerAffine,
    MaxPool,
    Quantize,
    Reshape,
    SumPool,
    Threshold,
)
from bnnfpga.ir.types import uint
from bnnfpga.passes.pipeline import fold
from tests.onnx_graphs import bn, bn_inits, signs

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the reference: pip install onnxruntime (dev extra)")

FRAMES = 24


# -- building and running graphs ----------------------------------------------------------------

def onnx_model(nodes, inits: dict, in_shape, opset: int = 13, inputs=None, outputs=("y",)) -> onnx.ModelProto:
    """A model with one float input x (N, *in_shape) (``inputs`` overrides it) and float outputs
    of unspecified shape; integer arrays in ``inits`` keep their dtype, the rest are float32."""
    def tensor(name, value):
        value = np.asarray(value)
        return numpy_helper.from_array(value if value.dtype.kind in "iub" else value.astype(np.float32), name)

    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])]
    graph = helper.make_graph(nodes, "idiom", inputs, [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                              [tensor(k, v) for k, v in inits.items()])
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = helper.find_min_ir_version_for(opsets)
    return model


def node(op_type: str, inputs, output: str, name: str, **attrs):
    return helper.make_node(op_type, list(inputs), [output], name=name, **attrs)


def binary_net(middle, inits: dict, features: int = 64, in_shape=(3, 6, 6), activation: str | None = "Sign",
               conv_attrs: dict | None = None, seed: int = 0, opset: int = 13) -> onnx.ModelProto:
    """x → Conv 3x3 'conv' (4 channels of ±1 weights) → c → ``middle`` (c → m) → [``activation``
    'sign'] → Flatten 'flat' → MatMul 'fc' (±1, ``features`` inputs, 5 classes) → y."""
    rng = np.random.default_rng(seed)
    nodes = [node("Conv", ["x", "w"], "c", "conv", **(conv_attrs or {})), *middle]
    last = "m"
    if activation:
        nodes.append(node(activation, ["m"], "s", "sign"))
        last = "s"
    nodes += [node("Flatten", [last], "f", "flat"), node("MatMul", ["f", "fc_w"], "y", "fc")]
    inits = {"w": signs(rng, (4, in_shape[0], 3, 3)), "fc_w": signs(rng, (features, 5)), **inits}
    return onnx_model(nodes, inits, in_shape, opset)


def onnxruntime_output(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {model.graph.input[0].name: x.astype(np.float32)})[0]


def matches_onnxruntime(model: onnx.ModelProto, input_bits: int = 8, input_scale: float = 1.0, seed: int = 1):
    """Import, fold, and require the golden model's output on random frames to equal
    onnxruntime's on the same frames times ``input_scale``; returns (imported, folded)."""
    graph = import_model(model, input_bits=input_bits, input_scale=input_scale)
    folded = fold(graph)
    x = np.random.default_rng(seed).integers(0, 1 << input_bits, size=(FRAMES,) + graph.input_type.shape)
    got = golden.predict(folded, x)
    want = onnxruntime_output(model, x * np.float32(input_scale))
    assert got.shape == want.shape
    assert len(np.unique(want)) > 1, "the reference output is constant: the test would prove little"
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()))
    return graph, folded


def kinds(graph) -> list[str]:
    return [type(n.op).__name__ for n in graph.nodes]


def op_of(graph, source: str, kind: type):
    """The IR op of type ``kind`` emitted for the ONNX node ``source``."""
    found = [n.op for n in graph.nodes if n.source == source and isinstance(n.op, kind)]
    assert len(found) == 1, f"{source}: {[(n.source, type(n.op).__name__) for n in graph.nodes]}"
    return found[0]


def import_error(model, **options) -> str:
    with pytest.raises(ModelError) as info:
        import_model(model, **options)
    return str(info.value)


def fold_error(model, **options) -> str:
    graph = import_model(model, **options)
    with pytest.raises(ModelError) as info:
        fold(graph)
    return str(info.value)


def named(message: str, name: str, op: str) -> bool:
    """The message names the node and its op (and the opset, where the frontend read the op;
    the passes name IR nodes)."""
    return re.search(rf"node {re.escape(repr(name))} \({re.escape(op)}(, opset \d+)?\): ", message) is not None


HALF = {"half": 0.5}
CENTRE = [node("Add", ["c", "half"], "m", "centre")]  # integer accumulators + 0.5: Sign never sees 0


# -- Conv, Gemm, MatMul --------------------------------------------------------------------------

@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
def test_conv_with_and_without_bias_keeps_strides_and_pads(bias):
    rng = np.random.default_rng(2)
    w = signs(rng, (4, 3, 3, 3)) * rng.uniform(0.5, 2, (4, 1, 1, 1))
    b = rng.normal(size=4)
    nodes = [node("Conv", ["x", "w"] + (["b"] if bias else []), "y", "conv", pads=[1, 0, 0, 2], strides=[2, 1])]
    model = onnx_model(nodes, {"w": w, "b": b}, (3, 6, 7))
    graph, folded = matches_onnxruntime(model)
    assert kinds(graph) == ["Conv"]
    conv = graph.nodes[0].op
    np.testing.assert_allclose(conv.weight, w.astype(np.float32))
    assert (conv.bias is not None) == bias and (not bias or np.allclose(conv.bias, b.astype(np.float32)))
    assert conv.strides == (2, 1) and conv.pads == (1, 0, 0, 2)
    assert str(folded.nodes[0].op.weight_dtype) == "bipolar"


@pytest.mark.parametrize("auto_pad, pads", [("SAME_UPPER", (0, 0, 1, 1)), ("SAME_LOWER", (1, 1, 0, 0)),
                                            ("VALID", (0, 0, 0, 0))])
def test_conv_auto_pad(auto_pad, pads):
    rng = np.random.default_rng(3)
    model = onnx_model([node("Conv", ["x", "w"], "y", "conv", auto_pad=auto_pad, kernel_shape=[2, 2])],
                       {"w": signs(rng, (3, 2, 2, 2))}, (2, 5, 5))
    graph, _ = matches_onnxruntime(model)
    assert graph.nodes[0].op.pads == pads


def _conv_model(w_shape=(4, 3, 3, 3), in_shape=(3, 6, 6), inputs=("x", "w"), **attrs):
    rng = np.random.default_rng(4)
    return onnx_model([node("Conv", inputs, "y", "conv", **attrs)], {"w": signs(rng, w_shape)}, in_shape)


@pytest.mark.parametrize("model, words", [
    (lambda: _conv_model((3, 1, 3, 3), group=3), "grouped convolution (group=3)"),
    (lambda: _conv_model(dilations=[2, 2]), "dilated convolution"),
    (lambda: _conv_model(inputs=("x", "x")), "Conv needs constant weights and bias"),
    (lambda: _conv_model((4, 3, 3), (3, 6)), "Conv needs an (N, C, H, W) input"),
    (lambda: _conv_model((4, 3, 3)), "only 2-D convolution"),
    (lambda: _conv_model((4, 2, 3, 3)), "weight has 2 input channels, activation has 3"),
], ids=["grouped", "dilated", "dynamic-weights", "1-d-input", "1-d-kernel", "channels"])
def test_conv_forms_without_an_engine_are_named(model, words):
    message = import_error(model())
    assert named(message, "conv", "Conv") and words in message, message


@pytest.mark.parametrize("trans_b, alpha, beta, c_shape", [(1, 1.0, 1.0, (5,)), (0, 0.5, 2.0, (1, 5)), (1, 1.0, 1.0, None),
                                                           (0, 1.0, 3.0, ())], ids=["transB", "alpha-beta", "no-C", "scalar-C"])
def test_gemm_reads_alpha_beta_transposition_and_bias(trans_b, alpha, beta, c_shape):
    rng = np.random.default_rng(5)
    b = signs(rng, (5, 12)) * rng.uniform(0.5, 2, (5, 1))
    c = rng.normal(size=c_shape) if c_shape is not None else None
    inputs = ["x", "b"] + (["bias"] if c is not None else [])
    model = onnx_model([node("Gemm", inputs, "y", "fc", transB=trans_b, alpha=alpha, beta=beta)],
                       {"b": b if trans_b else b.T, **({"bias": c} if c is not None else {})}, (12,))
    graph, _ = matches_onnxruntime(model)
    (dense,) = [n.op for n in graph.nodes]
    assert isinstance(dense, Dense)
    np.testing.assert_allclose(dense.weight, alpha * b.astype(np.float32))
    if c is None:
        assert dense.bias is None
    else:
        np.testing.assert_allclose(dense.bias, np.broadcast_to(beta * c.astype(np.float32).reshape(-1), (5,)))


def test_matmul_is_a_dense_layer_without_bias():
    rng = np.random.default_rng(6)
    w = signs(rng, (12, 5))
    graph, _ = matches_onnxruntime(onnx_model([node("MatMul", ["x", "w"], "y", "fc")], {"w": w}, (12,)))
    (dense,) = [n.op for n in graph.nodes]
    assert isinstance(dense, Dense) and dense.bias is None
    np.testing.assert_array_equal(dense.weight, w.T)


@pytest.mark.parametrize("nodes, in_shape, op, words", [
    ([node("Gemm", ["x", "b"], "y", "fc", transA=1)], (12,), "Gemm", "transA=0"),
    ([node("Gemm", ["x", "b", "bad_c"], "y", "fc", transB=1)], (12,), "Gemm", "Gemm with C of shape (2, 5)"),
    ([node("Gemm", ["x", "b"], "y", "fc", transB=1)], (3, 2, 2), "Gemm", "needs a flat (N, F) input"),
    ([node("MatMul", ["w", "x"], "y", "fc")], (5,), "MatMul", "MatMul needs the activation first"),
    ([node("Gemm", ["x", "x"], "y", "fc")], (12,), "Gemm", "constant B, C"),
], ids=["transA", "C-shape", "not-flat", "weight-first", "dynamic-B"])
def test_dense_forms_without_an_engine_are_named(nodes, in_shape, op, words):
    rng = np.random.default_rng(7)
    model = onnx_model(nodes, {"b": signs(rng, (5, 12)), "bad_c": rng.normal(size=(2, 5)), "w": signs(rng, (12, 5))}, in_shape)
    message = import_error(model)
    assert named(message, "fc", op) and words in message, message


# -- BatchNormalization and per-channel arithmetic ----------------------------------------------

def test_batchnorm_is_a_per_channel_affine_with_its_epsilon():
    rng = np.random.default_rng(8)
    inits = bn_inits(rng, "bn", 4, 100)
    inits["bn_g"] = np.array([-1.5, 0.0, 0.8, 1.2])  # a flipped channel, a constant one, two plain ones
    eps = 1e-2
    nodes = [helper.make_node("BatchNormalization", ["c", "bn_g", "bn_b", "bn_m", "bn_v"], ["m"], name="bn", epsilon=eps)]
    graph, folded = matches_onnxruntime(binary_net(nodes, inits))
    assert kinds(graph) == ["Conv", "Affine", "Binarize", "Reshape", "Dense"]
    g, b, m, v = (inits[f"bn_{k}"].astype(np.float32).astype(np.float64) for k in "gbmv")
    scale = g / np.sqrt(v + np.float64(np.float32(eps)))
    affine = op_of(graph, "bn", Affine)
    np.testing.assert_allclose(affine.scale, scale, rtol=1e-12)
    np.testing.assert_allclose(affine.bias, b - m * scale, rtol=1e-12)
    threshold = next(n.op for n in folded.nodes if isinstance(n.op, Threshold))
    assert threshold.constant[1] != 0 and threshold.constant[0] == 0  # γ = 0: a constant channel
    assert folded.nodes[0].op.flipped[0] and not folded.nodes[0].op.flipped[2:].any()


def test_batchnorm_in_training_mode_is_named():
    rng = np.random.default_rng(9)
    nodes = [helper.make_node("BatchNormalization", ["c", "bn_g", "bn_b", "bn_m", "bn_v"], ["m", "rm", "rv"], name="bn",
                              training_mode=1)]
    message = import_error(binary_net(nodes, bn_inits(rng, "bn", 4, 100), opset=15))
    assert named(message, "bn", "BatchNormalization") and "training mode" in message


PER_CHANNEL = np.array([0.7, -1.3, 2.1, 0.4]).reshape(1, 4, 1, 1)


@pytest.mark.parametrize("op_type, const_first, scale, bias", [
    ("Add", False, 1.0, PER_CHANNEL), ("Add", True, 1.0, PER_CHANNEL),
    ("Sub", False, 1.0, -PER_CHANNEL), ("Sub", True, -1.0, PER_CHANNEL),
    ("Mul", False, PER_CHANNEL, 0.0), ("Mul", True, PER_CHANNEL, 0.0),
    ("Div", False, 1 / PER_CHANNEL, 0.0),
])
def test_per_channel_arithmetic_is_an_affine(op_type, const_first, scale, bias):
    inputs = ["k", "c"] if const_first else ["c", "k"]
    middle = [node(op_type, inputs, "t", "op"), node("Add", ["t", "half"], "m", "centre")]
    k = PER_CHANNEL.reshape(4, 1, 1) if op_type == "Mul" else PER_CHANNEL  # both broadcast per channel
    graph, _ = matches_onnxruntime(binary_net(middle, {"k": k, **HALF}))
    affine = op_of(graph, "op", Affine)
    np.testing.assert_allclose(affine.scale, np.broadcast_to(np.float32(scale), (1, 4, 1, 1)).reshape(-1), rtol=1e-6)
    np.testing.assert_allclose(affine.bias, np.broadcast_to(np.float32(bias), (1, 4, 1, 1)).reshape(-1), rtol=1e-6)


def test_scalar_arithmetic_applies_to_every_channel():
    middle = [node("Mul", ["c", "k"], "t", "op"), node("Add", ["t", "half"], "m", "centre")]
    graph, _ = matches_onnxruntime(binary_net(middle, {"k": np.float32(-0.3), **HALF}))
    np.testing.assert_array_equal(op_of(graph, "op", Affine).scale, np.full(4, np.float32(-0.3)))


def test_neg_flips_every_row():
    middle = [node("Neg", ["c"], "t", "op"), node("Add", ["t", "half"], "m", "centre")]
    graph, folded = matches_onnxruntime(binary_net(middle, HALF))
    affine = op_of(graph, "op", Affine)
    assert np.all(affine.scale == -1) and np.all(affine.bias == 0)
    assert folded.nodes[0].op.flipped.all()


@pytest.mark.parametrize("op_type, inputs, k, words", [
    ("Mul", ["c", "c"], 1.0, "multiply merge"),
    ("Sub", ["c", "c"], 1.0, "two branches join by Add"),
    ("Mul", ["c", "k"], np.arange(64.0).reshape(1, 4, 4, 4), "varies over spatial positions"),
    ("Add", ["c", "k"], np.ones(5), "does not broadcast against (1, 4, 4, 4)"),
    ("Sub", ["c", "k"], np.ones((1, 1, 1, 1, 4)), "does not broadcast per channel"),
    ("Div", ["c", "k"], np.array([1.0, 0.0, 2.0, 3.0]).reshape(4, 1, 1), "division by zero"),
    ("Div", ["k", "c"], 2.0, "division of a constant by an activation"),
], ids=["multiply-merge", "difference", "spatial", "broadcast", "rank", "div-zero", "const-over-x"])
def test_arithmetic_without_a_per_channel_form_is_named(op_type, inputs, k, words):
    message = import_error(binary_net([node(op_type, inputs, "m", "op")], {"k": k}))
    assert named(message, "op", op_type) and words in message, message


# -- binarisation: Where(x <cmp> c, a, b) and Sign ----------------------------------------------

COMPLEMENT = {"GreaterOrEqual": "Greater", "Greater": "GreaterOrEqual", "LessOrEqual": "Less", "Less": "LessOrEqual"}
THRESHOLDS = np.array([0.0, 1.0, -2.0, 3.0]).reshape(1, 4, 1, 1)


def where_net(op_type: str, const_first: bool, c=THRESHOLDS, hi=1.0, lo=-1.0) -> onnx.ModelProto:
    """{0, 1} frames → Conv (18 ±1 taps, so every integer from −18 to 18 is reachable, ties
    included) → Where(<cmp>(acc, c), hi, lo) → Flatten → MatMul."""
    inputs = ["k", "c"] if const_first else ["c", "k"]
    middle = [node(op_type, inputs, "cond", "compare"), node("Where", ["cond", "hi", "lo"], "m", "where")]
    return binary_net(middle, {"k": c, "hi": hi, "lo": lo}, features=36, in_shape=(2, 5, 5), activation=None)


@pytest.mark.parametrize("op_type, const_first, strict, flip", [
    ("GreaterOrEqual", False, False, False), ("Greater", False, True, False),
    ("LessOrEqual", False, False, True), ("Less", False, True, True),
    ("GreaterOrEqual", True, False, True), ("Less", True, True, False),  # c >= x is x <= c; c < x is x > c
])
def test_where_on_a_comparison_is_binarisation(op_type, const_first, strict, flip):
    model = where_net(op_type, const_first)
    graph, _ = matches_onnxruntime(model, input_bits=1)
    assert kinds(graph) == ["Conv", "Affine", "Binarize", "Reshape", "Dense"]
    affine, binarize = op_of(graph, "where", Affine), op_of(graph, "where", Binarize)
    c = THRESHOLDS.reshape(-1)
    np.testing.assert_array_equal((affine.scale, affine.bias), (-np.ones(4), c) if flip else (np.ones(4), -c))
    assert binarize.strict == strict and not binarize.onnx_sign
    # The frames reach the ties: the other strictness would give other outputs.
    x = np.random.default_rng(1).integers(0, 2, size=(FRAMES, 2, 5, 5)).astype(np.float32)
    assert not np.array_equal(onnxruntime_output(model, x), onnxruntime_output(where_net(COMPLEMENT[op_type], const_first), x))


def test_where_against_zero_needs_no_affine():
    graph, _ = matches_onnxruntime(where_net("GreaterOrEqual", False, c=np.float32(0)), input_bits=1)
    assert kinds(graph) == ["Conv", "Binarize", "Reshape", "Dense"]


@pytest.mark.parametrize("hi, lo", [(1.0, 0.0), (0.5, -1.5)], ids=["heaviside", "other-levels"])
def test_where_with_other_branches_is_binarisation_then_an_affine(hi, lo):
    graph, _ = matches_onnxruntime(where_net("Greater", False, hi=hi, lo=lo), input_bits=1)
    assert kinds(graph) == ["Conv", "Affine", "Binarize", "Affine", "Reshape", "Dense"]
    after = graph.nodes[3].op
    np.testing.assert_allclose((after.scale, after.bias), (np.full(4, (hi - lo) / 2), np.full(4, (hi + lo) / 2)))


@pytest.mark.parametrize("middle, words", [
    ([node("Greater", ["c", "k"], "cond", "compare"), node("Where", ["cond", "hi", "hi"], "m", "where")], "equal branches"),
    ([node("Greater", ["c", "k"], "cond", "compare"), node("Where", ["cond", "c", "lo"], "m", "where")], "with constant a, b"),
], ids=["equal-branches", "dynamic-branch"])
def test_where_that_is_not_a_binarisation_is_named(middle, words):
    message = import_error(binary_net(middle, {"k": 0.0, "hi": 1.0, "lo": -1.0}, activation=None))
    assert named(message, "where", "Where") and words in message, message


def test_sign_is_binarisation_with_zero_to_plus_one_and_a_note():
    graph, folded = matches_onnxruntime(binary_net(CENTRE, HALF))
    binarize = op_of(graph, "sign", Binarize)
    assert binarize.onnx_sign and not binarize.strict
    assert any("'sign' (Sign): read as binarisation x >= 0 → +1" in note for note in graph.notes)
    assert kinds(folded)[:2] == ["Conv", "Threshold"]


# -- pooling -------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["before-batchnorm", "after-sign"])
def test_max_pool_anywhere_around_the_threshold(where):
    rng = np.random.default_rng(10)
    pool = node("MaxPool", ["c" if where == "before-batchnorm" else "s"], "p", "pool", kernel_shape=[3, 3], strides=[2, 2],
                pads=[1, 1, 1, 1])
    if where == "before-batchnorm":
        nodes = [node("Conv", ["x", "w"], "c", "conv"), pool, bn("bn", "p", "b"), node("Sign", ["b"], "s", "sign"),
                 node("Flatten", ["s"], "f", "flat")]
    else:
        nodes = [node("Conv", ["x", "w"], "c", "conv"), bn("bn", "c", "b"), node("Sign", ["b"], "s", "sign"), pool,
                 node("Flatten", ["p"], "f", "flat")]
    nodes.append(node("MatMul", ["f", "fc_w"], "y", "fc"))
    model = onnx_model(nodes, {"w": signs(rng, (4, 3, 3, 3)), "fc_w": signs(rng, (16, 5)), **bn_inits(rng, "bn", 4, 100)},
                       (3, 6, 6))
    graph, folded = matches_onnxruntime(model)
    pool_op = op_of(graph, "pool", MaxPool)
    assert pool_op.kernel == (3, 3) and pool_op.strides == (2, 2) and pool_op.pads == (1, 1, 1, 1)
    assert any(isinstance(n.op, MaxPool) for n in folded.nodes)


def _pool_net(size: int, pool_op: str = "MaxPool", features: int = 36, opset: int = 13, **attrs) -> onnx.ModelProto:
    middle = [node("Add", ["c", "half"], "t", "centre"), node(pool_op, ["t"], "m", "pool", **attrs)]
    return binary_net(middle, HALF, features=features, in_shape=(3, size, size), opset=opset)


def test_max_pool_ceil_mode_becomes_padding():
    """7x7 → conv 5x5 → 2x2/2 with ceil_mode: 3x3 windows, the last cut by the border."""
    graph, _ = matches_onnxruntime(_pool_net(7, kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1))
    assert op_of(graph, "pool", MaxPool).pads == (0, 0, 1, 1)


def test_max_pool_ceil_mode_window_in_the_padding_needs_opset_19():
    """conv 5x5, pads 1, 2x2/2 with ceil_mode: a fourth window would start in the padding;
    ONNX before opset 19 keeps it (value undefined), opset 19 drops it as PyTorch does."""
    attrs = dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)
    message = import_error(_pool_net(7, **attrs))
    assert named(message, "pool", "MaxPool") and "entirely in the padding" in message
    # No dense head: ONNX shape inference (onnx 1.23) still counts 4x4 windows, and would
    # refuse the MatMul behind them, although onnxruntime computes 3x3.
    rng = np.random.default_rng(10)
    nodes = [node("Conv", ["x", "w"], "c", "conv"), *CENTRE, node("MaxPool", ["m"], "p", "pool", **attrs),
             node("Sign", ["p"], "y", "sign")]
    graph, _ = matches_onnxruntime(onnx_model(nodes, {"w": signs(rng, (4, 3, 3, 3)), **HALF}, (3, 7, 7), opset=19))
    assert op_of(graph, "pool", MaxPool).pads == (1, 1, 1, 1)
    assert graph.types()[graph.output_name].shape == (4, 3, 3)


@pytest.mark.parametrize("nodes, words", [
    ([helper.make_node("MaxPool", ["t"], ["m", "idx"], name="pool", kernel_shape=[2, 2])], "indices output"),
    ([node("MaxPool", ["t"], "m", "pool", kernel_shape=[2, 2], dilations=[2, 2])], "dilated max-pooling"),
    ([node("Flatten", ["t"], "t2", "early_flat"), node("MaxPool", ["t2"], "m", "pool", kernel_shape=[2])],
     "MaxPool needs an (N, C, H, W) input"),
], ids=["indices", "dilated", "flat-input"])
def test_max_pool_forms_without_an_engine_are_named(nodes, words):
    message = import_error(binary_net([node("Add", ["c", "half"], "t", "centre"), *nodes], HALF))
    assert named(message, "pool", "MaxPool") and words in message, message


@pytest.mark.parametrize("attrs, pads, taps", [
    (dict(kernel_shape=[2, 2], strides=[2, 2]), (0, 0, 0, 0), 4),
    (dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1), (1, 1, 1, 1), 9),
], ids=["no-padding", "count-include-pad"])
def test_average_pool_is_a_sum_pool_times_one_over_taps(attrs, pads, taps):
    middle = [node("Add", ["c", "half"], "t", "centre"), node("Sign", ["t"], "s", "sign0"),
              node("AveragePool", ["s"], "m", "pool", **attrs)]
    graph, folded = matches_onnxruntime(binary_net(middle, HALF, features=16, activation=None))
    pool = op_of(graph, "pool", SumPool)
    assert pool.kernel == tuple(attrs["kernel_shape"]) and pool.strides == (2, 2) and pool.pads == pads
    np.testing.assert_allclose(op_of(graph, "pool", Affine).scale, np.full(4, 1 / taps))
    assert any(isinstance(n.op, SumPool) for n in folded.nodes)


@pytest.mark.parametrize("attrs, words", [
    (dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]), "count_include_pad=0"),
    (dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1), "dilated or ceil_mode"),
], ids=["padding-not-counted", "ceil-mode"])
def test_average_pool_forms_without_an_exact_sum_are_named(attrs, words):
    message = import_error(_pool_net(6, "AveragePool", **attrs))
    assert named(message, "pool", "AveragePool") and words in message, message


def _global_average_net(pool_nodes, opset: int = 13, inits=None):
    middle = [node("Add", ["c", "half"], "t", "centre"), node("Sign", ["t"], "s", "sign0"), *pool_nodes]
    return binary_net(middle, {**HALF, **(inits or {})}, features=4, activation=None, opset=opset)


def test_global_average_pool_sums_the_whole_plane():
    graph, _ = matches_onnxruntime(_global_average_net([node("GlobalAveragePool", ["s"], "m", "pool")]))
    pool = op_of(graph, "pool", SumPool)
    assert pool.kernel == (4, 4) and pool.strides == (4, 4)
    np.testing.assert_allclose(op_of(graph, "pool", Affine).scale, np.full(4, 1 / 16))


@pytest.mark.parametrize("opset, axes, keepdims", [(13, [2, 3], 1), (13, [-1, -2], 0), (18, [3, 2], 1), (18, [2, -1], 0)],
                         ids=["attr-keepdims", "attr-negative-axes", "input-axes", "input-axes-no-keepdims"])
def test_reduce_mean_over_height_and_width_is_a_global_average_pool(opset, axes, keepdims):
    if opset >= 18:
        pool = [node("ReduceMean", ["s", "axes"], "m", "pool", keepdims=keepdims)]
        inits = {"axes": np.array(axes, np.int64)}
    else:
        pool, inits = [node("ReduceMean", ["s"], "m", "pool", axes=axes, keepdims=keepdims)], {}
    graph, _ = matches_onnxruntime(_global_average_net(pool, opset, inits))
    assert op_of(graph, "pool", SumPool).kernel == (4, 4)
    assert kinds(graph)[-3:] == ["Affine", "Reshape", "Dense"]
    if not keepdims:
        assert op_of(graph, "pool", Reshape).shape == (4,)


@pytest.mark.parametrize("axes", [[1], [1, 2, 3], [3]])
def test_reduce_mean_over_other_axes_is_named(axes):
    message = import_error(_global_average_net([node("ReduceMean", ["s"], "m", "pool", axes=axes)]))
    assert named(message, "pool", "ReduceMean") and "over the two spatial axes" in message, message


# -- shapes --------------------------------------------------------------------------------------

def test_flatten_is_a_reshape_to_a_vector():
    graph, _ = matches_onnxruntime(binary_net(CENTRE, HALF))
    assert op_of(graph, "flat", Reshape).shape == (64,)


@pytest.mark.parametrize("target", [[0, -1], [-1, 64], [1, 64], [1, -1]])
def test_reshape_to_a_vector(target):
    middle = [*CENTRE, node("Sign", ["m"], "s0", "sign0"), node("Reshape", ["s0", "shape"], "r", "reshape")]
    model = binary_net(middle, {**HALF, "shape": np.array(target, np.int64)}, activation=None)
    model.graph.node[-2].input[0] = "r"  # the Flatten behind it is then a no-op
    # (1, F) is how an exporter with a fixed batch of 1 writes it: read as the batch, but
    # onnxruntime would refuse a batch of frames, so those two are only imported.
    graph = matches_onnxruntime(model)[0] if target[0] != 1 else import_model(model)
    assert op_of(graph, "reshape", Reshape).shape == (64,)
    assert not [n for n in graph.nodes if n.source == "flat"]  # flattening a vector adds nothing


def test_batch_size_from_shape_is_folded_as_a_constant():
    """torch's legacy x.view(x.size(0), -1): Shape → Gather → Unsqueeze → Concat → Reshape."""
    middle = [*CENTRE, node("Sign", ["m"], "s0", "sign0"), node("Shape", ["s0"], "shp", "shape"),
              node("Gather", ["shp", "zero"], "n", "batch", axis=0), node("Unsqueeze", ["n", "zero_axes"], "n1", "unsq"),
              node("Concat", ["n1", "minus_one"], "target", "concat", axis=0), node("Reshape", ["s0", "target"], "r", "reshape")]
    inits = {**HALF, "zero": np.array(0, np.int64), "zero_axes": np.array([0], np.int64), "minus_one": np.array([-1], np.int64)}
    model = binary_net(middle, inits, activation=None)
    model.graph.node[-2].input[0] = "r"
    graph, _ = matches_onnxruntime(model)
    assert kinds(graph) == ["Conv", "Affine", "Binarize", "Reshape", "Dense"]


@pytest.mark.parametrize("target, words", [
    ([2, -1], "changes the batch dimension"), ([0, 4, 16], "only flattening to (N, F) is supported"),
    ([-1, -1], "is ambiguous"), ([0, 7], "cannot reshape"), ("dynamic", "Reshape needs a constant shape"),
])
def test_reshape_forms_without_an_engine_are_named(target, words):
    shape = "t" if target == "dynamic" else "shape"
    inits = {**HALF} if target == "dynamic" else {**HALF, "shape": np.array(target, np.int64)}
    message = import_error(binary_net([node("Add", ["c", "half"], "t", "centre"), node("Reshape", ["t", shape], "m", "reshape")],
                                      inits))
    assert named(message, "reshape", "Reshape") and words in message, message


def test_flatten_on_another_axis_is_named():
    middle = [node("Add", ["c", "half"], "t", "centre"), node("Flatten", ["t"], "m", "flat2", axis=2)]
    message = import_error(binary_net(middle, HALF))
    assert named(message, "flat2", "Flatten") and "axis=1 only" in message


def test_identity_and_dropout_pass_the_activation_through():
    middle = [node("Identity", ["c"], "i", "identity"), node("Dropout", ["i"], "d", "dropout"),
              node("Add", ["d", "half"], "m", "centre")]
    graph, _ = matches_onnxruntime(binary_net(middle, HALF))
    assert kinds(graph) == ["Conv", "Affine", "Binarize", "Reshape", "Dense"]
    assert not [n for n in graph.nodes if n.source in ("identity", "dropout")]


def test_dropout_mask_output_is_named():
    middle = [helper.make_node("Dropout", ["c"], ["d", "mask"], name="dropout"), node("Add", ["d", "half"], "m", "centre")]
    message = import_error(binary_net(middle, HALF))
    assert named(message, "dropout", "Dropout") and "mask output" in message


# -- k-bit activations: Clip/Relu → Mul/Div → Round (PACT, DoReFa) and QCDQ ----------------------

def _pact_net(clip_nodes, to_levels: str = "Mul", alpha: float = 3.0):
    """conv → bn → <clip_nodes> (b → clipped) → Mul 3/α or Div α/3 → Round → Mul α/3 → …: 2 bits."""
    rng = np.random.default_rng(11)
    factor = 3 / alpha if to_levels == "Mul" else alpha / 3
    middle = [bn("bn", "c", "b"), *clip_nodes, node(to_levels, ["clipped", "factor"], "z", "to_levels"),
              node("Round", ["z"], "q", "round"), node("Mul", ["q", "step"], "m", "from_levels")]
    inits = {**bn_inits(rng, "bn", 4, 100), "zero": 0.0, "alpha": alpha, "factor": factor, "step": alpha / 3}
    return binary_net(middle, inits, activation=None, seed=11)


@pytest.mark.parametrize("clip, to_levels", [
    ([node("Clip", ["b", "zero", "alpha"], "clipped", "clip")], "Mul"),
    ([node("Clip", ["b", "zero", "alpha"], "clipped", "clip")], "Div"),
    ([node("Relu", ["b"], "r", "relu"), node("Clip", ["r", "", "alpha"], "clipped", "clip")], "Mul"),
], ids=["clip-mul", "clip-div", "relu-clip"])
def test_clip_scale_round_is_a_k_bit_quantizer(clip, to_levels):
    graph, folded = matches_onnxruntime(_pact_net(clip, to_levels))
    clamp = op_of(graph, "clip", Clamp)
    np.testing.assert_array_equal(clamp.hi, np.full(4, 3.0))
    assert op_of(graph, "round", Quantize).rounding == "ROUND"
    threshold = next(n.op for n in folded.nodes if isinstance(n.op, Threshold))
    assert threshold.levels == 3  # 2 bits: the levels come from the clip
    assert str(folded.types()[folded.nodes[1].output].dtype) == "uint2"


def test_round_without_a_clip_has_no_level_range():
    model = _pact_net([node("Relu", ["b"], "clipped", "relu")])
    message = fold_error(model)
    assert named(message, "round", "Round") and "levels; supported: at most 256" in message, message


@pytest.mark.parametrize("clip, words", [
    ([node("Clip", ["b", "alpha", "zero"], "clipped", "clip")], "Clip with min 3.0 > max 0.0"),
    ([node("Clip", ["b", "b", "alpha"], "clipped", "clip")], "Clip needs constant scalar bounds"),
], ids=["min-above-max", "dynamic-bound"])
def test_clip_without_a_range_is_named(clip, words):
    message = import_error(_pact_net(clip))
    assert named(message, "clip", "Clip") and words in message, message


@pytest.mark.parametrize("clip", [node("Clip", ["c", "lo", "hi"], "m", "clip"), node("Relu", ["c"], "m", "clip")],
                         ids=["clip", "relu"])
def test_clip_with_no_quantizer_behind_it_is_named(clip):
    """Named as the IR's Clamp. (With a batchnorm in front, the error names the batchnorm's
    affine instead: 'could not be folded into integer thresholds'.)"""
    message = fold_error(binary_net([clip], {"lo": -1.0, "hi": 1.0}, activation=None))
    assert named(message, "clip", "Clamp") and "supported only in front of a quantizer" in message, message


def _qcdq_net(zero_point: np.ndarray, clip=None, scale=0.5, dq_scale=None, axis: int | None = None):
    """conv → bn → QuantizeLinear 'quant' → [Clip 'clip'] → DequantizeLinear 'dequant' → …"""
    rng = np.random.default_rng(13)
    attrs = {} if axis is None else {"axis": axis}
    middle = [bn("bn", "c", "b"), node("QuantizeLinear", ["b", "s", "zp"], "q", "quant", **attrs)]
    inits = {**bn_inits(rng, "bn", 4, 40), "s": scale, "dq_s": scale if dq_scale is None else dq_scale, "zp": zero_point}
    if clip is not None:
        middle.append(node("Clip", ["q", "lo", "hi"], "qc", "clip"))
        inits |= {"lo": np.array(clip[0], zero_point.dtype), "hi": np.array(clip[1], zero_point.dtype)}
    middle.append(node("DequantizeLinear", ["qc" if clip is not None else "q", "dq_s", "zp"], "m", "dequant", **attrs))
    return binary_net(middle, inits, activation=None, seed=13)


@pytest.mark.parametrize("zero_point, clip, qmin, qmax", [
    (np.array(0, np.uint8), (0, 3), 0, 3), (np.array(1, np.int8), (-2, 1), -2, 1), (np.array(0, np.int8), None, -128, 127),
    (np.array(2, np.uint8), (1, 6), 1, 6),
], ids=["uint8-clip", "int8-zero-point-clip", "int8", "uint8-zero-point"])
def test_quantize_clip_dequantize_on_activations(zero_point, clip, qmin, qmax):
    graph, folded = matches_onnxruntime(_qcdq_net(zero_point, clip))
    quantize = op_of(graph, "quant", Quantize)
    assert (quantize.qmin, quantize.qmax, quantize.rounding) == (qmin, qmax, "ROUND")
    to_levels, from_levels = op_of(graph, "quant", Affine), op_of(graph, "dequant", Affine)
    np.testing.assert_allclose((to_levels.scale, to_levels.bias), (np.full(4, 2.0), np.full(4, float(zero_point))))
    np.testing.assert_allclose((from_levels.scale, from_levels.bias), (np.full(4, 0.5), np.full(4, -0.5 * float(zero_point))))
    threshold = next(n.op for n in folded.nodes if isinstance(n.op, Threshold))
    assert threshold.levels == qmax - qmin


def test_per_channel_quantize_linear_is_read_per_channel():
    scale = np.array([0.5, 0.25, 1.0, 2.0], np.float32)
    graph = import_model(_qcdq_net(np.zeros(4, np.int8), scale=scale, axis=1))
    np.testing.assert_allclose(op_of(graph, "quant", Affine).scale, 1 / scale)
    np.testing.assert_allclose(op_of(graph, "dequant", Affine).scale, scale)


@pytest.mark.parametrize("model, name, op, words", [
    (lambda: _qcdq_net(np.array(0, np.uint8), clip=(2, 2)), "clip", "Clip", "leaves fewer than two levels"),
    (lambda: _qcdq_net(np.array(0, np.uint8), scale=-0.5), "quant", "QuantizeLinear", "needs a positive scale"),
    (lambda: _qcdq_net(np.zeros(4, np.int8), scale=np.ones(4, np.float32), axis=2), "quant", "QuantizeLinear",
     "per axis 2: supported is per channel (axis 1) or per tensor"),
    (lambda: _qcdq_net(np.array(0, np.int32)), "quant", "QuantizeLinear", "supported are 8- and 16-bit integer types"),
], ids=["one-level", "negative-scale", "axis-2", "int32"])
def test_qcdq_forms_without_an_engine_are_named(model, name, op, words):
    message = import_error(model())
    assert named(message, name, op) and words in message, message


def test_dequantize_linear_without_quantize_linear_is_named():
    middle = [node("DequantizeLinear", ["c", "s", "zp"], "m", "dequant")]
    message = import_error(binary_net(middle, {"s": 0.5, "zp": np.array(0, np.int8)}, activation=None))
    assert named(message, "dequant", "DequantizeLinear") and "needs a QuantizeLinear in front of it" in message


def test_quantized_weights_are_folded_to_their_values():
    """QCDQ on weights: QuantizeLinear → DequantizeLinear on a constant (per output channel)
    is evaluated by onnx.reference into s[o]·q with q ternary."""
    rng = np.random.default_rng(14)
    latent = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    w_scale = np.array([0.5, 0.3, 0.9, 0.2], np.float32)
    nodes = [node("QuantizeLinear", ["w_latent", "w_s", "w_zp"], "w_q", "w_quant", axis=0),
             node("Clip", ["w_q", "w_lo", "w_hi"], "w_qc", "w_clip"),
             node("DequantizeLinear", ["w_qc", "w_s", "w_zp"], "w", "w_dequant", axis=0),
             node("Conv", ["x", "w"], "c", "conv"), node("Add", ["c", "half"], "m", "centre"), node("Sign", ["m"], "s", "sign"),
             node("Flatten", ["s"], "f", "flat"), node("MatMul", ["f", "fc_w"], "y", "fc")]
    inits = {"w_latent": latent, "w_s": w_scale, "w_zp": np.zeros(4, np.int8), "w_lo": np.array(-1, np.int8),
             "w_hi": np.array(1, np.int8), "fc_w": signs(rng, (64, 5)), **HALF}
    graph, folded = matches_onnxruntime(onnx_model(nodes, inits, (3, 6, 6)))
    q = np.clip(np.round(latent / w_scale[:, None, None, None]), -1, 1)
    np.testing.assert_allclose(op_of(graph, "conv", Conv).weight, q * w_scale[:, None, None, None])
    assert str(folded.nodes[0].op.weight_dtype) == "ternary"


# -- the input: scale, bits, normalisation -------------------------------------------------------

def _normalised_net(sub: float, div: float, pads=(0, 0, 0, 0), mul=None):
    rng = np.random.default_rng(15)
    first = [node("Mul", ["x", "k"], "xs", "norm")] if mul is not None else [node("Identity", ["x"], "xs", "copy")]
    nodes = [*first, node("Sub", ["xs", "mean"], "x0", "sub_mean"), node("Div", ["x0", "std"], "x1", "div_std"),
             node("Conv", ["x1", "w"], "c", "conv", pads=list(pads)), bn("bn", "c", "b"), node("Sign", ["b"], "s", "sign"),
             node("Flatten", ["s"], "f", "flat"), node("MatMul", ["f", "fc_w"], "y", "fc")]
    features = 4 * (4 + pads[0] + pads[2]) * (4 + pads[1] + pads[3])
    inits = {"mean": sub, "std": div, "w": signs(rng, (4, 3, 3, 3)), "fc_w": signs(rng, (features, 5)),
             **bn_inits(rng, "bn", 4, 5), **({"k": mul} if mul is not None else {})}
    return onnx_model(nodes, inits, (3, 6, 6))


def test_input_scale_and_scalar_normalisation_fold_into_the_first_layer():
    graph, folded = matches_onnxruntime(_normalised_net(0.5, 0.25), input_bits=4, input_scale=1 / 15)
    assert graph.input_type.dtype == uint(4) and graph.input_scale == pytest.approx(1 / 15)
    first = graph.nodes[0]
    assert isinstance(first.op, Affine) and first.source == "input scale"
    np.testing.assert_allclose(first.op.scale, np.full(3, 1 / 15))
    np.testing.assert_allclose(op_of(graph, "sub_mean", Affine).bias, np.full(3, -0.5))
    np.testing.assert_allclose(op_of(graph, "div_std", Affine).scale, np.full(3, 4.0))
    assert isinstance(folded.nodes[0].op, Conv) and folded.nodes[0].inputs == (folded.input_name,)


@pytest.mark.parametrize("mean, std", [(0.5, 0.25), (0.3137, 0.25), (0.4914, 0.2470)])
def test_input_offset_before_a_padded_conv_gives_border_thresholds(mean, std):
    """(x/255 − m)/s in front of a zero-padded conv, for any float m: zero padding stays zero
    after the offset, so the border positions see it through fewer taps and get their own
    thresholds; the input stays the raw integer frame (no offset is ever rounded)."""
    _, folded = matches_onnxruntime(_normalised_net(mean, std, pads=(1, 1, 1, 1)), input_scale=1 / 255)
    conv = folded.nodes[0]
    assert isinstance(conv.op, Conv) and conv.inputs == (folded.input_name,)
    threshold = folded.nodes[1].op
    assert isinstance(threshold, Threshold) and threshold.positional
    assert not any(isinstance(n.op, IntegerAffine) for n in folded.nodes)


def test_per_channel_input_scale_becomes_exact_integer_gains():
    """Scales 1, 2, 3 per channel: the first layer reads 1·x, 2·x, 3·x (IntegerAffine) and
    one scale moves behind it, exactly."""
    _, folded = matches_onnxruntime(_normalised_net(0.0, 1.0, mul=np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)),
                                    input_bits=4)
    gains = folded.nodes[0].op
    assert isinstance(gains, IntegerAffine) and gains.scale.tolist() == [1, 2, 3] and not np.any(gains.offset)
    assert not any("integer gains" in note for note in folded.notes)


def test_per_channel_std_before_a_padded_conv():
    """torchvision's CIFAR-10 normalisation (x/255 − mean_c)/std_c in front of a zero-padded
    conv: per-channel std as 16-bit integer gains (a warning says so), per-channel mean as
    thresholds per border class."""
    mean = np.array([0.4914, 0.4822, 0.4465], np.float32).reshape(1, 3, 1, 1)
    std = np.array([0.2470, 0.2435, 0.2616], np.float32).reshape(1, 3, 1, 1)
    graph = import_model(_normalised_net(mean, std, pads=(1, 1, 1, 1)), input_scale=1 / 255)
    folded = fold(graph)
    gains = folded.nodes[0].op
    assert isinstance(gains, IntegerAffine) and int(np.abs(gains.scale).max()) == 1 << 16
    assert any("16-bit integer gains" in note and "div_std" in note for note in folded.notes), folded.notes
    threshold = folded.nodes[2].op
    assert isinstance(threshold, Threshold) and threshold.positional


@pytest.mark.parametrize("options, words", [
    (dict(input_bits=0), "input bits must be between 1 and 16"), (dict(input_bits=17), "input bits must be between 1 and 16"),
    (dict(input_scale=0.0), "input scale must be a positive number"),
    (dict(input_scale=float("nan")), "input scale must be a positive number"),
])
def test_input_options_out_of_range_are_refused(options, words):
    with pytest.raises(BnnfpgaError, match=words):
        import_model(binary_net(CENTRE, HALF), **options)


def _in(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


@pytest.mark.parametrize("model, words", [
    (lambda: onnx_model([node("Add", ["x", "x2"], "y", "add")], {}, (), inputs=[_in("x", ["N", 4]), _in("x2", ["N", 4])]),
     "exactly one input, found 2"),
    (lambda: onnx_model([node("Relu", ["x"], "y", "relu")], {}, (), inputs=[_in("x", ["N", 3, "H", 4])]),
     "dynamic dimension 2 (H)"),
    (lambda: onnx_model([node("Relu", ["x"], "y", "relu")], {}, (), inputs=[_in("x", ["N"])]), "has rank 1"),
    (lambda: onnx_model([node("Relu", ["x"], "y", "relu"), node("Add", ["k", "k"], "y2", "const")], {"k": 1.0}, (4,),
                        outputs=("y", "y2")), "exactly one output, found 2"),
    (lambda: onnx_model([node("Relu", ["x"], "r", "relu"), node("Add", ["k", "k"], "y", "const")], {"k": 1.0}, (4,)),
     "does not depend on the input"),
], ids=["two-inputs", "dynamic-dim", "rank-1", "two-outputs", "constant-output"])
def test_graph_interfaces_without_one_frame_input_and_one_output_are_refused(model, words):
    assert words in import_error(model())


def test_dead_branches_are_pruned():
    from tests.onnx_graphs import binary_input_mlp

    model, bits = binary_input_mlp(np.random.default_rng(16))
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    graph, _ = matches_onnxruntime(model, input_bits=bits)
    assert "unused_head" not in {n.source for n in graph.nodes}
    assert kinds(graph) == ["Dense", "Affine", "Binarize", "Dense"]


# -- constants: folded by onnx.reference ---------------------------------------------------------

def test_weight_binarisation_and_constant_expressions_are_folded():
    """W = α·Where(latent >= 0, 1, −1) per output channel, and a Constant node as the fc
    weight's latent, transposed: evaluated at import into plain weight arrays."""
    rng = np.random.default_rng(17)
    latent = rng.normal(size=(4, 3, 3, 3))
    alpha = rng.uniform(0.5, 2, size=(4, 1, 1, 1))
    fc_latent = rng.normal(size=(5, 64)).astype(np.float32)
    nodes = [node("GreaterOrEqual", ["latent", "zero"], "ge", "w_ge"), node("Where", ["ge", "one", "minus_one"], "wb", "w_sign"),
             node("Mul", ["wb", "alpha"], "w", "w_scale"),
             helper.make_node("Constant", [], ["fc_latent"], name="fc_const", value=numpy_helper.from_array(fc_latent)),
             node("Sign", ["fc_latent"], "fc_sign", "fc_w_sign"), node("Transpose", ["fc_sign"], "fc_w", "fc_w_t", perm=[1, 0]),
             node("Conv", ["x", "w"], "c", "conv"), *CENTRE, node("Sign", ["m"], "s", "sign"),
             node("Flatten", ["s"], "f", "flat"), node("MatMul", ["f", "fc_w"], "y", "fc")]
    inits = {"latent": latent, "zero": 0.0, "one": 1.0, "minus_one": -1.0, "alpha": alpha, **HALF}
    graph, folded = matches_onnxruntime(onnx_model(nodes, inits, (3, 6, 6)))
    assert kinds(graph) == ["Conv", "Affine", "Binarize", "Reshape", "Dense"]
    expected = np.where(latent.astype(np.float32) >= 0, 1.0, -1.0) * alpha.astype(np.float32)
    np.testing.assert_allclose(op_of(graph, "conv", Conv).weight, expected, rtol=1e-7)
    np.testing.assert_array_equal(op_of(graph, "fc", Dense).weight, np.sign(fc_latent))
    assert str(folded.nodes[0].op.weight_dtype) == "bipolar"


def test_constant_expression_that_does_not_evaluate_is_named():
    nodes = [node("Add", ["k1", "k2"], "w", "bad_sum"), node("Conv", ["x", "w"], "y", "conv")]
    message = import_error(onnx_model(nodes, {"k1": np.ones((4, 3, 3, 3)), "k2": np.ones((2, 5))}, (3, 6, 6)))
    assert named(message, "bad_sum", "Add") and "cannot evaluate this constant expression" in message, message


# -- what is not read ----------------------------------------------------------------------------

def test_unsupported_ops_on_activations_are_named_all_at_once():
    middle = [node("Tanh", ["c"], "t", "squash"), node("Cos", ["t"], "t2", "wobble"), node("Add", ["t2", "half"], "m", "centre")]
    message = import_error(binary_net(middle, HALF))
    assert named(message, "squash", "Tanh") and "also unsupported: Cos (wobble)" in message, message
    assert "supported on activations: Conv, Gemm, MatMul" in message


def test_comparison_not_consumed_by_where_is_named():
    middle = [node("Greater", ["c", "k"], "cond", "compare"), node("Cast", ["cond"], "m", "to_float", to=TensorProto.FLOAT)]
    message = import_error(binary_net(middle, {"k": 0.0}))
    assert named(message, "to_float", "Cast") and "unsupported operation on activations" in message, message


def test_standard_op_in_a_custom_domain_is_named():
    model = binary_net([helper.make_node("Relu", ["c"], ["m"], name="odd_relu", domain="com.example")], {})
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    message = import_error(model)
    assert named(message, "odd_relu", "Relu") and "custom op domain 'com.example' is not supported" in message, message


def test_nodes_out_of_topological_order_are_named():
    model = binary_net(CENTRE, HALF)
    nodes = list(model.graph.node)
    nodes[0], nodes[1] = nodes[1], nodes[0]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    message = import_error(model)
    assert named(message, "centre", "Add") and "'c' is not produced by any earlier node" in message, message


# -- half an idiom, then something else -------------------------------------------------------------

@pytest.mark.parametrize("middle, name, op, words", [
    ([node("Greater", ["c", "zero"], "g", "cmp"), node("Flatten", ["g"], "gf", "cmp_flat"),
      node("Where", ["gf", "one", "minus"], "m", "where")], "cmp_flat", "Flatten", "a comparison of an activation"),
    ([node("QuantizeLinear", ["c", "s", "zp"], "q", "quant"), node("Flatten", ["q"], "qf", "q_flat"),
      node("DequantizeLinear", ["qf", "s", "zp"], "m", "dequant")], "q_flat", "Flatten", "the integers of a QuantizeLinear"),
    ([node("QuantizeLinear", ["c", "s", "zp"], "q", "quant"),
      node("MaxPool", ["q"], "qp", "q_pool", kernel_shape=[2, 2], strides=[2, 2]),
      node("DequantizeLinear", ["qp", "s", "zp"], "m", "dequant")], "q_pool", "MaxPool", "the integers of a QuantizeLinear"),
])
def test_half_an_idiom_fed_to_another_op_is_named(middle, name, op, words):
    """A comparison waits for its Where, QuantizeLinear's integers for a Clip or
    DequantizeLinear: any other op in between is refused by name (not an internal error)."""
    inits = {"zero": np.float32(0), "one": np.float32(1), "minus": np.float32(-1), "s": np.float32(0.5),
             "zp": np.array(0, np.uint8)}
    message = import_error(binary_net(middle, inits, features=36, activation=None))
    assert named(message, name, op) and words in message and "directly" in message, message
