"""IR serialisation, the verifier and the element types."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bnnfpga.golden import execute
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Affine, Conv, Dense, IntegerAffine, MaxPool, Reshape, Threshold
from bnnfpga.ir.types import BIPOLAR, FLOAT, DType, TensorType, signed_width, uint
from bnnfpga.ir.verify import IRError, verify
from bnnfpga.passes.pipeline import fold
from tests.graphs import GRAPHS, Chain, random_input

# -- serialisation -----------------------------------------------------------------------


def _outputs(graph: Graph, x: np.ndarray, route: str = "packed") -> dict[str, np.ndarray]:
    return execute(graph, x, route, keep_all=True)


@pytest.mark.parametrize(
    "name", ["cnn_pool_before_bn", "cnn_bipolar_input_sign_head", "mlp_strict_sign_head", "cnn_offset_before_padded_conv"]
)
@pytest.mark.parametrize("folded", [False, True], ids=["float", "folded"])
def test_json_round_trip(name, folded):
    graph = GRAPHS[name]()
    if folded:
        graph = fold(graph)
    graph.onnx_tensors = {graph.output_name: "onnx::out", graph.nodes[0].output: "/a/b"}
    graph.notes = ["warning: test note"]
    text = graph.to_json()
    json.loads(text)  # valid JSON
    again = Graph.from_json(text)
    assert again.to_json() == text, "serialise(deserialise(x)) is byte-identical"
    verify(again)
    assert again.types() == graph.types()
    assert again.onnx_tensors == graph.onnx_tensors and again.notes == graph.notes
    for a, b in zip(graph.nodes, again.nodes, strict=True):
        assert type(a.op) is type(b.op) and (a.name, a.inputs, a.output, a.source) == (b.name, b.inputs, b.output, b.source)
        for field, value in vars(a.op).items():
            other = getattr(b.op, field)
            if isinstance(value, np.ndarray):
                assert other.dtype == value.dtype and other.shape == value.shape
                np.testing.assert_array_equal(other, value)
            else:
                assert other == value and type(other) is type(value), field
    x = random_input(graph.input_type, 10, seed=3)
    for route in ("packed", "gemm"):
        want, got = _outputs(graph, x, route), _outputs(again, x, route)
        assert want.keys() == got.keys()
        for k in want:
            assert want[k].dtype == got[k].dtype
            np.testing.assert_array_equal(got[k], want[k])


def test_json_keeps_exact_float_bits():
    chain = Chain((4,), uint(8))
    chain.add("aff", Affine(scale=np.array([0.1, -0.0, 5e-324, 1e300]), bias=np.array([1 / 3, -1e-300, 0.0, -2.5])))
    g = chain.graph()
    op = Graph.from_json(g.to_json()).nodes[0].op
    assert op.scale.tobytes() == g.nodes[0].op.scale.tobytes()
    assert op.bias.tobytes() == g.nodes[0].op.bias.tobytes()


def test_from_json_rejects_other_formats():
    with pytest.raises(ValueError):
        Graph.from_json(json.dumps({"format": "something-else"}))


# -- verify ------------------------------------------------------------------------------


def small_graph() -> Graph:
    """input bipolar (2, 6, 6) → conv → threshold → pool → flatten → dense."""
    rng = np.random.default_rng(0)
    chain = Chain((2, 6, 6), BIPOLAR)
    chain.add("conv", Conv(weight=rng.choice([-1, 1], size=(4, 2, 3, 3)).astype(np.int8), pads=(1, 1, 1, 1)))
    chain.add("th", Threshold(thresholds=np.array([[0], [1], [-2], [3]]), constant=np.array([0, 0, 1, 0], np.int8)))
    chain.add("pool", MaxPool(kernel=(2, 2), strides=(2, 2)))
    chain.add("flatten", Reshape(shape=(36,)))
    chain.add("fc", Dense(weight=rng.choice([-1, 1], size=(3, 36)).astype(np.int8)))
    return chain.graph()


def test_small_graph_is_valid():
    verify(small_graph())  # every broken variant below differs from this in one place


def _break(edit):
    g = small_graph()
    edit(g)
    return g


BROKEN = {
    "duplicate node name": lambda g: setattr(g.nodes[2], "name", g.nodes[0].name),
    "reads undefined tensor": lambda g: setattr(g.nodes[1], "inputs", ("nowhere",)),
    "reads tensor before it is produced": lambda g: setattr(g.nodes[1], "inputs", (g.nodes[2].output,)),
    "tensor produced twice": lambda g: setattr(g.nodes[2], "output", g.nodes[1].output),
    "two inputs": lambda g: setattr(g.nodes[1], "inputs", (g.nodes[0].output, g.nodes[0].output)),
    "output never produced": lambda g: setattr(g, "output_name", "missing"),
    "conv weight channels mismatch": lambda g: setattr(
        g.nodes[0], "op", Conv(weight=np.ones((4, 3, 3, 3), np.int8), pads=(1, 1, 1, 1))
    ),
    "dense weight shape mismatch": lambda g: setattr(g.nodes[4], "op", Dense(weight=np.ones((3, 35), np.int8))),
    "conv weight rank": lambda g: setattr(g.nodes[0], "op", Conv(weight=np.ones((4, 2, 3), np.int8))),
    "weights not negatable": lambda g: setattr(g.nodes[4], "op", Dense(weight=np.full((3, 36), -128, np.int8))),
    "integer weights with bias": lambda g: setattr(g.nodes[4], "op", Dense(weight=np.ones((3, 36), np.int8), bias=np.zeros(3))),
    "empty accumulator range": lambda g: setattr(
        g.nodes[4], "op", Dense(weight=np.ones((3, 36), np.int8), acc_min=np.array([0, 5, 0]), acc_max=np.array([1, 4, 1]))
    ),
    "flipped shape": lambda g: setattr(g.nodes[4], "op", Dense(weight=np.ones((3, 36), np.int8), flipped=np.zeros(4, bool))),
    "unsorted thresholds": lambda g: setattr(
        g.nodes[1], "op", Threshold(thresholds=np.array([[0, 1, 2]] * 3 + [[2, 1, 3]]), constant=np.zeros(4, np.int8), base=0)
    ),
    "threshold rows": lambda g: setattr(g.nodes[1], "op", Threshold(thresholds=np.zeros((3, 1), np.int64), constant=np.zeros(4, np.int8))),
    "constant value": lambda g: setattr(
        g.nodes[1], "op", Threshold(thresholds=np.zeros((4, 1), np.int64), constant=np.array([0, 2, 0, 0], np.int8))
    ),
    "affine shape": lambda g: setattr(g.nodes[1], "op", Affine(scale=np.ones(3), bias=np.zeros(4))),
    "affine not finite": lambda g: setattr(g.nodes[1], "op", Affine(scale=np.array([1.0, np.nan, 1.0, 1.0]), bias=np.zeros(4))),
    "pool window in padding": lambda g: setattr(g.nodes[2], "op", MaxPool(kernel=(2, 2), strides=(2, 2), pads=(2, 0, 0, 0))),
    "pool use_min shape": lambda g: setattr(g.nodes[2], "op", MaxPool(kernel=(2, 2), strides=(2, 2), use_min=np.zeros(3, bool))),
    "reshape changes size": lambda g: setattr(g.nodes[3], "op", Reshape(shape=(35,))),
    "empty output": lambda g: setattr(g.nodes[0], "op", Conv(weight=np.ones((4, 2, 7, 7), np.int8))),
}
# what the error message says for each broken graph (the failure is the intended one)
MESSAGES = {
    "duplicate node name": "duplicate node name",
    "reads undefined tensor": "before it is produced",
    "reads tensor before it is produced": "before it is produced",
    "tensor produced twice": "produced twice",
    "two inputs": "exactly one input",
    "output never produced": "never produced",
    "conv weight channels mismatch": "does not match input",
    "dense weight shape mismatch": "does not match input",
    "conv weight rank": "type inference failed|weight rank",
    "weights not negatable": "−127, 127",
    "integer weights with bias": "bias",
    "empty accumulator range": "empty accumulator range",
    "flipped shape": "flipped",
    "unsorted thresholds": "sorted",
    "threshold rows": "thresholds must have shape",
    "constant value": "constant",
    "affine shape": "scale/bias",
    "affine not finite": "non-finite",
    "pool window in padding": "padding",
    "pool use_min shape": "use_min",
    "reshape changes size": "reshape changes the size",
    "empty output": "empty output",
}


@pytest.mark.parametrize("what", list(BROKEN))
def test_verify_rejects_broken_graphs(what):
    g = _break(BROKEN[what])
    with pytest.raises(IRError, match=MESSAGES[what]):
        verify(g)


@pytest.mark.parametrize(
    "op, dtype",
    [
        (IntegerAffine(scale=np.array([1, 0]), offset=np.zeros(2, np.int64)), uint(8)),
        (IntegerAffine(scale=np.array([2, 2]), offset=np.zeros(3, np.int64)), uint(8)),
        (IntegerAffine(scale=np.array([2]), offset=np.zeros(2, np.int64)), uint(8)),
    ],
)
def test_verify_rejects_bad_integer_affine(op, dtype):
    chain = Chain((2, 3, 3), dtype)
    chain.add("iaff", op)
    with pytest.raises(IRError, match="integer affine"):
        verify(chain.graph())


def test_verify_rejects_integer_affine_on_float():
    chain = Chain((2,), uint(8))
    chain.add("aff", Affine(scale=np.ones(2), bias=np.zeros(2)))
    chain.add("iaff", IntegerAffine(scale=np.ones(2, np.int64), offset=np.zeros(2, np.int64)))
    with pytest.raises(IRError, match="integer affine|type inference failed"):
        verify(chain.graph())


@pytest.mark.parametrize(
    "dtype, scale, offset, expected",
    [
        (uint(8), [1, 1], [0, 0], uint(8)),
        (uint(8), [2, 2], [0, 1], uint(9)),  # up to 511
        (uint(8), [4, 4], [-510, -255], DType("int", 11)),  # [−510, 1020 − 255]
        (uint(8), [2, 2], [-255, -255], DType("int", 9)),  # [−255, 255]
        (BIPOLAR, [1, 1], [0, 0], DType("int", 2)),
        (DType("int", 4), [3, 3], [1, 2], DType("int", 6)),  # [−24 + 1, 21 + 2]
        (uint(8), [65536, 52000], [0, 0], uint(24)),  # per-channel input gains: up to 255·65536
        (uint(8), [3, -2], [0, 0], DType("int", 11)),  # [−510, 765]
    ],
)
def test_integer_affine_type_and_values(dtype, scale, offset, expected):
    chain = Chain((2, 3, 3), dtype)
    chain.add("iaff", IntegerAffine(scale=np.array(scale, np.int64), offset=np.array(offset, np.int64)))
    g = chain.graph()
    verify(g)
    t = g.types()[g.output_name]
    assert t == TensorType((2, 3, 3), expected)
    x = random_input(g.input_type, 5, seed=1)
    x.reshape(5, -1)[0, :2] = (dtype.min, dtype.max)
    y = execute(g, x)[g.output_name]
    np.testing.assert_array_equal(y, x * np.array(scale).reshape(1, 2, 1, 1) + np.array(offset).reshape(1, 2, 1, 1))
    assert y.min() >= t.dtype.min and y.max() <= t.dtype.max


def test_verify_rejects_threshold_on_float():
    chain = Chain((4,), uint(8))
    chain.add("aff", Affine(scale=np.ones(4), bias=np.zeros(4)))
    chain.add("th", Threshold(thresholds=np.zeros((4, 1), np.int64), constant=np.zeros(4, np.int8)))
    with pytest.raises(IRError, match="integers"):
        verify(chain.graph())


def test_verify_error_names_the_node():
    g = _break(BROKEN["unsorted thresholds"])
    with pytest.raises(IRError, match=g.nodes[1].name):
        verify(g)


# -- types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lo, hi, bits",
    [
        (-128, 127, 8),
        (-129, 0, 9),
        (0, 128, 9),
        (0, 127, 8),
        (-128, 0, 8),
        (0, 0, 1),
        (-1, 0, 1),
        (0, 1, 2),
        (-2, 1, 2),
        (-(1 << 31), (1 << 31) - 1, 32),
        (-(1 << 31) - 1, 0, 33),
        (-27 * 255, 27 * 255, 14),
    ],
)
def test_signed_width(lo, hi, bits):
    assert signed_width(lo, hi) == DType("int", bits)
    t = signed_width(lo, hi)
    assert t.min <= lo and hi <= t.max
    narrower = DType("int", bits - 1) if bits > 1 else None
    if narrower is not None:
        assert lo < narrower.min or hi > narrower.max


@pytest.mark.parametrize(
    "dtype, lo, hi, text",
    [
        (BIPOLAR, -1, 1, "bipolar"),
        (uint(1), 0, 1, "uint1"),
        (uint(8), 0, 255, "uint8"),
        (DType("int", 4), -8, 7, "int4"),
        (DType("int", 1), -1, 0, "int1"),
        (DType("int", 32), -(1 << 31), (1 << 31) - 1, "int32"),
    ],
)
def test_dtype_ranges_and_names(dtype, lo, hi, text):
    assert (dtype.min, dtype.max) == (lo, hi)
    assert str(dtype) == text
    assert DType.parse(text) == dtype
    assert dtype.is_integer


def test_dtype_errors():
    assert str(FLOAT) == "float" and DType.parse("float") == FLOAT and not FLOAT.is_integer
    with pytest.raises(ValueError):
        FLOAT.min
    with pytest.raises(ValueError):
        FLOAT.max
    with pytest.raises(ValueError):
        DType("bipolar", 2)
    with pytest.raises(ValueError):
        DType("complex", 8)
    for bad in ("int", "uintx", "int-3", "bipolar1", ""):
        with pytest.raises(ValueError):
            DType.parse(bad)


def test_tensor_type():
    t = TensorType((37, 4, 5), BIPOLAR)
    assert t.channels == 37 and t.size == 740 and str(t) == "bipolar[37x4x5]"
    assert TensorType((3,), uint(8)) == TensorType((3,), DType("uint", 8))


def test_graph_helpers():
    g = small_graph()
    conv, th = g.nodes[0], g.nodes[1]
    assert g.producer(conv.output) is conv and g.producer(g.input_name) is None
    assert g.consumers(conv.output) == [th]
    assert g.only_consumer(conv.output) is th
    assert g.only_consumer(g.output_name) is None
    assert g.fresh_name(conv.name) not in {n.name for n in g.nodes} | {n.output for n in g.nodes}
    assert g.fresh_name("brand_new") == "brand_new"
    assert g.fresh_name(g.input_name) != g.input_name
    c = g.copy()
    c.nodes[0].name = "changed"
    c.nodes.pop()
    assert g.nodes[0].name == conv.name and len(g.nodes) == 5
    types = g.types()
    assert types[conv.output] == TensorType((4, 6, 6), signed_width(-18, 18))
    assert types[g.output_name] == TensorType((3,), signed_width(-36, 36))


def test_node_default_source():
    n = Node("a", Reshape(shape=(1,)), ("x",), "y")
    assert n.source == ""
