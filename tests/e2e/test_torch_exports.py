"""Models exported by torch in both exporter modes: golden vs onnxruntime on every layer."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga import api, golden
from bnnfpga.ir.ops import Conv, Dense, DotProduct, IntegerAffine, MaxPool, SumPool, Threshold
from bnnfpga.verify import verify_model

MODES = ("legacy", "dynamo")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("network", ["small_cnn", "mlp", "padded_first_layer", "channel_mean", "ternary_pact", "ternary_sign",
                                     "int_weights", "trained_ternary", "average_pools"])
def test_verify_agrees_on_every_layer(exported, network, mode):
    path = exported(network, mode)
    graph = api.load(path)
    x = api.random_inputs(graph.input_type, 32, seed=7)
    result = verify_model(path, graph, x)
    assert result.ok, "\n" + result.table()
    hidden = [r for r in result.rows if r.kind == "activation"]
    assert len(hidden) >= 2, "hidden binary activations must be compared, not only the output"
    assert {r.kind for r in result.rows} >= {"logits", "top-1", "packed vs gemm"}


@pytest.mark.parametrize("mode", MODES)
def test_small_cnn_exercises_the_numeric_contract(exported, mode):
    """The test network really contains what the contract is about (else the test proves little)."""
    graph = api.load(exported("small_cnn", mode))
    convs = [n.op for n in graph.nodes if isinstance(n.op, Conv)]
    assert any(any(c.pads) for c in convs), "padding on ±1 activations"
    assert any(c.strides == (2, 2) for c in convs), "stride 2"
    assert any(c.out_channels == 37 for c in convs), "channel count not a multiple of 8"
    assert sum(int(n.op.flipped.sum()) for n in graph.nodes if isinstance(n.op, DotProduct) and n.op.flipped is not None) > 0
    assert sum(int((n.op.constant != 0).sum()) for n in graph.nodes if isinstance(n.op, Threshold)) > 0
    pools = [n.op for n in graph.nodes if isinstance(n.op, MaxPool)]
    assert pools and any(p.use_min is not None and p.use_min.any() for p in pools), "max-pool moved behind a flipped threshold"


@pytest.mark.parametrize("mode", MODES)
def test_ternary_weights_and_pact_activations_are_read_as_such(exported, mode):
    graph = api.load(exported("ternary_pact", mode))
    dots = [n.op for n in graph.nodes if isinstance(n.op, DotProduct)]
    assert {str(op.weight_dtype) for op in dots} == {"ternary"}
    assert all(np.any(op.weight == 0) for op in dots)
    levels = [n for n in graph.nodes if isinstance(n.op, Threshold)]
    assert [(n.op.base, n.op.levels) for n in levels] == [(0, 3)] * 3  # 2-bit unsigned: 3 thresholds each
    assert {str(graph.types()[n.output].dtype) for n in levels} == {"uint2"}
    assert any(isinstance(n.op, MaxPool) for n in graph.nodes)


@pytest.mark.parametrize("mode", MODES)
def test_k_bit_weights_are_read_as_integers(exported, mode):
    graph = api.load(exported("int_weights", mode))
    dots = [n.op for n in graph.nodes if isinstance(n.op, DotProduct)]
    assert [str(op.weight_dtype) for op in dots] == ["int4", "int3", "int4", "int4"]
    assert all(op.weight_magnitude == (3 if i == 1 else 7) for i, op in enumerate(dots))
    inputs = [str(graph.types()[n.inputs[0]].dtype) for n in graph.nodes if isinstance(n.op, DotProduct)]
    assert inputs[1:] == ["uint2", "bipolar", "uint2"]


@pytest.mark.parametrize("mode", MODES)
def test_trained_ternary_weights_get_integer_gains(exported, mode):
    graph = api.load(exported("trained_ternary", mode))
    dots = [n.op for n in graph.nodes if isinstance(n.op, DotProduct)]
    gained = [op for op in dots if op.gains is not None]
    assert len(gained) == 4 and dots[-1].gains is None  # the TWN tail has one scale per row
    assert all(str(op.weight_dtype) == "ternary" and op.gains.dtype == np.int64 for op in gained)
    assert all(np.any(op.gains[:, 0] != op.gains[:, 1]) for op in gained), "asymmetric gains"
    if mode == "legacy":  # the dynamo exporter folds batchnorm into the weights: γ < 0 turns the codes instead
        assert any(op.flipped.any() for op in gained), "a flipped row swaps its gains"
    inputs = [str(graph.types()[n.inputs[0]].dtype) for n in graph.nodes if isinstance(n.op, DotProduct)]
    assert inputs[1:4] == ["uint2", "bipolar", "uint2"]


@pytest.mark.parametrize("mode", MODES)
def test_average_pools_sum_integer_levels(exported, mode):
    """AvgPool2d (AveragePool) and AdaptiveAvgPool2d(1) (GlobalAveragePool, or ReduceMean from
    the dynamo exporter) become sums of integers: the PACT behind the 2x2 average folds into
    thresholds on the sums, and the dense tail reads the sums of ±1 values."""
    graph = api.load(exported("average_pools", mode))
    types = graph.types()
    pools = [n for n in graph.nodes if isinstance(n.op, SumPool)]
    assert [p.op.kernel for p in pools] == [(2, 2), (4, 4)]
    assert [str(types[p.output].dtype) for p in pools] == ["uint4", "int6"]  # 4 x uint2, 16 x ±1
    after = graph.nodes[graph.nodes.index(pools[0]) + 1]
    assert isinstance(after.op, Threshold) and after.op.levels == 3
    dense = next(n for n in graph.nodes if isinstance(n.op, Dense))
    assert str(types[dense.inputs[0]].dtype) == "int6"


def test_trained_ternary_last_layer_is_refused_with_its_name(tmp_path, capsys):
    """b·P − a·N with an irrational b/a has no integer form when no threshold follows."""
    import torch
    from torch import nn

    from bnnfpga.cli import main
    from bnnfpga.nn import TTQLinear
    from tests.models import export_module

    torch.manual_seed(0)
    last = TTQLinear(12, 4)
    with torch.no_grad():
        last.positive.fill_(0.7)
        last.negative.fill_(1.3)
    path = export_module(nn.Sequential(nn.Flatten(), last), (12,), tmp_path / "ttq_last.onnx")
    out = tmp_path / "out"
    assert main(["compile", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "asymmetric ternary weights" in err and "MatMul" in err, err
    assert not out.exists()


@pytest.mark.parametrize("mode", MODES)
def test_input_offset_before_padding_stays_exact(exported, mode):
    """Whatever float32 rounding the exporter gives (x/255 − 0.5)/0.25, the offset is never
    rounded: the border positions of the padded conv get their own thresholds."""
    graph = api.load(exported("padded_first_layer", mode))
    conv, threshold = graph.nodes[0], graph.nodes[1]
    assert isinstance(conv.op, Conv) and conv.inputs == (graph.input_name,)
    assert isinstance(threshold.op, Threshold) and threshold.op.positional
    assert not any(isinstance(n.op, IntegerAffine) for n in graph.nodes)


@pytest.mark.parametrize("mode", MODES)
def test_per_channel_std_agrees_within_its_warned_margin(exported, mode):
    """torchvision's CIFAR-10 (x/255 − mean[c])/std[c]: the per-channel std becomes 16-bit
    input gains (the compile warning names the node and the error); on 64 random frames the
    first layer's activations differ from onnxruntime's in at most a handful of places, and
    every top-1 is the same. (benchmarks/normalisation.py measures it on real digits.)"""
    path = exported("cifar_normalised", mode)
    graph = api.load(path)
    (warning,) = [n for n in graph.notes if "integer gains" in n]
    assert "16-bit" in warning and "relative error up to" in warning
    gains = graph.nodes[0].op
    assert isinstance(gains, IntegerAffine) and int(gains.scale.max()) == 1 << 16
    assert isinstance(graph.nodes[2].op, Threshold) and graph.nodes[2].op.positional
    result = verify_model(path, graph, api.random_inputs(graph.input_type, 64, seed=7))
    first = next(r for r in result.rows if r.kind == "activation")
    assert first.compared == 64 * 16 * 100 and first.mismatches <= first.compared // 10_000, result.table()
    assert all(r.ok for r in result.rows if r.kind in ("top-1", "packed vs gemm")), result.table()


@pytest.mark.parametrize("network", ["small_cnn", "mlp", "padded_first_layer"])
def test_legacy_and_dynamo_exports_compute_the_same(exported, network):
    legacy, dynamo = api.load(exported(network, "legacy")), api.load(exported(network, "dynamo"))
    x = api.random_inputs(legacy.input_type, 64, seed=11)
    a = golden.execute(legacy, x, keep_all=False)[legacy.output_name]
    b = golden.execute(dynamo, x, keep_all=False)[dynamo.output_name]
    assert np.array_equal(a.argmax(1), b.argmax(1))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(a).max())
