"""ResidualGainShift: fixed-point gains for residual binarizations whose exact accumulator passes
its bound (docs/DESIGN.md 5.3), against the exact folded graph of the stage before it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bnnfpga import api
from bnnfpga.golden.executor import execute
from bnnfpga.ir.ops import DotProduct, OutputAffine, Threshold
from bnnfpga.nn.horq import HORQLinear
from bnnfpga.nn.layers import XNORLinear
from bnnfpga.nn.residual import FakeQuant
from bnnfpga.nn.train import calibrate_batchnorm
from bnnfpga.passes.accumulator_widths import channel_bounds, residual_bounds
from bnnfpga.passes.residual_gain_shift import shifted_threshold, width_of
from tests.models import digits_frames, export_module


@pytest.mark.parametrize("shift", [1, 2, 5])
def test_shifted_thresholds_are_the_decisions_on_the_rescaled_output(shift):
    """z' ≥ T' ⇔ 2^F·z' ≥ T for every z' of the new range, and the ends of the old range
    (a step always or never taken) stay ends."""
    lo, hi, new_lo, new_hi = -100, 90, -30, 28
    t = np.arange(lo - 3, hi + 4)
    shifted = shifted_threshold(t, lo, hi, new_lo, new_hi, shift)
    z = np.arange(new_lo, new_hi + 1)
    inside = (t > lo) & (t <= hi)
    np.testing.assert_array_equal((z[None] >= shifted[inside, None]), (z[None] << shift) >= t[inside, None])
    assert np.all(shifted[t <= lo] == new_lo) and np.all(shifted[t > hi] == new_hi + 1)


def _stages(model: nn.Module, tmp_path) -> tuple[dict, object]:
    torch.manual_seed(0)
    calibrate_batchnorm(model, digits_frames()[0][:300].astype(np.float32))
    path = export_module(model, (64,), tmp_path / "horq.onnx")
    stages = {}
    graph = api.load(path, on_stage=lambda name, g: stages.__setitem__(name, g))
    return stages, graph


def _residual_nodes(graph):
    return [n for n in graph.nodes if isinstance(n.op, DotProduct) and n.op.residual_order]


def test_last_layer_takes_the_smallest_shift_that_fits_int32(tmp_path):
    """Order 4 over 64 signed 2-bit levels into the host: the exact bound needs 33 bits."""
    model = nn.Sequential(XNORLinear(64, 64), nn.BatchNorm1d(64), FakeQuant(2, 0.5), HORQLinear(64, 10, order=4))
    stages, graph = _stages(model, tmp_path)
    exact = stages["HostOutputAffine"]
    before, after = _residual_nodes(exact)[0], _residual_nodes(graph)[0]
    shift = after.op.residual_gain_shift
    lo, hi = channel_bounds(graph, after.inputs[0], graph.types())
    assert width_of(residual_bounds(before.op, lo, hi, 0)) > 32 >= width_of(residual_bounds(before.op, lo, hi, shift))
    assert width_of(residual_bounds(before.op, lo, hi, shift - 1)) > 32  # the smallest that fits
    assert after.op.accumulator_type(graph.types()[after.inputs[0]].dtype).bits <= 32
    host_before = next(n.op for n in exact.nodes if isinstance(n.op, OutputAffine))
    host_after = next(n.op for n in graph.nodes if isinstance(n.op, OutputAffine))
    np.testing.assert_array_equal(host_after.scale, host_before.scale * 2.0**shift)
    assert any("fixed-point β" in note and "⌊G_k/2^" in note for note in graph.notes)

    x = digits_frames()[0]
    z = execute(exact, x, keep_all=True)[before.output]
    z_shifted = execute(graph, x, keep_all=True)[after.output]
    assert np.abs(z_shifted).max() <= int(after.op.acc_max.max())
    # z' = z/2^F − Σ_k ε_k·W·H_k, 0 ≤ ε_k < 1: within K·Σ|w| of z/2^F, and not equal to it
    margin = after.op.residual_order * np.abs(after.op.weight.astype(np.int64)).sum(axis=1)
    assert np.all(np.abs((z_shifted << shift) - z) < (margin << shift))
    assert np.any((z_shifted << shift) != z)


def test_hidden_layer_decisions_differ_only_near_a_threshold(tmp_path):
    """Order 7 over 64 levels read by a quantizer: 50 bits exact, 48 allowed."""
    model = nn.Sequential(XNORLinear(64, 64), nn.BatchNorm1d(64), FakeQuant(2, 0.5), HORQLinear(64, 32, order=7),
                          nn.BatchNorm1d(32), FakeQuant(2, 0.5), XNORLinear(32, 10))
    stages, graph = _stages(model, tmp_path)
    exact = stages["HostOutputAffine"]
    before, after = _residual_nodes(exact)[0], _residual_nodes(graph)[0]
    shift = after.op.residual_gain_shift
    assert shift > 0 and after.op.accumulator_type(graph.types()[after.inputs[0]].dtype).bits <= 48
    threshold = next(n for n in exact.nodes if isinstance(n.op, Threshold) and n.inputs[0] == before.output)
    x = digits_frames()[0]
    ran_exact, ran_fixed = execute(exact, x, keep_all=True), execute(graph, x, keep_all=True)
    z = ran_exact[before.output]
    near = np.abs(z[:, :, None] - threshold.op.thresholds[None]).min(axis=2) < (
        after.op.residual_order * np.abs(after.op.weight.astype(np.int64)).sum(axis=1) << shift)
    differ = ran_exact[threshold.output] != ran_fixed[threshold.output]
    assert not np.any(differ & ~near)


def test_layers_in_bounds_keep_exact_gains(tmp_path):
    model = nn.Sequential(XNORLinear(64, 64), nn.BatchNorm1d(64), FakeQuant(2, 0.5), HORQLinear(64, 10, order=3))
    _, graph = _stages(model, tmp_path)
    assert _residual_nodes(graph)[0].op.residual_gain_shift == 0
    assert not any("fixed-point" in note for note in graph.notes)
