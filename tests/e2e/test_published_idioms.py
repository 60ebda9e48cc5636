"""Idioms of models as they are published (issue 21), golden against the reference on the
same ONNX file: a binary-output detector (the last layer ends in a sign), a k-bit output
(Brevitas QuantReLU at the end, QONNX), a QKeras-style MLP with 6-bit weights and 6-bit
activations. The hardware tiers (tests/csim, tests/rtl) run the same models."""

from __future__ import annotations

import numpy as np
import pytest

from bnnfpga import api
from bnnfpga.ir.ops import DotProduct, Threshold
from bnnfpga.ir.types import BIPOLAR, DType
from bnnfpga.verify import verify_model
from tests.models import brevitas_k_bit_output_model

MODES = ("legacy", "dynamo")


def agrees(path, graph, frames=32, **kw):
    result = verify_model(path, graph, api.random_inputs(graph.input_type, frames, seed=9), **kw)
    assert result.ok, "\n" + result.table()
    return result


@pytest.mark.parametrize("mode", MODES)
def test_binary_output_layer(exported, mode):
    path = exported("binary_output", mode)
    graph = api.load(path)
    last = graph.producer(api.accumulator_tensor(graph))
    assert isinstance(last.op, Threshold) and graph.types()[last.output].dtype == BIPOLAR, "the output is ±1"
    agrees(path, graph)
    y = api.predict(graph, api.random_inputs(graph.input_type, 16, seed=2))
    assert set(np.unique(y)) <= {-1.0, 1.0}


def test_k_bit_output_layer(tmp_path):
    pytest.importorskip("brevitas", reason="pip install brevitas (dev extra)")
    from bnnfpga.nn.bnn_pynq import INPUT_SCALE

    path = brevitas_k_bit_output_model(tmp_path)
    graph = api.load(path, input_scale=INPUT_SCALE)
    last = graph.producer(api.accumulator_tensor(graph))
    assert isinstance(last.op, Threshold) and graph.types()[last.output].dtype == DType("uint", 2)
    agrees(path, graph)
    y = api.predict(graph, api.random_inputs(graph.input_type, 64, seed=9))
    assert len(np.unique(y)) == 4, "every output level is reached"


@pytest.mark.parametrize("mode", MODES)
def test_six_bit_weights_and_activations(exported, mode):
    path = exported("qkeras_mlp", mode)
    graph = api.load(path)
    dots = [n for n in graph.nodes if isinstance(n.op, DotProduct)]
    assert [str(n.op.weight_dtype) for n in dots] == ["int6"] * 4
    levels = [graph.types()[n.output].dtype for n in graph.nodes if isinstance(n.op, Threshold)]
    assert levels == [DType("uint", 6)] * 3
    result = agrees(path, graph)
    spread = [r for r in result.rows if r.kind == "activation"]
    assert len(spread) == 3
    values = api.golden.execute(graph, api.random_inputs(graph.input_type, 64, seed=1), keep_all=True)
    for n in graph.nodes:
        if isinstance(n.op, Threshold):
            assert len(np.unique(values[n.output])) > 16, "calibrated: the 6-bit levels are used, not only the ends"
