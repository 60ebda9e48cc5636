"""The QONNX frontend on small hand-written graphs: quantizers on weights and activations,
the domain spellings exporters use, and clear errors, against the qonnx executor."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from bnnfpga import api
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


def quantized_mlp(domain: str, act_bits: int = 2, first_bits: int = 3, trunc: bool = False) -> onnx.ModelProto:
    """x (N, 6) → Quant (first_bits, signed) → MatMul (ternary weights through Quant)
    → per-feature Mul/Add (batchnorm, some negative) → Quant (act_bits, unsigned)
    → MatMul (4-bit weights) → output."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(6, 8)).astype(np.float32)
    w2 = rng.normal(size=(8, 3)).astype(np.float32)
    inits = [
        _const("in_scale", 0.25), _const("in_zp", 0.0), _const("in_bits", first_bits),
        _const("w1", w1), _const("w1_scale", 0.3), _const("w1_zp", 0.0), _const("w1_bits", 2),
        _const("bn_scale", rng.uniform(0.5, 2.0, 8) * rng.choice([-1, 1], 8)), _const("bn_bias", rng.normal(size=8)),
        _const("act_scale", 0.7), _const("act_zp", 0.0), _const("act_bits", act_bits),
        _const("w2", w2), _const("w2_scale", rng.uniform(0.1, 0.3, (1, 3))), _const("w2_zp", 0.0), _const("w2_bits", 4),
    ]
    nodes = [
        _quant("x", "xq", "in", domain, first_bits, True, False),
        _quant("w1", "w1q", "w1", domain, 2, True, True),
        helper.make_node("MatMul", ["xq", "w1q"], ["h"], name="fc1"),
        helper.make_node("Mul", ["h", "bn_scale"], ["hs"], name="bn_mul"),
        helper.make_node("Add", ["hs", "bn_bias"], ["hb"], name="bn_add"),
        _quant("hb", "a1", "act", domain, act_bits, False, False),
        _quant("w2", "w2q", "w2", domain, 4, True, True),
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


def test_trunc_is_rejected_with_the_reason(tmp_path):
    message = _error(quantized_mlp("qonnx.custom_op.general", trunc=True), tmp_path)
    assert "requant" in message and "Trunc" in message and "average pool" in message


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
