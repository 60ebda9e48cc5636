"""The QONNX frontend on small hand-written graphs: quantizers on weights and activations,
the domain spellings exporters use, and clear errors, against the qonnx executor. The second
half takes the frontend's QONNX idioms one at a time (tests/unit/test_frontend_idioms.py
does the same for plain ONNX)."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from bnnfpga import api, golden
from bnnfpga.errors import ModelError
from bnnfpga.frontend import import_model, is_qonnx, load_onnx
from bnnfpga.ir.ops import Affine, Binarize, Dense, Quantize, Threshold, Truncate
from bnnfpga.passes.pipeline import fold
from bnnfpga.verify import verify_model
from tests.onnx_graphs import constant, qonnx_quant, quantized_mlp

pytest.importorskip("qonnx", reason="the qonnx executor is the reference: pip install qonnx (dev extra)")

DOMAINS = ["qonnx.custom_op.general", "onnx.brevitas", ""]


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
                              [constant("s", 0.5), numpy_helper.from_array(np.array(0, np.int8), "z")])
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
    model.graph.initializer.append(constant("mt_thresholds", thresholds))
    return model


def multithreshold_cnn(thresholds: np.ndarray, layout: str = "NCHW") -> onnx.ModelProto:
    """x (N, 3, 6, 6) → Quant (4-bit unsigned) → Conv 3x3 (ternary weights) → per-channel
    Mul/Add → MultiThreshold (``layout``) → MaxPool 2 → Flatten → MatMul (4-bit weights)."""
    rng = np.random.default_rng(3)
    domain = "qonnx.custom_op.general"
    inits = [
        constant("in_scale", 1.0), constant("in_zp", 0.0), constant("in_bits", 4),
        constant("w1", rng.normal(size=(4, 3, 3, 3))), constant("w1_scale", 0.3), constant("w1_zp", 0.0), constant("w1_bits", 2),
        constant("bn_scale", (rng.uniform(0.05, 0.2, 4) * rng.choice([-1, 1], 4)).reshape(1, 4, 1, 1)),
        constant("bn_bias", rng.normal(size=4).reshape(1, 4, 1, 1)),
        constant("mt_thresholds", thresholds),
        constant("w2", rng.normal(size=(16, 3))), constant("w2_scale", 0.2), constant("w2_zp", 0.0), constant("w2_bits", 4),
    ]
    nodes = [
        qonnx_quant("x", "xq", "in", domain, 4, False, False),
        qonnx_quant("w1", "w1q", "w1", domain, 2, True, True),
        helper.make_node("Conv", ["xq", "w1q"], ["h"], name="conv", kernel_shape=[3, 3]),
        helper.make_node("Mul", ["h", "bn_scale"], ["hs"], name="bn_mul"),
        helper.make_node("Add", ["hs", "bn_bias"], ["hb"], name="bn_add"),
        helper.make_node("MultiThreshold", ["hb", "mt_thresholds"], ["a"], domain=domain, name="act_thresholds",
                         out_scale=1.0, out_bias=0.0, data_layout=layout),
        helper.make_node("MaxPool", ["a"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        qonnx_quant("w2", "w2q", "w2", domain, 4, True, True),
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


# -- one idiom at a time: import_model on a model in memory, the IR it gives, the qonnx executor --

QONNX = "qonnx.custom_op.general"


def act_quant_mlp(quantizer: onnx.NodeProto, inits: list, domain_version: int = 1, in_features: int = 8) -> onnx.ModelProto:
    """x (1, ``in_features``) → MatMul 'fc1' (±1) → per-feature Mul 'bn_mul' (some negative) / Add
    'bn_add' → ``quantizer`` (hb → a) → MatMul 'fc2' (±1) → y."""
    rng = np.random.default_rng(20)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
             helper.make_node("Mul", ["h", "bn_scale"], ["hs"], name="bn_mul"),
             helper.make_node("Add", ["hs", "bn_bias"], ["hb"], name="bn_add"), quantizer,
             helper.make_node("MatMul", ["a", "w2"], ["y"], name="fc2")]
    inits = [constant("w1", rng.choice([-1.0, 1.0], (in_features, 6))), constant("w2", rng.choice([-1.0, 1.0], (6, 3))),
             constant("bn_scale", rng.uniform(0.1, 0.3, 6) * np.array([1, -1, 1, 1, -1, 1])),
             constant("bn_bias", rng.normal(size=6)), *inits]
    graph = helper.make_graph(nodes, "idiom", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, in_features])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, domain_version)])


def quant_inits(prefix: str, scale, zeropt, bits) -> list:
    return [constant(f"{prefix}_scale", scale), constant(f"{prefix}_zp", zeropt), constant(f"{prefix}_bits", bits)]


def qonnx_executor_output(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    wrapper = ModelWrapper(copy).transform(InferShapes())
    name, out = model.graph.input[0].name, model.graph.output[0].name
    return np.concatenate([execute_onnx(wrapper, {name: frame[None].astype(np.float32)})[out] for frame in x])


def matches_qonnx_executor(model: onnx.ModelProto, input_bits: int = 4, input_scale: float = 1.0, frames: int = 12):
    """Import (bnnfpga.frontend.import_model), fold, and require the golden model to equal the
    qonnx executor on random integer frames; returns (imported, folded)."""
    graph = import_model(model, input_bits=input_bits, input_scale=input_scale)
    folded = fold(graph)
    x = np.random.default_rng(21).integers(0, 1 << input_bits, size=(frames,) + graph.input_type.shape)
    got = golden.predict(folded, x)
    want = qonnx_executor_output(model, x * np.float32(input_scale)).reshape(got.shape)
    assert len(np.unique(want)) > 1, "the reference output is constant: the test would prove little"
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()))
    return graph, folded


def op_of(graph, source: str, kind: type):
    found = [n.op for n in graph.nodes if n.source == source and isinstance(n.op, kind)]
    assert len(found) == 1, f"{source}: {[(n.source, type(n.op).__name__) for n in graph.nodes]}"
    return found[0]


def kinds(graph) -> list[str]:
    return [type(n.op).__name__ for n in graph.nodes]


def import_error(model: onnx.ModelProto, **options) -> str:
    with pytest.raises(ModelError) as info:
        import_model(model, **options)
    return str(info.value)


@pytest.mark.parametrize("bits, signed, narrow, rounding, zeropt, qmin, qmax", [
    (2, False, False, "ROUND", 0, 0, 3), (3, True, False, "FLOOR", 0, -4, 3), (3, True, True, "CEIL", 0, -3, 3),
    (4, False, True, "HALF_UP", 0, 0, 14), (3, False, False, "ROUND", 2, 0, 7),
], ids=["uint2", "int3-floor", "int3-narrow-ceil", "uint4-narrow-half-up", "uint3-zero-point"])
def test_quant_on_activations_is_affine_quantize_affine(bits, signed, narrow, rounding, zeropt, qmin, qmax):
    """Quant(x) = (clip/round(x/s + zp) − zp)·s: Affine(1/s, zp) → Quantize → Affine(s, −zp·s)."""
    scale = 0.5
    model = act_quant_mlp(qonnx_quant("hb", "a", "act", QONNX, bits, signed, narrow, rounding),
                          quant_inits("act", scale, zeropt, bits))
    graph, folded = matches_qonnx_executor(model)
    quantize = op_of(graph, "act_quant", Quantize)
    assert (quantize.qmin, quantize.qmax, quantize.rounding) == (qmin, qmax, rounding)
    affines = [n.op for n in graph.nodes if n.source == "act_quant" and isinstance(n.op, Affine)]
    np.testing.assert_allclose([affines[0].scale, affines[0].bias], [np.full(6, 1 / scale), np.full(6, zeropt)])
    np.testing.assert_allclose([affines[1].scale, affines[1].bias], [np.full(6, scale), np.full(6, -zeropt * scale)])
    assert next(n.op for n in folded.nodes if isinstance(n.op, Threshold)).levels == qmax - qmin


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_one_bit_signed_quant_is_bipolar(scale):
    model = act_quant_mlp(qonnx_quant("hb", "a", "act", QONNX, 1, True, False), quant_inits("act", scale, 0.0, 1))
    graph, _ = matches_qonnx_executor(model)
    assert not any(isinstance(n.op, Quantize) for n in graph.nodes)
    assert isinstance(op_of(graph, "act_quant", Binarize), Binarize)
    assert kinds(graph) == (["Dense", "Affine", "Affine", "Binarize", "Dense"] if scale == 1 else
                            ["Dense", "Affine", "Affine", "Affine", "Binarize", "Affine", "Dense"])


def test_int_quant_is_quant():
    def model(op_type):
        node = qonnx_quant("hb", "a", "act", QONNX, 3, True, False)
        node.op_type = op_type
        return act_quant_mlp(node, quant_inits("act", 0.5, 0.0, 3))

    graph, _ = matches_qonnx_executor(model("IntQuant"))
    quant = import_model(model("Quant"), input_bits=4)
    assert kinds(graph) == kinds(quant)
    assert (op_of(graph, "act_quant", Quantize).qmin, op_of(graph, "act_quant", Quantize).qmax) == (-4, 3)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_bipolar_quant_on_activations(scale):
    node = helper.make_node("BipolarQuant", ["hb", "bq_scale"], ["a"], domain=QONNX, name="act_bipolar")
    graph, _ = matches_qonnx_executor(act_quant_mlp(node, [constant("bq_scale", scale)]))
    assert not op_of(graph, "act_bipolar", Binarize).strict
    after = [n.op for n in graph.nodes if n.source == "act_bipolar" and isinstance(n.op, Affine)]
    assert [a.scale.tolist() for a in after] == ([] if scale == 1 else [[scale] * 6])


def test_quantizers_on_weights_are_folded_in_the_executors_arithmetic():
    """Quant (4-bit narrow, one scale per output) on fc1's weights, BipolarQuant on fc2's."""
    rng = np.random.default_rng(22)
    w1 = rng.normal(size=(8, 6)).astype(np.float32)
    s1 = rng.uniform(0.2, 0.4, (1, 6)).astype(np.float32)
    w2 = rng.normal(size=(6, 3)).astype(np.float32)
    model = act_quant_mlp(qonnx_quant("hb", "a", "act", QONNX, 1, True, False), quant_inits("act", 1.0, 0.0, 1))
    nodes = list(model.graph.node)
    nodes[0].input[1], nodes[-1].input[1] = "w1q", "w2q"
    nodes[:0] = [qonnx_quant("w1_latent", "w1q", "w1", QONNX, 4, True, True),
                 helper.make_node("BipolarQuant", ["w2_latent", "w2_scale"], ["w2q"], domain=QONNX, name="w2_bipolar")]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    model.graph.initializer.extend([constant("w1_latent", w1), *quant_inits("w1", s1, 0.0, 4), constant("w2_latent", w2),
                                    constant("w2_scale", 0.75)])
    graph, folded = matches_qonnx_executor(model)
    expected1 = np.clip(np.round(w1 / s1), -7, 7) * s1
    np.testing.assert_allclose(op_of(graph, "fc1", Dense).weight, expected1.T, rtol=1e-6)
    np.testing.assert_array_equal(op_of(graph, "fc2", Dense).weight, (np.where(w2 >= 0, 1.0, -1.0) * np.float32(0.75)).T)
    assert [str(n.op.weight_dtype) for n in folded.nodes if isinstance(n.op, Dense)] == ["int4", "bipolar"]


def trunc_pool_model(scale=0.25, out_bits=2.0, inputs: int = 6) -> onnx.ModelProto:
    """x (1, 2, 4, 4) 2-bit levels → Quant 'in' (uint2, scale 1) → AveragePool 2x2 'pool' (the
    mean: sum·0.25) → Trunc v2 'requant' (sum → sum >> 2, uint2) → Flatten → MatMul (±1) → y."""
    rng = np.random.default_rng(23)
    trunc_inputs = ["p", "t_scale", "t_zp", "t_in_bits", "t_out_scale", "t_out_bits"][:inputs]
    nodes = [qonnx_quant("x", "xq", "in", QONNX, 2, False, False),
             helper.make_node("AveragePool", ["xq"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Trunc", trunc_inputs, ["t"], domain=QONNX, name="requant", rounding_mode="FLOOR", signed=0,
                              narrow=0),
             helper.make_node("Flatten", ["t"], ["f"], name="flat"), helper.make_node("MatMul", ["f", "w"], ["y"], name="fc")]
    inits = [*quant_inits("in", 1.0, 0.0, 2), constant("t_scale", scale), constant("t_zp", 0.0), constant("t_in_bits", 4),
             constant("t_out_scale", 1.0), constant("t_out_bits", out_bits), constant("w", rng.choice([-1.0, 1.0], (8, 3)))]
    graph = helper.make_graph(nodes, "trunc", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 2)])


def test_trunc_v2_behind_an_average_pool_is_a_truncate():
    graph, folded = matches_qonnx_executor(trunc_pool_model(), input_bits=2)
    trunc = op_of(graph, "requant", Truncate)
    assert (trunc.shift, trunc.qmin, trunc.qmax, trunc.rounding) == (2, 0, 3, "FLOOR")
    assert kinds(folded)[:3] == ["Threshold", "SumPool", "Threshold"]  # the input quantizer, the sum, the Trunc


@pytest.mark.parametrize("model, words", [
    (lambda: trunc_pool_model(scale=np.array([0.25, 0.25])), "per-channel scales"),
    (lambda: trunc_pool_model(out_bits=12.0), "output of 1 to 8 bits"),
    (lambda: trunc_pool_model(inputs=5), "supported: Trunc v2"),
], ids=["per-channel", "12-bit", "v1"])
def test_trunc_forms_without_an_engine_are_named(model, words):
    message = import_error(model(), input_bits=2)
    assert re.search(r"node 'requant' \(Trunc, opset \d+\): ", message) and words in message, message


@pytest.mark.parametrize("domain", ["qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general", "finn", ""])
def test_every_domain_alias_reads_the_same(domain):
    model = act_quant_mlp(qonnx_quant("hb", "a", "act", domain, 2, False, False), quant_inits("act", 0.5, 0.0, 2))
    if domain:
        model.opset_import[1].domain = domain  # declared under its own name
    else:
        del model.opset_import[1]  # not declared at all
    assert is_qonnx(model)
    graph = import_model(model, input_bits=4)
    reference = import_model(act_quant_mlp(qonnx_quant("hb", "a", "act", QONNX, 2, False, False),
                                           quant_inits("act", 0.5, 0.0, 2)), input_bits=4)
    assert kinds(graph) == kinds(reference) == ["Dense", "Affine", "Affine", "Affine", "Quantize", "Affine", "Dense"]
    assert (op_of(graph, "act_quant", Quantize).qmin, op_of(graph, "act_quant", Quantize).qmax) == (0, 3)


def test_quant_in_an_unknown_domain_is_not_qonnx_and_is_named():
    model = act_quant_mlp(qonnx_quant("hb", "a", "act", "my.quantizers", 2, False, False), quant_inits("act", 0.5, 0.0, 2))
    assert not is_qonnx(model)
    message = import_error(model)
    assert "node 'act_quant' (Quant): unsupported operation on activations" in message, message


def _quant_model(bits=2, signed=False, scale=0.5, zeropt=0.0, rounding="ROUND", bits_from=None):
    node = qonnx_quant("hb", "a", "act", QONNX, 2, signed, False, rounding)
    if bits_from:
        node.input[3] = bits_from
    return act_quant_mlp(node, quant_inits("act", scale, zeropt, bits))


@pytest.mark.parametrize("model, op, words", [
    (lambda: _quant_model(bits=1), "Quant", "a 1-bit unsigned quantizer is not supported"),
    (lambda: _quant_model(zeropt=0.5), "Quant", "a non-integer zero point is not supported"),
    (lambda: _quant_model(scale=0.0), "Quant", "Quant needs a positive scale"),
    (lambda: _quant_model(rounding="STOCHASTIC"), "Quant", "rounding mode 'STOCHASTIC' is not supported"),
    (lambda: _quant_model(bits=2.5), "Quant", "bit width must be one integer"),
    (lambda: _quant_model(bits_from="hb"), "Quant", "needs constant scale, zero point and bit width"),
], ids=["1-bit-unsigned", "fractional-zero-point", "zero-scale", "rounding", "fractional-bits", "dynamic-bits"])
def test_quant_settings_without_a_mode_are_named(model, op, words):
    message = import_error(model())
    assert re.search(rf"node 'act_quant' \({op}, opset \d+\): ", message) and words in message, message


@pytest.mark.parametrize("node, inits, words", [
    (helper.make_node("BipolarQuant", ["hb", "s"], ["a"], domain=QONNX, name="act_q"), [constant("s", -1.0)],
     "BipolarQuant needs a positive scale"),
    (helper.make_node("MultiThreshold", ["hb", "t"], ["a"], domain=QONNX, name="act_q", out_scale=-1.0),
     [constant("t", np.zeros((6, 3)))], "a positive out_scale"),
    (helper.make_node("MultiThreshold", ["hb", "t"], ["a"], domain=QONNX, name="act_q"),
     [constant("t", np.full((6, 3), np.nan))], "not NaN"),
    (helper.make_node("MultiThreshold", ["hb", "hb"], ["a"], domain=QONNX, name="act_q"), [],
     "MultiThreshold needs constant thresholds"),
], ids=["bipolar-scale", "out-scale", "nan", "dynamic-thresholds"])
def test_bipolar_quant_and_multithreshold_settings_without_a_mode_are_named(node, inits, words):
    message = import_error(act_quant_mlp(node, inits))
    assert re.search(rf"node 'act_q' \({node.op_type}, opset \d+\): ", message) and words in message, message


@pytest.mark.parametrize("op_type", ["Trunc", "MultiThreshold"])
def test_qonnx_activation_ops_on_constants_are_named(op_type):
    """Weights may go through Quant/BipolarQuant; a Trunc or MultiThreshold on a constant is refused."""
    model = act_quant_mlp(qonnx_quant("hb", "a", "act", QONNX, 2, False, False), quant_inits("act", 0.5, 0.0, 2))
    inputs = ["w2_latent", "c1", "c0", "c4", "c1", "c2"] if op_type == "Trunc" else ["w2_latent", "c_t"]
    model.graph.node.insert(0, helper.make_node(op_type, inputs, ["w2"], domain=QONNX, name="odd_weights"))
    w2 = next(i for i in model.graph.initializer if i.name == "w2")
    w2.name = "w2_latent"
    model.graph.initializer.extend([constant("c0", 0.0), constant("c1", 1.0), constant("c2", 2.0), constant("c4", 4.0),
                                    constant("c_t", np.zeros((3, 1)))])
    message = import_error(model)
    assert re.search(rf"node 'odd_weights' \({op_type}, opset \d+\): {op_type} on constants is not supported", message), message
