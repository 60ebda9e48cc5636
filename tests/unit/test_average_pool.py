"""Average pooling as a sum (SumPool + Affine 1/taps) and QONNX Trunc (Truncate): the golden
kernel, the quantizer against the qonnx executor's own function, the affine moved behind
the sum, and the errors for the settings with no exact integer form."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from bnnfpga import api, golden
from bnnfpga.errors import ModelError
from bnnfpga.golden import kernels
from bnnfpga.ir.ops import Affine, SumPool, Threshold, Truncate
from bnnfpga.ir.types import BIPOLAR, TensorType, uint
from bnnfpga.passes.affine_behind_sum_pool import AffineBehindSumPool
from tests.graphs import Chain, random_input


@pytest.mark.parametrize("kernel, strides, pads", [((2, 2), (2, 2), (0, 0, 0, 0)), ((3, 3), (1, 1), (1, 1, 1, 1)),
                                                   ((3, 2), (2, 1), (0, 1, 1, 0)), ((5, 4), (5, 4), (0, 0, 0, 0))])
def test_sum_pool_adds_every_tap_and_nothing_for_padding(kernel, strides, pads):
    x = np.random.default_rng(0).integers(-3, 4, size=(2, 5, 4, 3))
    got = kernels.sum_pool(x, kernel, strides, pads)
    padded = np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)))
    oh = (padded.shape[1] - kernel[0]) // strides[0] + 1
    ow = (padded.shape[2] - kernel[1]) // strides[1] + 1
    expected = np.zeros((2, oh, ow, 3), np.int64)
    for i in range(oh):
        for j in range(ow):
            window = padded[:, i * strides[0]: i * strides[0] + kernel[0], j * strides[1]: j * strides[1] + kernel[1]]
            expected[:, i, j] = window.sum(axis=(1, 2))
    np.testing.assert_array_equal(got, expected)
    op = SumPool(kernel=kernel, strides=strides, pads=pads)
    out = op.output_type([TensorType((3, 5, 4), BIPOLAR)])
    assert out.shape == (3, oh, ow) and out.dtype.min <= -op.taps and out.dtype.max >= op.taps


def test_truncate_is_the_qonnx_executors_trunc():
    trunc = pytest.importorskip("qonnx.custom_op.general.trunc", reason="pip install qonnx (dev extra)")
    rng = np.random.default_rng(1)
    scale = np.float32(0.125)
    x = (rng.integers(0, 16, size=500) * scale).astype(np.float32)  # the average pool's output: sums times scale
    x[:20] += np.float32(1e-6)  # float noise that the inner rounding removes
    for rounding in ("FLOOR", "ROUND", "CEIL"):
        for signed, narrow, bits, out_scale in ((0, 0, 2, 0.5), (1, 0, 3, 0.25), (1, 1, 2, 1.0), (0, 0, 4, 0.125)):
            expected = trunc.trunc_v2(x, scale, np.float32(0), np.float32(4), narrow, signed, np.float32(out_scale),
                                      np.float32(bits), rounding)
            shift = int(np.round(np.log2(out_scale / scale)))
            lo = -(1 << (bits - 1)) + narrow if signed else 0
            hi = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
            op = Truncate(scale=float(scale), zeropt=0.0, shift=shift, qmin=lo, qmax=hi, rounding=rounding)
            np.testing.assert_array_equal(op.evaluate(x.astype(np.float64)) * out_scale, expected)


def test_affine_moves_behind_an_unpadded_sum_pool_exactly():
    chain = Chain((4, 6, 6), uint(2))
    rng = np.random.default_rng(2)
    chain.add("affine", Affine(scale=rng.uniform(-2, 2, 4), bias=rng.normal(size=4)))
    chain.add("pool", SumPool(kernel=(2, 3), strides=(2, 3)))
    chain.add("affine", Affine(scale=np.full(4, 1 / 6), bias=np.zeros(4)))
    before = chain.graph()
    after = AffineBehindSumPool().apply(before)
    assert [type(n.op).__name__ for n in after.nodes] == ["SumPool", "Affine", "Affine"]
    assert str(after.types()[after.nodes[0].output].dtype) == "uint5"  # six 2-bit levels: up to 18
    x = random_input(before.input_type, 16, seed=3)
    np.testing.assert_allclose(golden.execute(after, x)[after.output_name], golden.execute(before, x)[before.output_name],
                               rtol=1e-12, atol=1e-12)


def test_affine_with_an_offset_stays_in_front_of_a_padded_sum_pool():
    chain = Chain((2, 4, 4), uint(2))
    chain.add("affine", Affine(scale=np.ones(2), bias=np.ones(2)))
    chain.add("pool", SumPool(kernel=(3, 3), strides=(1, 1), pads=(1, 1, 1, 1)))
    graph = chain.graph()
    assert [type(n.op).__name__ for n in AffineBehindSumPool().apply(graph).nodes] == ["Affine", "SumPool"]


def _pool_model(op_type: str, **attrs) -> onnx.ModelProto:
    """x (1, 2, 4, 4) → Sign(x − 7.5) (±1) → <pool> → Flatten → MatMul: a pool on ±1 activations."""
    w = np.random.default_rng(4).choice([-1.0, 1.0], size=(8 if op_type == "GlobalAveragePool" else 2 * 4, 3))
    nodes = [helper.make_node("Sub", ["x", "half"], ["c"], name="centre"),  # never 0: ONNX Sign(0) is 0
             helper.make_node("Sign", ["c"], ["s"], name="sign"),
             helper.make_node(op_type, ["s"], ["p"], name="pool", **attrs),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "w"], ["y"], name="fc")]
    if op_type == "GlobalAveragePool":
        w = w[:2]
    w = w * np.array([0.9, 1.3, 0.7])  # ±s per class: no ties between the logits
    graph = helper.make_graph(nodes, "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                              [numpy_helper.from_array(w.astype(np.float32), "w"),
                               numpy_helper.from_array(np.float32(7.5), "half")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize("op_type, attrs", [("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2])),
                                            ("AveragePool", dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2],
                                                                 count_include_pad=1)),
                                            ("GlobalAveragePool", {})])
def test_average_pool_models_are_bit_exact_against_onnxruntime(op_type, attrs, tmp_path):
    from bnnfpga.verify import verify_model

    path = tmp_path / "pool.onnx"
    onnx.save(_pool_model(op_type, **attrs), path)
    graph = api.load(path, input_bits=4)
    assert any(isinstance(n.op, SumPool) for n in graph.nodes)
    result = verify_model(path, graph, api.random_inputs(graph.input_type, 16, seed=5))
    assert result.ok, result.table()


def test_average_over_padding_without_counting_it_is_named(tmp_path):
    path = tmp_path / "pool.onnx"
    onnx.save(_pool_model("AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]), path)
    with pytest.raises(ModelError) as info:
        api.load(path, input_bits=4)
    assert "pool" in str(info.value) and "count_include_pad" in str(info.value)


def test_thresholds_fold_onto_the_integer_sums():
    """SumPool → Affine → Truncate becomes SumPool → Threshold (a threshold stage on the sums)."""
    chain = Chain((3, 4, 4), uint(2))
    chain.add("pool", SumPool(kernel=(2, 2), strides=(2, 2)))
    chain.add("affine", Affine(scale=np.full(3, 0.5 / 4), bias=np.zeros(3)))
    chain.add("trunc", Truncate(scale=0.125, zeropt=0.0, shift=2, qmin=0, qmax=3, rounding="FLOOR"))
    before = chain.graph()
    from bnnfpga.passes.pipeline import fold

    after = fold(before)
    assert [type(n.op) for n in after.nodes] == [SumPool, Threshold]
    x = random_input(before.input_type, 16, seed=6)
    np.testing.assert_array_equal(golden.execute(after, x)[after.output_name], golden.execute(before, x)[before.output_name])
