"""INQ power-of-two weights (docs/DESIGN.md 3.11): 5-, 4- and 3-bit INQ MLPs and CNNs built
with bnnfpga.nn, batchnorm calibrated on real digits, golden vs onnxruntime layer by layer on
all 1,797 digits; the same grid in plain ONNX and through a QONNX weight quantizer."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from bnnfpga import api
from bnnfpga.hw.engines import Mvu
from bnnfpga.hw.fold import choose_folding
from bnnfpga.hw.lower import lower
from bnnfpga.ir.ops import DotProduct
from bnnfpga.ir.types import DType
from bnnfpga.verify import verify_model
from tests.models import INQ_NETWORKS, NETWORKS, digits_frames
from tests.onnx_graphs import constant, quantized_mlp


def _dots(graph):
    return [n for n in graph.nodes if isinstance(n.op, DotProduct)]


@pytest.mark.parametrize("network", sorted(INQ_NETWORKS))
def test_inq_networks_are_bit_exact_on_every_digit(exported, network):
    path = exported(network, "legacy")
    graph = api.load(path)
    bits = int(network[-1])
    assert {str(n.op.weight_dtype) for n in _dots(graph)} == {f"pow2_{bits}"}
    assert any("power-of-two weights (INQ)" in note for note in graph.notes)
    x, _ = digits_frames(NETWORKS[network][1])
    result = verify_model(path, graph, x)
    assert result.ok, "\n" + result.table()
    assert sum(r.kind == "activation" for r in result.rows) >= 2, result.table()


@pytest.mark.parametrize("network", ["inq_mlp5", "inq_cnn4"])
def test_dynamo_export_reads_the_same_powers_of_two(exported, network):
    legacy, dynamo = api.load(exported(network, "legacy")), api.load(exported(network, "dynamo"))
    assert [n.op.weight_dtype for n in _dots(dynamo)] == [n.op.weight_dtype for n in _dots(legacy)]
    x, _ = digits_frames(NETWORKS[network][1])
    result = verify_model(exported(network, "dynamo"), dynamo, x[:400])
    assert result.ok, "\n" + result.table()
    np.testing.assert_array_equal(api.predict(dynamo, x).argmax(1), api.predict(legacy, x).argmax(1))


def test_five_bit_weights_beyond_int8_lower_to_shift_engines(exported):
    """A 5-bit INQ layer spans 2^0 … 2^7 of its step: |q| = 128 does not fit the int8 weight
    cap, and its two's complement code would take 9 bits; the power-of-two code takes 5."""
    graph = api.load(exported("inq_mlp5", "legacy"))
    assert max(int(np.abs(n.op.weight).max()) for n in _dots(graph)) == 128
    engines = lower(graph, choose_folding(graph), "rtl")
    mvus = [e for e in engines.engines if isinstance(e, Mvu)]
    assert mvus and all(e.power_of_two and e.weight_bits == 5 for e in mvus)


def _pow2_weights(rng, shape, exponents: range) -> np.ndarray:
    signs = rng.choice([-1.0, 0.0, 1.0, 1.0], size=shape)
    return (signs * np.exp2(rng.choice(list(exponents), size=shape))).astype(np.float32)


def test_power_of_two_grid_through_a_qonnx_weight_quantizer(tmp_path):
    """QONNX has no power-of-two quantizer: an INQ layer arrives as a 9-bit Quant (scale
    2^−8) of weights that are powers of two. The frontend evaluates it and reads the values."""
    pytest.importorskip("qonnx")
    model = quantized_mlp("qonnx.custom_op.general", w2_bits=9)
    inits = {i.name: i for i in model.graph.initializer}
    weights = _pow2_weights(np.random.default_rng(2), (8, 3), range(-8, 0))
    weights[0, 0], weights[1, 0] = 2.0**-1, -(2.0**-8)  # the whole 5-bit range in one column
    for name, value in (("w2", weights), ("w2_scale", np.float32(2.0**-8)), ("w2_bits", np.float32(9))):
        inits[name].CopyFrom(numpy_helper.from_array(np.asarray(value, np.float32), name))
    path = tmp_path / "inq_qonnx.onnx"
    onnx.save(model, path)
    graph = api.load(path, input_bits=5, input_scale=0.125)
    assert _dots(graph)[-1].op.weight_dtype == DType("pow2", 5)
    x = np.random.default_rng(1).integers(0, 32, size=(64, 6))
    result = verify_model(path, graph, x)
    assert result.ok, result.table()


def test_plain_onnx_power_of_two_gemm_with_folded_batchnorm(tmp_path):
    """A hand-written INQ MLP: Gemm with weights ±2^n (n = −9 … −2) times a per-row factor, as
    an exporter that folds batchnorm into the weights writes it."""
    rng = np.random.default_rng(4)
    w1 = _pow2_weights(rng, (16, 12), range(-9, -1)) * rng.uniform(0.5, 2.0, (16, 1)).astype(np.float32)
    w2 = _pow2_weights(rng, (10, 16), range(-5, -1))
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1, name="fc1"),
             helper.make_node("Sign", ["h"], ["a"], name="sign"),
             helper.make_node("Gemm", ["a", "w2"], ["y"], transB=1, name="fc2")]
    graph = helper.make_graph(nodes, "inq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 12])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                              [constant("w1", w1), constant("b1", rng.normal(size=16) * 0.5 + 0.25), constant("w2", w2)])
    path = tmp_path / "inq.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    graph = api.load(path)
    assert [str(n.op.weight_dtype) for n in _dots(graph)] == ["pow2_5", "pow2_4"]
    result = verify_model(path, graph, np.random.default_rng(0).integers(0, 256, size=(200, 12)))
    assert result.ok, result.table()
