"""The QONNX frontend on small hand-written graphs: quantizers on weights and activations,
the domain spellings exporters use, and clear errors, against the qonnx executor."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from bnnfpga import api, golden
from bnnfpga.errors import ModelError
from bnnfpga.frontend import is_qonnx, load_onnx
from bnnfpga.ir.ops import Threshold
from bnnfpga.verify import verify_model

pytest.importorskip("qonnx", reason="the qonnx executor is the reference: pip install qonnx (dev extra)")

DOMAINS = ["qonnx.custom_op.general", "onnx.brevitas", ""]


def _const(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, np.float32), name)


def _quant(inp: str, out: str, prefix: str, domain: str, bits: int, signed: bool, narrow: bool, rounding="ROUND"):
    return helper.make_node("Quant", [inp, f"{prefix}_scale", f"{prefix}_zp", f"{prefix}_bits"], [out], domain=domain,
                            name=f"{prefix}_quant", signed=int(signed), narrow=int(narrow), rounding_mode=rounding)


def quantized_mlp(domain: str, act_bits: int = 2, first_bits: int = 3, trunc: bool = False,
                  w2_bits: int = 4) -> onnx.ModelProto:
    """x (N, 6) → Quant (first_bits, signed) → MatMul (ternary weights through Quant)
    → per-feature Mul/Add (batchnorm, some negative) → Quant (act_bits, unsigned)
    → MatMul (w2_bits-bit weights) → output."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(6, 8)).astype(np.float32)
    w2 = rng.normal(size=(8, 3)).astype(np.float32)
    inits = [
        _const("in_scale", 0.25), _const("in_zp", 0.0), _const("in_bits", first_bits),
        _const("w1", w1), _const("w1_scale", 0.3), _const("w1_zp", 0.0), _const("w1_bits", 2),
        _const("bn_scale", rng.uniform(0.5, 2.0, 8) * rng.choice([-1, 1], 8)), _const("bn_bias", rng.normal(size=8)),
        _const("act_scale", 0.7), _const("act_zp", 0.0), _const("act_bits", act_bits),
        _const("w2", w2), _const("w2_scale", rng.uniform(0.1, 0.3, (1, 3))), _const("w2_zp", 0.0), _const("w2_bits", w2_bits),
    ]
    nodes = [
        _quant("x", "xq", "in", domain, first_bits, True, False),
        _quant("w1", "w1q", "w1", domain, 2, True, True),
        helper.make_node("MatMul", ["xq", "w1q"], ["h"], name="fc1"),
        helper.make_node("Mul", ["h", "bn_scale"], ["hs"], name="bn_mul"),
        helper.make_node("Add", ["hs", "bn_bias"], ["hb"], name="bn_add"),
        _quant("hb", "a1", "act", domain, act_bits, False, False),
        _quant("w2", "w2q", "w2", domain, w2_bits, True, True),
        helper.make_node("MatMul", ["a1", "w2q"], ["y"], name="fc2"),
    ]
    if trunc:
        inits += [_const("t_scale", 1.0), _const("t_zp", 0.0), _const("t_in_bits", 4), _const("t_out_bits", 2)]
        nodes.insert(6, helper.make_node("Trunc", ["a1", "t_scale", "t_zp", "t_in_bits", "t_out_bits"], ["a1t"],
                                         domain=domain, name="requant"))
        nodes[-1].input[0] = "a1t"
    graph = helper.make_graph(nodes, "qmlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    opsets = [helper.make_opsetid("", 13)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets)


@pytest.mark.parametrize("domain", DOMAINS, ids=["qonnx", "brevitas-alias", "undeclared"])
def test_quantized_mlp_is_bit_exact_against_the_qonnx_executor(domain, tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(quantized_mlp(domain), path)
    assert is_qonnx(load_onnx(path))
    graph = api.load(path, input_bits=5, input_scale=0.125)  # input values 0 .. 3.875
    thresholds = [n.op for n in graph.nodes if isinstance(n.op, Threshold)]
    assert [t.levels for t in thresholds] == [7, 3]  # 3-bit signed input quantizer (8 levels), 2-bit unsigned
    x = np.random.default_rng(1).integers(0, 32, size=(40, 6))
    result = verify_model(path, graph, x)
    assert result.ok, result.table()
    kinds = {r.kind for r in result.rows}
    assert "activation" in kinds and "logits" in kinds  # the 2-bit activation is compared as levels


def _error(model: onnx.ModelProto, tmp_path) -> str:
    path = tmp_path / "bad.onnx"
    onnx.save(model, path)
    with pytest.raises(ModelError) as info:
        api.load(path)
    return str(info.value)


def test_too_wide_activation_quantizer_is_named(tmp_path):
    message = _error(quantized_mlp("qonnx.custom_op.general", act_bits=12), tmp_path)
    assert "act_quant" in message and "12-bit" in message and "1 to 8 bits" in message


def test_trunc_v1_is_rejected_with_the_reason(tmp_path):
    """Trunc v1 (five inputs) has no output range; Brevitas writes v2 (see tests/unit/test_average_pool.py)."""
    message = _error(quantized_mlp("qonnx.custom_op.general", trunc=True), tmp_path)
    assert "requant" in message and "Trunc" in message and "supported: Trunc v2" in message


def test_relu_between_quantize_and_dequantize_is_named(tmp_path):
    """Relu on the integers of a QCDQ pair is not an activation this frontend reads."""
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
        helper.make_node("Relu", ["q"], ["r"], name="odd_relu"),
        helper.make_node("DequantizeLinear", ["r", "s", "z"], ["y"], name="dequant"),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              [_const("s", 0.5), numpy_helper.from_array(np.array(0, np.int8), "z")])
    message = _error(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path)
    assert "odd_relu" in message and "Relu" in message


def multithreshold_mlp(thresholds: np.ndarray, out_scale: float, out_bias: float) -> onnx.ModelProto:
    """quantized_mlp with its 2-bit activation quantizer replaced by FINN's MultiThreshold
    (float thresholds per channel on the batchnorm output)."""
    model = quantized_mlp("qonnx.custom_op.general")
    nodes = list(model.graph.node)
    index = next(i for i, n in enumerate(nodes) if n.name == "act_quant")
    nodes[index] = helper.make_node("MultiThreshold", ["hb", "mt_thresholds"], ["a1"], domain="qonnx.custom_op.general",
                                    name="act_thresholds", out_scale=out_scale, out_bias=out_bias)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    model.graph.initializer.append(_const("mt_thresholds", thresholds))
    return model


def multithreshold_cnn(thresholds: np.ndarray, layout: str = "NCHW") -> onnx.ModelProto:
    """x (N, 3, 6, 6) → Quant (4-bit unsigned) → Conv 3x3 (ternary weights) → per-channel
    Mul/Add → MultiThreshold (``layout``) → MaxPool 2 → Flatten → MatMul (4-bit weights)."""
    rng = np.random.default_rng(3)
    domain = "qonnx.custom_op.general"
    inits = [
        _const("in_scale", 1.0), _const("in_zp", 0.0), _const("in_bits", 4),
        _const("w1", rng.normal(size=(4, 3, 3, 3))), _const("w1_scale", 0.3), _const("w1_zp", 0.0), _const("w1_bits", 2),
        _const("bn_scale", (rng.uniform(0.05, 0.2, 4) * rng.choice([-1, 1], 4)).reshape(1, 4, 1, 1)),
        _const("bn_bias", rng.normal(size=4).reshape(1, 4, 1, 1)),
        _const("mt_thresholds", thresholds),
        _const("w2", rng.normal(size=(16, 3))), _const("w2_scale", 0.2), _const("w2_zp", 0.0), _const("w2_bits", 4),
    ]
    nodes = [
        _quant("x", "xq", "in", domain, 4, False, False),
        _quant("w1", "w1q", "w1", domain, 2, True, True),
        helper.make_node("Conv", ["xq", "w1q"], ["h"], name="conv", kernel_shape=[3, 3]),
        helper.make_node("Mul", ["h", "bn_scale"], ["hs"], name="bn_mul"),
        helper.make_node("Add", ["hs", "bn_bias"], ["hb"], name="bn_add"),
        helper.make_node("MultiThreshold", ["hb", "mt_thresholds"], ["a"], domain=domain, name="act_thresholds",
                         out_scale=1.0, out_bias=0.0, data_layout=layout),
        helper.make_node("MaxPool", ["a"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        _quant("w2", "w2q", "w2", domain, 4, True, True),
        helper.make_node("MatMul", ["f", "w2q"], ["y"], name="fc"),
    ]
    graph = helper.make_graph(nodes, "qcnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(domain, 1)])


MULTITHRESHOLD_CASES = {  # model, ONNX tensor of its output, thresholds per channel
    "3-levels-per-channel": (lambda: multithreshold_mlp(np.sort(np.random.default_rng(5).normal(0, 2, (8, 3)), axis=1),
                                                        0.7, 0.0), "a1", 3),
    "signed-global": (lambda: multithreshold_mlp(np.array([[-1.5, 0.25, 2.0]]), 1.0, -2.0), "a1", 3),
    "bipolar": (lambda: multithreshold_mlp(np.random.default_rng(6).normal(0, 1, (8, 1)), 2.0, -1.0), "a1", 1),
    "bipolar-scaled": (lambda: multithreshold_mlp(np.random.default_rng(7).normal(0, 1, (8, 1)), 0.5, -0.25), "a1", 1),
    "unsorted-nchw-pooled": (lambda: multithreshold_cnn(np.random.default_rng(8).normal(0, 2, (4, 7))), "a", 7),
}


@pytest.mark.parametrize("case", list(MULTITHRESHOLD_CASES))
def test_multithreshold_is_bit_exact_against_the_qonnx_executor(case, tmp_path):
    make, tensor, levels = MULTITHRESHOLD_CASES[case]
    path = tmp_path / "mt.onnx"
    onnx.save(make(), path)
    graph = api.load(path, input_bits=5 if tensor == "a1" else 4, input_scale=0.125 if tensor == "a1" else 1.0)
    hidden = [n for n in graph.nodes if isinstance(n.op, Threshold)][-1]  # the folded MultiThreshold
    assert hidden.op.levels == levels and hidden.op.bipolar == (levels == 1)
    x = np.random.default_rng(1).integers(0, 16, size=(64,) + graph.input_type.shape)
    result = verify_model(path, graph, x)
    assert result.ok, result.table()
    compared = {r.onnx_tensor for r in result.rows if r.kind == "activation"}
    if levels > 1 or case == "bipolar-scaled":
        assert tensor in compared, "the MultiThreshold output is compared, level by level\n" + result.table()
    values = golden.execute(graph, x, keep_all=True)[hidden.output]
    assert len(np.unique(values)) > 1, "the thresholds must split the values, or the test proves little"


@pytest.mark.parametrize("make, expected", [
    (lambda: multithreshold_cnn(np.zeros((4, 3)), layout="NHWC"), "data_layout 'NHWC'"),
    (lambda: multithreshold_mlp(np.zeros((8, 3)), 1.0, 0.3), "out_bias / out_scale = 0.3 is not an integer"),
    (lambda: multithreshold_mlp(np.zeros((5, 3)), 1.0, 0.0), "thresholds of shape (5, 3)"),
], ids=["nhwc", "fractional-bias", "channels"])
def test_multithreshold_settings_without_a_mode_are_named(make, expected, tmp_path):
    message = _error(make(), tmp_path)
    assert "act_thresholds" in message and "MultiThreshold" in message and expected in message
