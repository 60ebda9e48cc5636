"""The quantization schemes of bnnfpga.nn as plain torch exports (XNOR-Net α, BinaryConnect/BWN
on k-bit activations, DoReFa, HWGQ), the scheme examples in examples/schemes/, and the
schemes still out of reach (ABC-Net's weight bases), refused naming the node."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from bnnfpga import api
from bnnfpga.errors import ModelError
from bnnfpga.ir.ops import Affine, DotProduct, Threshold
from bnnfpga.verify import verify_model
from tests.models import export_module

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
    the centred weights shifted by uᵢ standard deviations, α by least squares."""

    def __init__(self, inputs: int, outputs: int, bases: int = 3, first: bool = False):
        super().__init__()
        torch.manual_seed(inputs + outputs)
        w = torch.randn(outputs, inputs)
        centred, spread = w - w.mean(), w.std()
        self.bases = [torch.sign(centred + u * spread) for u in torch.linspace(-1, 1, bases)]
        columns = torch.stack([b.flatten() for b in self.bases], 1)
        self.alpha = torch.linalg.lstsq(columns, w.flatten()[:, None]).solution.flatten().tolist()
        self.first = first

    def forward(self, x):
        a = x if self.first else 1.0 * torch.sign(x - 0.5) + 0.5 * torch.sign(x + 0.5)
        return sum(alpha * F.linear(a, b) for alpha, b in zip(self.alpha, self.bases))


def test_abc_net_weight_bases_are_refused_naming_the_add(tmp_path):
    model = nn.Sequential(_ABCLinear(16, 8, first=True), nn.BatchNorm1d(8), _ABCLinear(8, 4)).eval()
    path = export_module(model, (16,), tmp_path / "abc.onnx")
    with pytest.raises(ModelError) as info:
        api.load(path)
    message = str(info.value)
    assert "Add" in message and "ABC-Net" in message and "supported:" in message and "INQ" in message
    run = subprocess.run([sys.executable, "-m", "bnnfpga.cli", "inspect", str(path)], capture_output=True, text=True)
    assert run.returncode == 2 and "ABC-Net" in run.stderr and "Traceback" not in run.stderr


def _load_example(name: str):
    sys.path.insert(0, str(SCHEMES))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(SCHEMES))


@pytest.mark.parametrize("scheme", ["bnn", "xnor", "bwn", "twn", "ttq", "dorefa", "pact", "hwgq", "inq"])
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
    assert np.isfinite(outcome.lut)
