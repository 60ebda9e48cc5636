"""Brevitas BNN-PYNQ models (untrained, randomised batchnorm with γ < 0) exported as QONNX
and as QCDQ: the golden model is bit-exact against the qonnx executor (QONNX) and
onnxruntime (QCDQ), hidden activation by hidden activation, through ``bnnfpga verify``."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga import api
from bnnfpga.ir.ops import DotProduct, Threshold
from bnnfpga.nn.bnn_pynq import INPUT_SCALE, export
from bnnfpga.verify import verify_model
from tests.models import trunc_average_pool_model

pytest.importorskip("brevitas", reason="the Brevitas models need brevitas: pip install brevitas onnxoptimizer (dev extra)")
pytest.importorskip("qonnx", reason="the qonnx executor is the reference: pip install qonnx (dev extra)")

FRAMES = 6


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    cache = {}

    def get(name: str, form: str, dynamo: bool = True):
        key = (name, form, dynamo)
        if key not in cache:
            cache[key] = export(name, tmp_path_factory.mktemp(f"{name}_{form}"), form, dynamo)
        return cache[key]

    return get


def check_bit_exact(path, expect_levels: int | None):
    graph = api.load(path, input_scale=INPUT_SCALE)
    dots = [n.op for n in graph.nodes if isinstance(n.op, DotProduct)]
    assert any(op.flipped is not None and op.flipped.any() for op in dots), "some γ < 0 should flip rows"
    if expect_levels is not None:
        hidden = [n.op for n in graph.nodes if isinstance(n.op, Threshold)][1:]  # after the input quantizer
        assert hidden and all(t.levels == expect_levels for t in hidden)
    x = np.random.default_rng(0).integers(0, 256, size=(FRAMES,) + graph.input_type.shape)
    result = verify_model(path, graph, x)
    assert result.ok, result.table()
    activations = [r for r in result.rows if r.kind == "activation"]
    assert len(activations) >= 3 and sum(r.compared for r in activations) > 0
    return graph


@pytest.mark.parametrize("name, levels", [("tfc_1w1a", 1), ("lfc_1w2a", 2),
                                          pytest.param("cnv_1w1a", 1, marks=pytest.mark.slow),
                                          pytest.param("cnv_2w2a", 2, marks=pytest.mark.slow)])
def test_qonnx_export_is_bit_exact_against_the_qonnx_executor(exports, name, levels):
    graph = check_bit_exact(exports(name, "qonnx"), levels)
    weight_kinds = {str(n.op.weight_dtype) for n in graph.nodes if isinstance(n.op, DotProduct)}
    assert weight_kinds == ({"ternary"} if name.endswith("2w2a") else {"bipolar"})


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
@pytest.mark.parametrize("name", ["tfc_2w2a", pytest.param("cnv_2w2a", marks=pytest.mark.slow)])
def test_qcdq_export_is_bit_exact_against_onnxruntime(exports, name, dynamo):
    graph = check_bit_exact(exports(name, "qcdq", dynamo), 2)
    assert {str(n.op.weight_dtype) for n in graph.nodes if isinstance(n.op, DotProduct)} == {"ternary"}


@pytest.mark.parametrize("form", ["qonnx", "qcdq"])
def test_four_bit_weights_are_bit_exact(exports, form):
    """TFC with Brevitas's 4-bit narrow weights (values −7 … 7) and 2-bit activations."""
    graph = check_bit_exact(exports("tfc_4w2a", form), 2)
    assert {str(n.op.weight_dtype) for n in graph.nodes if isinstance(n.op, DotProduct)} == {"int4"}


def test_trunc_average_pool_is_bit_exact_against_the_qonnx_executor(tmp_path):
    """QONNX Trunc behind an AveragePool: thresholds on the window's integer sums."""
    from bnnfpga.ir.ops import SumPool

    path = trunc_average_pool_model(tmp_path)
    graph = api.load(path, input_scale=INPUT_SCALE)
    pool = next(n for n in graph.nodes if isinstance(n.op, SumPool))
    after = graph.nodes[graph.nodes.index(pool) + 1]
    assert str(graph.types()[pool.output].dtype) == "uint4" and isinstance(after.op, Threshold)
    assert str(graph.types()[after.output].dtype) == "uint2"  # truncated by 2 bits
    x = np.random.default_rng(0).integers(0, 256, size=(FRAMES,) + graph.input_type.shape)
    result = verify_model(path, graph, x)
    assert result.ok, result.table()
    assert len([r for r in result.rows if r.kind == "activation"]) >= 4


def test_residual_network_with_quant_identity_shortcuts_is_bit_exact(tmp_path):
    """Brevitas QuantIdentity (power-of-two scales) on every branch and sum of a Bi-Real-style
    network: the adds are integer, every layer bit-exact against the qonnx executor."""
    from bnnfpga.ir.ops import Add
    from tests.models import brevitas_bireal_model

    path = brevitas_bireal_model(tmp_path)
    graph = api.load(path, float_input=True)
    adds = [n for n in graph.nodes if isinstance(n.op, Add)]
    assert len(adds) == 3 and all(graph.types()[n.output].dtype.is_integer for n in adds)
    x = np.random.default_rng(3).random((FRAMES, 3, 8, 8)).astype(np.float32)
    result = verify_model(path, graph, x)
    assert result.ok, result.table()
    assert len([r for r in result.rows if r.kind == "activation"]) >= 8
