"""The quantization schemes of bnnfpga.nn as plain torch exports (XNOR-Net α, BinaryConnect/BWN
on k-bit activations, DoReFa, HWGQ), the scheme examples in examples/schemes/, and the
ABC-Net's activation and weight bases in the golden model, and what is still out of reach."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from bnnfpga import api
from bnnfpga.errors import ModelError
from bnnfpga.ir.ops import Affine, DotProduct, Threshold
from bnnfpga.nn.train import calibrate_batchnorm
from bnnfpga.report import inspect_table
from bnnfpga.verify import run_onnxruntime, verify_model
from tests.models import digits_frames, export_module

ROOT = Path(__file__).resolve().parents[2]
SCHEMES = ROOT / "examples" / "schemes"


@pytest.mark.parametrize("mode", ["legacy", "dynamo"])
def test_xnor_bwn_dorefa_hwgq_layers_are_bit_exact(exported, mode):
    """XNOR-Net's α (mean |w| per output channel) is a per-row weight scale: it folds into the
    thresholds behind, and the weights stay ±1 (on ±1 inputs: XNOR-popcount; on 4-bit PACT
    levels, BWN: ±x adders). DoReFa's weights are a 2-bit grid, HWGQ a 3-threshold quantizer."""
    path = exported("schemes", mode)
    graph = api.load(path)
    dots = [n for n in graph.nodes if isinstance(n.op, DotProduct)]
    assert [str(n.op.weight_dtype) for n in dots] == ["bipolar", "bipolar", "bipolar", "int3", "bipolar"]
    types = graph.types()
    assert [str(types[n.inputs[0]].dtype) for n in dots[1:]] == ["uint4", "bipolar", "uint2", "uint2"]
    for dot in dots[:-1]:  # α went into the thresholds: nothing float between a dot product and its threshold
        (reader,) = graph.consumers(dot.output)
        assert isinstance(reader.op, Threshold) and not any(isinstance(n.op, Affine) for n in graph.nodes)
    x = api.random_inputs(graph.input_type, 64, seed=3)
    result = verify_model(path, graph, x)
    assert result.ok, "\n" + result.table()


class _ABCLinear(nn.Module):
    """ABC-Net's layer as published: A = Σⱼ βⱼ·sign(x + vⱼ), out = Σᵢ αᵢ·(A·Bᵢᵀ), Bᵢ the sign of
    the centred weights shifted by uᵢ standard deviations, α by least squares; β = (1, ½) fixed."""

    def __init__(self, inputs: int, outputs: int, bases: int = 3, first: bool = False, betas=(1.0, 0.5)):
        super().__init__()
        torch.manual_seed(inputs + outputs)
        w = torch.randn(outputs, inputs)
        centred, spread = w - w.mean(), w.std()
        self.bases = [torch.sign(centred + u * spread) for u in torch.linspace(-1, 1, bases)]
        columns = torch.stack([b.flatten() for b in self.bases], 1)
        self.alpha = torch.linalg.lstsq(columns.double(), w.double().flatten()[:, None]).solution.flatten().tolist()
        self.first, self.betas = first, betas

    def forward(self, x):
        a = x if self.first else self.betas[0] * torch.sign(x - 0.5) + self.betas[1] * torch.sign(x + 0.5)
        return sum(alpha * F.linear(a, b) for alpha, b in zip(self.alpha, self.bases))


def _abc_mlp(directory: Path, betas=(1.0, 0.5)) -> Path:
    model = nn.Sequential(_ABCLinear(64, 32, first=True), nn.BatchNorm1d(32), _ABCLinear(32, 10, betas=betas))
    calibrate_batchnorm(model, digits_frames()[0][:500].astype(np.float32))
    # BLAS results move in the last bits from run to run (memory alignment); statistics on a
    # coarse grid make the exported model the same at every run
    for stat in (model[1].running_mean, model[1].running_var):
        stat.copy_(torch.round(stat * 64) / 64)
    return export_module(model, (64,), directory / "abc.onnx")


@pytest.mark.parametrize("mode", ["legacy", "dynamo"])
def test_abc_activation_network_is_bit_exact_on_every_digit(exported, mode):
    path = exported("abc_activations", mode)
    graph = api.load(path)
    assert [n.op.levels for n in graph.nodes if isinstance(n.op, Threshold)] == [3, 3]
    result = verify_model(path, graph, digits_frames()[0])
    assert result.ok, "\n" + result.table()


def test_abc_net_activation_bases_become_one_multi_threshold(tmp_path):
    """Σ βⱼ·sign(x + vⱼ) with β = (1, ½) is 2β_min·(#thresholds reached) − Σβ with −v₁ counted
    twice: a 3-level quantizer folded into the thresholds of the layer in front; the weight
    bases (M = 3, least-squares α) become one dot product with integer gains."""
    graph = api.load(_abc_mlp(tmp_path))
    (threshold,) = [n.op for n in graph.nodes if isinstance(n.op, Threshold)]
    assert threshold.levels == 3 and np.all(threshold.thresholds[:, 1] == threshold.thresholds[:, 2])
    dots = [n.op for n in graph.nodes if isinstance(n.op, DotProduct)]
    assert [len(d.bases) for d in dots] == [3, 3]
    assert sum("weight bases (ABC-Net)" in note for note in graph.notes) == 2


def test_abc_net_golden_model_against_onnxruntime_on_every_digit(tmp_path):
    """The hidden layer's α products are exact integers on a 48-bit accumulator; the last
    layer's are rounded to 30 bits (a note says by how much, ~1e-7). Against onnxruntime's
    float32 on all 1,797 digits: the logits agree to float32 rounding and the top-1 differs
    only where float32 rounding ties two classes (docs/DESIGN.md 5.2)."""
    path = _abc_mlp(tmp_path)
    graph = api.load(path)
    assert any("'/2/" in note and "gains rounded" in note for note in graph.notes)
    assert not any("'/0/" in note and "gains rounded" in note for note in graph.notes)
    x, _ = digits_frames()
    result = verify_model(path, graph, x)
    (logits,) = [r for r in result.rows if r.kind == "logits"]
    assert logits.ok, result.table()
    exported = onnx.load(str(path))
    reference = run_onnxruntime(exported, x, [])[exported.graph.output[0].name]
    ours = api.predict(graph, x)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-4 * np.abs(reference).max())
    differ = np.flatnonzero(ours.argmax(1) != reference.argmax(1))
    top2 = np.sort(reference[differ], axis=1)[:, -2:]
    assert len(differ) <= 2 and np.all(top2[:, 1] - top2[:, 0] <= 1e-6 * np.abs(reference).max()), differ


@pytest.mark.parametrize("mode", ["legacy", "dynamo"])
def test_trained_abc_net_golden_model_against_onnxruntime_on_every_digit(mode, tmp_path):
    """bnnfpga.nn's ABC-Net MLP (M = 3 weight bases with least-squares α, N = 2 activation bases
    with fixed β = 1 : ½), trained for 3 epochs on digits: golden and onnxruntime pick the same
    class for all 1,797 digits, and the logits agree within 1e-4 of the largest."""
    example, common = _load_example("abc_net"), _load_example("common")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = common.train(example.build(), 3).eval()
    path = tmp_path / "abc.onnx"
    if mode == "legacy":
        torch.onnx.export(model, (torch.zeros(1, 64),), str(path), dynamo=False, opset_version=13, input_names=["x"],
                          dynamic_axes={"x": {0: "n"}})
    else:
        torch.onnx.export(model, (torch.zeros(1, 64),), str(path), dynamo=True)
    graph = api.load(path)
    assert [len(n.op.bases) for n in graph.nodes if isinstance(n.op, DotProduct)] == [3, 3, 3]
    assert [n.op.levels for n in graph.nodes if isinstance(n.op, Threshold)] == [3, 3]
    assert inspect_table(graph).count("3x±1 bases") == 3
    x = np.concatenate(common.digits()[:2]).astype(np.float32)
    exported = onnx.load(str(path))
    reference = run_onnxruntime(exported, x, [])[exported.graph.output[0].name]
    ours = api.predict(graph, x)
    assert np.array_equal(ours.argmax(1), reference.argmax(1))
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-4 * np.abs(reference).max())
    assert common.accuracy(reference[-len(common.digits()[3]):], common.digits()[3]) > 0.85


def test_abc_net_out_of_reach_is_refused_naming_the_node(tmp_path):
    """β ratios that are not integers (1 : 0.3) are no multi-threshold; more weight bases than
    the MVU has weight bits for are refused by the backends."""
    with pytest.raises(ModelError) as info:
        api.load(_abc_mlp(tmp_path, betas=(1.0, 0.3)))
    assert "ABC-Net" in str(info.value) and "1 : 0.3" in str(info.value) and "supported:" in str(info.value)
    model = nn.Sequential(_ABCLinear(64, 32, bases=9, first=True), nn.BatchNorm1d(32), _ABCLinear(32, 10))
    calibrate_batchnorm(model, digits_frames()[0][:500].astype(np.float32))
    path = export_module(model, (64,), tmp_path / "abc9.onnx")
    run = subprocess.run([sys.executable, "-m", "bnnfpga.cli", "compile", str(path), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "9 binary weight bases (ABC-Net)" in run.stderr and "2 to 8" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "out").exists()


def _load_example(name: str):
    sys.path.insert(0, str(SCHEMES))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(SCHEMES))


@pytest.mark.parametrize("scheme", ["bnn", "xnor", "bwn", "twn", "ttq", "dorefa", "pact", "hwgq", "inq", "abc_net", "horq"])
def test_scheme_examples_train_export_and_compile(scheme, tmp_path):
    """Each example, one epoch: its export reads into the IR and the golden model predicts
    every held-out digit as onnxruntime does (the examples' own check)."""
    example, common = _load_example(scheme), _load_example("common")
    torch.set_num_threads(1)
    train = common.train_inq if scheme == "inq" else common.train
    outcome = common.evaluate(scheme, train(example.build(), 1), tmp_path)
    assert outcome.same_predictions, outcome
    assert outcome.accuracy > 0.5 and outcome.fps > 0 and outcome.lut > 0 and outcome.dsp == 0
    if scheme == "inq":
        assert outcome.weights == "pow2_5/pow2_5/pow2_5"
    if scheme == "abc_net":
        assert outcome.weights == "3 bases/3 bases/3 bases"
    assert np.isfinite(outcome.lut)
