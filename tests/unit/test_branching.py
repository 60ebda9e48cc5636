"""Branching graphs (docs/DESIGN.md 3.15): the IR's joins, their golden kernels, and the
passes that put the joins on integer levels, each checked for equivalence on its own."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga.errors import ModelError
from bnnfpga.golden import execute
from bnnfpga.ir.graph import Graph, Node
from bnnfpga.ir.ops import Add, Affine, Binarize, Concat, MaxPool, PReLU, Quantize, SumPool, Threshold
from bnnfpga.ir.types import BIPOLAR, DType, TensorType, uint
from bnnfpga.ir.verify import IRError, verify, verify_folded
from bnnfpga.passes.affine_behind_shared_pool import AffineBehindSharedPool
from bnnfpga.passes.affines_behind_concat import AffinesBehindConcat
from bnnfpga.passes.align_add_grids import AlignAddGrids
from bnnfpga.passes.base import Sweep
from bnnfpga.passes.fold_piecewise import FoldPiecewise
from bnnfpga.passes.pipeline import fold
from bnnfpga.passes.unshare_affines import UnshareAffines
from tests.graphs import BRANCHING, GRAPHS, random_input

FRAMES = 24


def _graph(nodes: list[Node], output: str) -> Graph:
    graph = Graph(input_name="x", input_type=TensorType((4, 3, 3), uint(4)), nodes=nodes, output_name=output)
    verify(graph)
    return graph


def _affine(scale, bias=0.0, channels: int = 4) -> Affine:
    return Affine(scale=np.broadcast_to(np.asarray(scale, float), (channels,)).copy(),
                  bias=np.broadcast_to(np.asarray(bias, float), (channels,)).copy())


def _same(before: Graph, after: Graph, seed: int = 0) -> None:
    verify(after)
    x = random_input(before.input_type, FRAMES, seed)
    expected = execute(before, x)[before.output_name]
    for route in ("packed", "gemm"):
        got = execute(after, x, route)[after.output_name]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=route)


def _levels(name: str, source: str, qmin: int = -8, qmax: int = 7) -> Node:
    """Integer levels of the input, as a quantizer behind a block would give them."""
    return Node(name, Quantize(qmin=qmin, qmax=qmax), (source,), name)


# -- IR and golden ------------------------------------------------------------------------


def test_integer_add_is_exact_with_shifts_and_typed_by_its_range():
    nodes = [_levels("a", "x"), Node("p", SumPool(kernel=(1, 1), strides=(1, 1)), ("x",), "p"),
             Node("add", Add(shifts=(2, 0)), ("a", "p"), "add")]
    graph = _graph(nodes, "add")
    assert graph.types()["add"].dtype == DType("int", 7)  # 4·[−8, 7] + [0, 15] = [−32, 43]
    x = random_input(graph.input_type, 8, 0)
    np.testing.assert_array_equal(execute(graph, x)["add"], 4 * np.clip(x, -8, 7) + x)


def test_concat_keeps_one_type_and_order():
    nodes = [Node("s1", Binarize(), ("x",), "s1"), Node("s2", Binarize(strict=True), ("x",), "s2"),
             Node("cat", Concat(), ("s1", "s2"), "cat")]
    graph = _graph(nodes, "cat")
    assert graph.types()["cat"] == TensorType((8, 3, 3), BIPOLAR)
    x = random_input(graph.input_type, 8, 1)
    out = execute(graph, x)["cat"]
    np.testing.assert_array_equal(out[:, :4], np.where(x >= 0, 1, -1))
    np.testing.assert_array_equal(out[:, 4:], np.where(x > 0, 1, -1))


@pytest.mark.parametrize("case, words", [
    ("arity", "joins exactly two"),
    ("shapes", "different shapes"),
    ("shifts", "non-negative"),
    ("spatial", "different spatial shapes"),
    ("one-input", "other than Add and Concat"),
])
def test_verifier_rejects_malformed_joins(case, words):
    pool = Node("p", MaxPool(kernel=(2, 2), strides=(1, 1)), ("x",), "p")
    nodes = {
        "arity": [pool, Node("j", Add(), ("x", "p", "p"), "j")],
        "shapes": [pool, Node("j", Add(), ("x", "p"), "j")],
        "shifts": [Node("j", Add(shifts=(1, 1)), ("x", "x"), "j")],
        "spatial": [pool, Node("j", Concat(), ("x", "p"), "j")],
        "one-input": [Node("j", Binarize(), ("x", "x"), "j")],
    }[case]
    with pytest.raises(IRError, match=words):
        _graph(nodes, "j")


def test_a_float_join_left_unfolded_is_named():
    nodes = [Node("a", _affine(0.3), ("x",), "a"), Node("j", Add(), ("a", "x"), "j"),
             Node("s", Binarize(), ("j",), "s")]
    graph = _graph(nodes, "s")
    with pytest.raises(ModelError, match="it feeds the Add 'j', whose inputs must be integer levels") as err:
        verify_folded(graph)
    assert "node 'a' (Affine)" in str(err.value)


# -- one equivalence test per pass ------------------------------------------------------


def test_unshare_affines_gives_each_reader_a_copy():
    nodes = [Node("a", _affine(0.5, 1.0), ("x",), "a"), Node("s", Binarize(), ("a",), "s"),
             Node("m", MaxPool(kernel=(2, 2), strides=(1, 1)), ("a",), "m"), Node("j", Concat(), ("s", "s"), "j")]
    before = _graph(nodes, "m")
    before.nodes.append(Node("k", SumPool(kernel=(1, 1), strides=(1, 1)), ("a",), "k"))
    before.output_name = "m"
    after = UnshareAffines().apply(before)
    _same(before, after)
    affines = [n for n in after.nodes if isinstance(n.op, Affine)]
    assert len(affines) == 3 and all(len(after.consumers(n.output)) == 1 for n in affines)
    assert len(before.consumers("a")) == 3  # the input graph is not changed


@pytest.mark.parametrize("scales, shifts", [((0.25, 0.0625), (2, 0)), ((0.0625, 0.25), (0, 2)), ((0.5, 0.5), (0, 0))])
def test_align_add_grids_moves_both_dequantisations_behind(scales, shifts):
    nodes = [_levels("a", "x"), Node("da", _affine(scales[0], 0.5), ("a",), "da"),
             Node("db", _affine(scales[1], -0.25), ("x",), "db"), Node("add", Add(), ("da", "db"), "add")]
    before = _graph(nodes, "add")
    after = AlignAddGrids().apply(before)
    _same(before, after)
    add = next(n for n in after.nodes if isinstance(n.op, Add))
    assert add.op.shifts == shifts and add.inputs == ("a", "x")
    (behind,) = after.consumers(add.output)
    assert isinstance(behind.op, Affine) and behind.output == "add"  # the ONNX-visible sum keeps its name
    np.testing.assert_array_equal(behind.op.scale, np.full(4, min(scales)))
    np.testing.assert_array_equal(behind.op.bias, np.full(4, 0.25))


@pytest.mark.parametrize("scales", [(0.3, 0.1), (0.5, -0.5), (0.25, 0.0)])
def test_align_add_grids_refuses_grids_that_are_not_powers_of_two_apart(scales):
    nodes = [_levels("a", "x"), Node("da", _affine(scales[0]), ("a",), "da"),
             Node("db", _affine(scales[1]), ("x",), "db"), Node("add", Add(), ("da", "db"), "add", source="/block/Add")]
    with pytest.raises(ModelError, match="not one power of two") as err:
        AlignAddGrids().apply(_graph(nodes, "add"))
    assert "/block/Add" in str(err.value)


def test_align_add_grids_needs_one_shift_for_every_channel():
    scale_a = np.array([0.5, 0.5, 0.25, 0.5])
    nodes = [_levels("a", "x"), Node("da", Affine(scale=scale_a, bias=np.zeros(4)), ("a",), "da"),
             Node("db", _affine(0.25), ("x",), "db"), Node("add", Add(), ("da", "db"), "add")]
    with pytest.raises(ModelError, match="the same k on every channel"):
        AlignAddGrids().apply(_graph(nodes, "add"))


def test_affines_behind_concat_lays_scales_end_to_end():
    nodes = [_levels("a", "x"), Node("da", _affine([0.5, 1.0, 2.0, -1.0], 0.5), ("a",), "da"),
             Node("cat", Concat(), ("da", "x"), "cat")]
    before = _graph(nodes, "cat")
    after = AffinesBehindConcat().apply(before)
    _same(before, after)
    concat = next(n for n in after.nodes if isinstance(n.op, Concat))
    assert concat.inputs == ("a", "x") and after.types()[concat.output].dtype.is_integer
    (behind,) = after.consumers(concat.output)
    np.testing.assert_array_equal(behind.op.scale, [0.5, 1.0, 2.0, -1.0, 1, 1, 1, 1])
    np.testing.assert_array_equal(behind.op.bias, [0.5] * 4 + [0] * 4)


def test_affine_behind_shared_pool_turns_negative_channels_into_min_pools():
    nodes = [_levels("a", "x"), Node("da", _affine([0.5, -1.0, 2.0, -0.25], 1.0), ("a",), "da"),
             Node("pool", MaxPool(kernel=(2, 2), strides=(1, 1)), ("da",), "pool"),
             Node("s", Binarize(), ("pool",), "s"), Node("k", SumPool(kernel=(2, 2), strides=(1, 1)), ("pool",), "k"),
             Node("cat", Concat(), ("s", "s"), "cat")]
    before = _graph(nodes, "k")
    after = AffineBehindSharedPool().apply(before)
    _same(before, after)
    pool = next(n for n in after.nodes if isinstance(n.op, MaxPool))
    assert pool.inputs == ("a",)
    np.testing.assert_array_equal(pool.op.use_min, [False, True, False, True])
    assert all(isinstance(n.op, Affine) for n in after.consumers(pool.output))


def test_a_sweep_resolves_joins_that_depend_on_each_other():
    """concat → max-pool read twice → concat: each rewrite enables the next further down."""
    nodes = [_levels("a", "x"), Node("da", _affine(0.5), ("a",), "da"), Node("db", _affine(0.5), ("x",), "db"),
             Node("c1", Concat(), ("da", "db"), "c1"),
             Node("pool", MaxPool(kernel=(2, 2), strides=(1, 1)), ("c1",), "pool"),
             Node("s", Binarize(), ("pool",), "s"), Node("c2", Concat(), ("pool", "s"), "c2")]
    before = _graph(nodes, "c2")
    after = Sweep("joins", AlignAddGrids(), AffinesBehindConcat(), AffineBehindSharedPool()).apply(before)
    _same(before, after)
    types = after.types()
    assert all(types[n.output].dtype.is_integer for n in after.nodes if isinstance(n.op, Concat) and n.output != "c2")


@pytest.mark.parametrize("name", BRANCHING)
def test_branching_graphs_fold_to_integer_joins(name):
    before = GRAPHS[name]()
    after = fold(before)
    x = random_input(before.input_type, FRAMES, 3)
    np.testing.assert_allclose(execute(after, x)[after.output_name], execute(before, x)[before.output_name], rtol=1e-9)
    types = after.types()
    joins = [n for n in after.nodes if isinstance(n.op, (Add, Concat))]
    assert len(joins) == 3 and all(types[n.output].dtype.is_integer for n in joins)
    assert all(all(types[i].dtype.is_integer for i in n.inputs) for n in joins)
    assert sum(isinstance(n.op, Threshold) and n.op.levels == 255 for n in after.nodes) >= 4


# -- PReLU (ReActNet's RPReLU) ------------------------------------------------------------


def _prelu_chain(slope, quantizer) -> Graph:
    nodes = [_levels("a", "x"), Node("j", Add(shifts=(1, 0)), ("a", "x"), "j"),
             Node("shift", _affine(0.25, -0.3), ("j",), "shift"),
             Node("prelu", PReLU(slope=np.array(slope, float)), ("shift",), "prelu", source="/act/PRelu"),
             Node("shift_out", _affine(1.0, 0.1), ("prelu",), "shift_out"), Node("q", quantizer, ("shift_out",), "q")]
    return _graph(nodes, "q")


@pytest.mark.parametrize("quantizer", [Binarize(), Quantize(qmin=-8, qmax=7), Quantize(qmin=0, qmax=3, rounding="FLOOR")],
                         ids=["sign", "int4", "uint2-floor"])
def test_fold_piecewise_turns_rprelu_and_its_quantizer_into_thresholds(quantizer):
    before = _prelu_chain([0.25, 0.5, 1.0, 0.05], quantizer)
    after = FoldPiecewise().apply(before)
    _same(before, after, seed=4)
    (node,) = [n for n in after.nodes if isinstance(n.op, Threshold)]
    assert node.inputs == ("j",) and not any(isinstance(n.op, (PReLU, Affine)) for n in after.nodes)
    assert node.op.levels == (1 if isinstance(quantizer, Binarize) else quantizer.qmax - quantizer.qmin)


def test_fold_piecewise_refuses_a_step_that_falls():
    before = _prelu_chain([0.25, -0.5, 1.0, 0.05], Quantize(qmin=-8, qmax=7))
    with pytest.raises(ModelError, match="do not rise with their input on channel 1") as err:
        FoldPiecewise().apply(before)
    assert "node '/act/PRelu'" in str(err.value)
