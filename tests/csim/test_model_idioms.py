"""Hand-written ONNX idioms (code review findings): golden agrees with onnxruntime, and the HLS
C simulation agrees with golden, word for word."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from bnnfpga import api
from bnnfpga.verify import verify_backend, verify_model
from tests.onnx_graphs import GRAPHS


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_idiom_golden_and_hls(name, tmp_path):
    proto, input_bits = GRAPHS[name](np.random.default_rng(len(name)))
    path = tmp_path / f"{name}.onnx"
    onnx.save(proto, str(path))
    graph = api.load(path, input_bits=input_bits)
    x = api.random_inputs(graph.input_type, 16, seed=3)
    reference = verify_model(path, graph, x)
    assert reference.ok, reference.table()
    hls = verify_backend(graph, x, "hls")
    assert hls.ok, hls.table()
