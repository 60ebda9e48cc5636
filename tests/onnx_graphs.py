"""Hand-written ONNX graphs (onnx.helper) for idioms torch rarely exports, and QONNX graphs; fixed seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(nodes, inits: dict, in_shape, out_shape) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "regression", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def signs(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


def bn_inits(rng, prefix: str, c: int, spread: float) -> dict:
    return {f"{prefix}_g": rng.normal(size=c), f"{prefix}_b": rng.normal(size=c) * 0.5,
            f"{prefix}_m": rng.normal(size=c) * spread, f"{prefix}_v": rng.uniform(0.5, 2, size=c) * spread**2}


def bn(prefix: str, x: str, y: str):
    return helper.make_node("BatchNormalization", [x] + [f"{prefix}_{k}" for k in "gbmv"], [y], name=prefix)


def heaviside_before_padded_conv(rng):
    """{0, 1} activations (Where(x >= 0, 1, 0)) in front of a zero-padded conv."""
    inits = {"w1": signs(rng, (4, 3, 3, 3)), "w2": signs(rng, (5, 4, 3, 3)), "w3": signs(rng, (10, 80)),
             "zero": 0.0, "one": 1.0, **bn_inits(rng, "bn1", 4, 300), **bn_inits(rng, "bn2", 5, 3)}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1"), bn("bn1", "c1", "b1"),
             helper.make_node("GreaterOrEqual", ["b1", "zero"], ["ge"], name="ge"),
             helper.make_node("Where", ["ge", "one", "zero"], ["a1"], name="heaviside"),
             helper.make_node("Conv", ["a1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]), bn("bn2", "c2", "b2"),
             helper.make_node("Sign", ["b2"], ["s2"], name="sign2"), helper.make_node("Flatten", ["s2"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w3"], ["y"], name="fc", transB=1)]
    return model(nodes, inits, [1, 3, 6, 6], [1, 10]), 8


def resign_after_pool(rng):
    """Sign on values that are already ±1 (a re-binarised layer input)."""
    inits = {"w1": signs(rng, (4, 3, 3, 3)), "w3": signs(rng, (10, 16)), **bn_inits(rng, "bn1", 4, 100)}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1"), bn("bn1", "c1", "b1"),
             helper.make_node("Sign", ["b1"], ["s1"], name="sign1"),
             helper.make_node("MaxPool", ["s1"], ["p1"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Sign", ["p1"], ["s2"], name="sign2"), helper.make_node("Flatten", ["s2"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w3"], ["y"], name="fc", transB=1)]
    return model(nodes, inits, [1, 3, 6, 6], [1, 10]), 8


def flatten_then_sign(rng):
    """Conv → BN → Flatten → Sign → Gemm: the flatten sits between batchnorm and sign."""
    inits = {"w1": signs(rng, (4, 3, 3, 3)), "w3": signs(rng, (10, 64)), "gemm_c": rng.normal(size=(1, 10)),
             **bn_inits(rng, "bn1", 4, 100)}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1"), bn("bn1", "c1", "b1"),
             helper.make_node("Flatten", ["b1"], ["f"], name="flat"), helper.make_node("Sign", ["f"], ["s"], name="sign"),
             helper.make_node("Gemm", ["s", "w3", "gemm_c"], ["y"], name="fc", transB=1)]
    return model(nodes, inits, [1, 3, 6, 6], [1, 10]), 8


def trailing_flatten(rng):
    """The last layer is a conv whose (C, H, W) output is flattened."""
    inits = {"w1": signs(rng, (4, 3, 3, 3)), "w2": signs(rng, (6, 4, 3, 3)), **bn_inits(rng, "bn1", 4, 100),
             **bn_inits(rng, "bn2", 6, 3)}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1"), bn("bn1", "c1", "b1"),
             helper.make_node("Sign", ["b1"], ["s1"], name="sign1"),
             helper.make_node("Conv", ["s1", "w2"], ["c2"], name="conv2"), bn("bn2", "c2", "b2"),
             helper.make_node("Flatten", ["b2"], ["y"], name="flat")]
    return model(nodes, inits, [1, 3, 7, 7], [1, 54]), 8


def binary_input_mlp(rng):
    """1-bit unsigned inputs (--input-bits 1) into a dense layer, plus a dead branch."""
    inits = {"w1": signs(rng, (16, 12)), "w2": signs(rng, (12, 5)), "w_dead": signs(rng, (12, 3)),
             **bn_inits(rng, "bn1", 12, 2)}
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"), bn("bn1", "h", "b1"),
             helper.make_node("Sign", ["b1"], ["s1"], name="sign1"),
             helper.make_node("MatMul", ["s1", "w_dead"], ["dead"], name="unused_head"),
             helper.make_node("MatMul", ["s1", "w2"], ["y"], name="fc2")]
    return model(nodes, inits, [1, 16], [1, 5]), 1


def case_colliding_names(rng):
    inits = {"w1": signs(rng, (4, 3, 3, 3)), "w3": signs(rng, (5, 64)), **bn_inits(rng, "bn1", 4, 100)}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="Layer"), bn("bn1", "c1", "b1"),
             helper.make_node("Sign", ["b1"], ["s1"], name="sign1"), helper.make_node("Flatten", ["s1"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w3"], ["y"], name="layer", transB=1)]
    return model(nodes, inits, [1, 3, 6, 6], [1, 5]), 8


def ceil_mode_pool(rng):
    """MaxPool 2x2 / stride 2 with ceil_mode on 7x7: the last window is cut by the border."""
    inits = {"w1": signs(rng, (4, 3, 1, 1)), "w3": signs(rng, (7, 64)), **bn_inits(rng, "bn1", 4, 100)}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1"), bn("bn1", "c1", "b1"),
             helper.make_node("Sign", ["b1"], ["s1"], name="sign1"),
             helper.make_node("MaxPool", ["s1"], ["p1"], name="pool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
             helper.make_node("Flatten", ["p1"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "w3"], ["y"], name="fc", transB=1)]
    return model(nodes, inits, [1, 3, 7, 7], [1, 7]), 8


GRAPHS = {f.__name__: f for f in (heaviside_before_padded_conv, ceil_mode_pool, resign_after_pool, flatten_then_sign, trailing_flatten,
                                   binary_input_mlp, case_colliding_names)}


def constant(name: str, value) -> onnx.TensorProto:
    """A float32 initializer."""
    return numpy_helper.from_array(np.asarray(value, np.float32), name)


def qonnx_quant(inp: str, out: str, prefix: str, domain: str, bits: int, signed: bool, narrow: bool, rounding="ROUND"):
    """A QONNX ``Quant`` node named ``{prefix}_quant`` reading ``{prefix}_scale``, ``_zp`` and ``_bits``."""
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
        constant("in_scale", 0.25), constant("in_zp", 0.0), constant("in_bits", first_bits),
        constant("w1", w1), constant("w1_scale", 0.3), constant("w1_zp", 0.0), constant("w1_bits", 2),
        constant("bn_scale", rng.uniform(0.5, 2.0, 8) * rng.choice([-1, 1], 8)), constant("bn_bias", rng.normal(size=8)),
        constant("act_scale", 0.7), constant("act_zp", 0.0), constant("act_bits", act_bits),
        constant("w2", w2), constant("w2_scale", rng.uniform(0.1, 0.3, (1, 3))), constant("w2_zp", 0.0), constant("w2_bits", w2_bits),
    ]
    nodes = [
        qonnx_quant("x", "xq", "in", domain, first_bits, True, False),
        qonnx_quant("w1", "w1q", "w1", domain, 2, True, True),
        helper.make_node("MatMul", ["xq", "w1q"], ["h"], name="fc1"),
        helper.make_node("Mul", ["h", "bn_scale"], ["hs"], name="bn_mul"),
        helper.make_node("Add", ["hs", "bn_bias"], ["hb"], name="bn_add"),
        qonnx_quant("hb", "a1", "act", domain, act_bits, False, False),
        qonnx_quant("w2", "w2q", "w2", domain, w2_bits, True, True),
        helper.make_node("MatMul", ["a1", "w2q"], ["y"], name="fc2"),
    ]
    if trunc:
        inits += [constant("t_scale", 1.0), constant("t_zp", 0.0), constant("t_in_bits", 4), constant("t_out_bits", 2)]
        nodes.insert(6, helper.make_node("Trunc", ["a1", "t_scale", "t_zp", "t_in_bits", "t_out_bits"], ["a1t"],
                                         domain=domain, name="requant"))
        nodes[-1].input[0] = "a1t"
    graph = helper.make_graph(nodes, "qmlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    opsets = [helper.make_opsetid("", 13)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets)


def hostile_names_model(source: Path, names: list[str], graph_name: str, path: Path) -> Path:
    """``source`` with node names cycling through ``names`` (quotes, paths, keywords of the
    target language, non-ASCII, newlines) and a graph name meant to break out of a comment."""
    m = onnx.load(str(source))
    for i, node in enumerate(m.graph.node):
        node.name = names[i % len(names)]
    m.graph.name = graph_name
    onnx.save(m, str(path))
    return path


def old_opset_qonnx_mlp(opset: int) -> onnx.ModelProto:
    """A FINN-TFC-style binary MLP as old exporters wrote it, at ``opset`` (7 or later):
    x (N, 1, 4, 4) → Reshape to (N, 16) with its shape computed by Shape → Gather →
    Unsqueeze (axes as an attribute) → Concat, `Constant` nodes, weights transposed by a
    `Transpose` of a constant, BatchNormalization (no training outputs), QONNX
    BipolarQuant/Quant on weights and activations, and a Squeeze/Unsqueeze round trip
    through constants; the dot products are `Gemm` (no broadcast attribute since opset 7)."""
    rng = np.random.default_rng(5)
    domain = "qonnx.custom_op.general"
    inits = [
        constant("w1t", rng.normal(size=(16, 12))), constant("w2t", rng.normal(size=(12, 5))), constant("b1", np.zeros(12)),
        constant("one", 1.0), constant("in_scale", 1.0), constant("in_zp", 0.0), constant("in_bits", 8.0),
        *(constant(k, v) for k, v in bn_inits(rng, "bn", 12, 4).items()),
    ]
    axes_input = opset >= 13  # Squeeze/Unsqueeze take their axes as an input since opset 13
    axes = {} if axes_input else {"axes": [0]}
    if axes_input:
        inits.append(numpy_helper.from_array(np.array([0], np.int64), "axes"))
    nodes = [
        helper.make_node("Quant", ["x", "in_scale", "in_zp", "in_bits"], ["xq"], domain=domain, name="in_quant",
                         signed=0, narrow=0, rounding_mode="ROUND"),
        helper.make_node("Shape", ["xq"], ["shape"], name="shape"),
        helper.make_node("Constant", [], ["zero_index"], name="zero_index",
                         value=numpy_helper.from_array(np.array(0, np.int64))),
        helper.make_node("Gather", ["shape", "zero_index"], ["batch"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["batch"] + ["axes"] * axes_input, ["batch_1d"], name="unsqueeze", **axes),
        helper.make_node("Constant", [], ["minus_one"], name="minus_one",
                         value=numpy_helper.from_array(np.array([-1], np.int64))),
        helper.make_node("Concat", ["batch_1d", "minus_one"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["xq", "target"], ["flat"], name="flatten"),
        helper.make_node("Transpose", ["w1t"], ["w1"], name="w1_transpose", perm=[1, 0]),
        helper.make_node("BipolarQuant", ["w1", "one"], ["w1q"], domain=domain, name="w1_quant"),
        helper.make_node("Gemm", ["flat", "w1q", "b1"], ["h"], name="fc1", transB=1),  # C is required before opset 11
        helper.make_node("BatchNormalization", ["h", "bn_g", "bn_b", "bn_m", "bn_v"], ["hb"], name="bn",
                         epsilon=1e-4),
        helper.make_node("BipolarQuant", ["hb", "one"], ["a1"], domain=domain, name="act_quant"),
        helper.make_node("Unsqueeze", ["w2t"] + ["axes"] * axes_input, ["w2u"], name="w2_unsqueeze", **axes),
        helper.make_node("Squeeze", ["w2u"] + ["axes"] * axes_input, ["w2s"], name="w2_squeeze", **axes),
        helper.make_node("BipolarQuant", ["w2s", "one"], ["w2q"], domain=domain, name="w2_quant"),
        helper.make_node("MatMul", ["a1", "w2q"], ["y"], name="fc2"),
    ]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])]
    if opset < 9:  # IR version 3 lists every initializer as a graph input too
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in inits]
    graph = helper.make_graph(nodes, "tfc_old", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
                              inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(domain, 1)])
    m.ir_version = 3 if opset < 9 else 4
    return m
