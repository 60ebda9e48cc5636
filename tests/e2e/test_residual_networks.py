"""Residual and branching networks (docs/DESIGN.md 3.15) exported by torch in both modes:
the joins become exact integer adds and concats, golden vs onnxruntime on every layer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from torch import nn

from bnnfpga import api
from bnnfpga.ir.ops import Add, Concat, SumPool, Threshold
from bnnfpga.nn import BinaryConv2d, BinarySign, FakeQuant, zoo
from bnnfpga.verify import verify_model
from tests.models import export_module

MODES = ("legacy", "dynamo")


def _levels_compared(result) -> list:
    return [r for r in result.rows if r.kind == "activation"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("network", ["bireal", "dense_concat", "reactnet"])
def test_every_layer_is_bit_exact_against_onnxruntime(exported, network, mode):
    path = exported(network, mode)
    graph = api.load(path)
    x = api.random_inputs(graph.input_type, 32, seed=7)
    result = verify_model(path, graph, x)
    assert result.ok, "\n" + result.table()
    assert len(_levels_compared(result)) >= 6, result.table()
    assert {r.kind for r in result.rows} >= {"logits", "top-1", "packed vs gemm"}


@pytest.mark.parametrize("mode", MODES)
def test_bireal_shortcuts_are_integer_adds_on_one_grid(exported, mode):
    graph = api.load(exported("bireal", mode))
    types = graph.types()
    adds = [n for n in graph.nodes if isinstance(n.op, Add)]
    assert len(adds) == 4
    assert all(types[n.output].dtype.is_integer for n in adds)
    # blocks 1, 2, 4 add two 8-bit streams on one grid; the stride-2 block adds its 2×2
    # average-pool shortcut (a sum of four levels, on a grid 4× finer): the branch shifts by 2
    assert [n.op.shifts for n in adds] == [(0, 0), (0, 0), (2, 0), (0, 0)]
    pooled = graph.producer(adds[2].inputs[1])
    assert isinstance(pooled.op, SumPool) and pooled.op.kernel == (2, 2)
    for add in adds:  # the requantisation behind each add is a threshold on its integer sum
        (reader,) = graph.consumers(add.output)
        assert isinstance(reader.op, Threshold) and reader.op.base == -128 and reader.op.levels == 255
    forks = [t for t in {i for n in graph.nodes for i in n.inputs} if len(graph.consumers(t)) > 1]
    assert len(forks) == 4  # each block's input feeds its sign and its shortcut


@pytest.mark.parametrize("mode", MODES)
def test_dense_concats_join_integer_levels(exported, mode):
    graph = api.load(exported("dense_concat", mode))
    types = graph.types()
    concats = [n for n in graph.nodes if isinstance(n.op, Concat)]
    assert [types[n.output].shape[0] for n in concats] == [16, 24, 32]
    assert all(types[n.output].dtype == types[n.inputs[0]].dtype for n in concats)


@pytest.mark.parametrize("network", ["bireal", "dense_concat"])
def test_legacy_and_dynamo_exports_compute_the_same(exported, network):
    legacy, dynamo = api.load(exported(network, "legacy")), api.load(exported(network, "dynamo"))
    x = api.random_inputs(legacy.input_type, 64, seed=11)
    a, b = api.predict(legacy, x), api.predict(dynamo, x)
    np.testing.assert_array_equal(a.argmax(1), b.argmax(1))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(a).max())


class _FloatShortcut(nn.Module):
    """The Bi-Real block as published: the batchnorm's float output added to the input."""

    def __init__(self, merge: str):
        super().__init__()
        self.merge = merge
        self.quantize = FakeQuant()
        self.conv = BinaryConv2d(3, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.sign = BinarySign()

    def forward(self, x):
        x = self.quantize(x / 255.0)
        branch = self.bn(self.conv(self.sign(x)))
        joined = branch + x if self.merge == "add" else branch * x
        return self.sign(joined)


@pytest.mark.parametrize("merge, words", [
    ("add", "node '/Add' (Add): the two inputs of this add are integer levels on grids whose ratio is not one power of two"),
    ("mul", "node '/Mul' (Mul, opset 13): Mul of two activations (a multiply merge"),
])
def test_unsupported_shortcut_forms_are_named(tmp_path, merge, words):
    model = export_module(zoo.randomize_batchnorm(_FloatShortcut(merge), seed=1), (3, 6, 6), tmp_path / "m.onnx")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "bnnfpga.cli", "compile", str(model), "-o", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not out.exists()


def test_compile_reports_the_fifo_behind_every_fork(exported, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "bnnfpga.cli", "compile", str(exported("bireal", "legacy")), "-o", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    printed = [line for line in proc.stderr.splitlines() if "[fifos]" in line]
    assert len(printed) == 4 and all("predicted occupancy" in line for line in printed), proc.stderr
    report = (out / "report.md").read_text()
    assert report.count("predicted occupancy") == 8  # two branches per fork
    design = (out / "rtl" / "bnnfpga_top.sv").read_text()
    assert design.count("bnn_fork #(") == 4 and design.count("bnn_add #(") == 4


@pytest.mark.parametrize("mode", MODES)
def test_reactnet_rsign_and_rprelu_fold_into_thresholds(exported, mode):
    """RSign's shift and RPReLU (Sub → PRelu → Add) behind each shortcut add become the
    thresholds of the sign and of the requantisation that read the sum."""
    graph = api.load(exported("reactnet", mode))
    adds = [n for n in graph.nodes if isinstance(n.op, Add)]
    assert len(adds) == 2 and not any(type(n.op).__name__ in ("PReLU", "Affine") for n in graph.nodes)
    for add in adds:
        (requantize,) = graph.consumers(add.output)
        assert isinstance(requantize.op, Threshold) and requantize.op.levels == 255
        assert "PRelu" in requantize.source or "prelu" in requantize.source.lower()


@pytest.mark.parametrize("dynamo, opset", [(False, 13), (True, 18)], ids=["legacy-13", "dynamo-18"])
def test_bireal_at_the_opsets_users_export_with(tmp_path, dynamo, opset):
    """The torch exporters at the opsets the residual networks are published with."""
    import torch

    from tests.models import BiRealTestNet

    model = zoo.build(BiRealTestNet, seed=3)
    model.calibrate()
    path = tmp_path / "bireal.onnx"
    x = torch.randint(0, 256, (1, 3, 8, 8)).float()
    torch.onnx.export(model, (x,), str(path), dynamo=dynamo, opset_version=opset, input_names=["x"])
    graph = api.load(path)
    result = verify_model(path, graph, api.random_inputs(graph.input_type, 32, seed=2))
    assert result.ok, result.table()
    assert sum(isinstance(n.op, Add) for n in graph.nodes) == 4
