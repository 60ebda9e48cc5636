"""ONNX Sign is read as binarisation with 0 → +1 (docs/DESIGN.md 3.2), and the report says so."""

from __future__ import annotations

import torch

from bnnfpga import api
from bnnfpga.nn import BinaryConv2d
from bnnfpga.verify import verify_model
from tests.models import SignNet, export_module


def test_sign_is_binarisation_with_a_note_and_tie_warning(tmp_path):
    torch.manual_seed(0)
    path = export_module(SignNet(), (2, 6, 6), tmp_path / "sign.onnx")
    graph = api.load(path)
    notes = "\n".join(graph.notes)
    assert "(Sign): read as binarisation" in notes
    # conv over 18 ±1 inputs: the accumulator is even and can be exactly 0.
    assert "warning" in notes and "can see an input of exactly 0" in notes
    # The first Sign sees x − 127.5, never 0: no warning names it.
    assert notes.count("can see an input of exactly 0") == 1


def test_sign_model_matches_onnxruntime_where_no_tie_occurs(tmp_path):
    """With an odd fan-in the accumulator is odd, so Sign never sees 0 and all layers agree."""

    class OddFanIn(SignNet):
        def __init__(self):
            super().__init__()
            self.conv = BinaryConv2d(1, 6, 3)  # 9 inputs: odd

    torch.manual_seed(0)
    path = export_module(OddFanIn(), (1, 6, 6), tmp_path / "odd.onnx")
    graph = api.load(path)
    result = verify_model(path, graph, api.random_inputs(graph.input_type, 16))
    assert result.ok, result.table()
    assert not any("exactly 0" in n for n in graph.notes)
