"""run_hls.tcl runs in a real Tcl interpreter with the Vitis HLS commands as recording stubs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bnnfpga import api
from bnnfpga.boards import load_board
from bnnfpga.codegen import hls
from bnnfpga.hw.fold import choose_folding
from tests.tcl import run_tcl

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn" / "model.onnx"


@pytest.mark.parametrize("board", ["pynq-z2"])
def test_run_hls_tcl_calls(tmp_path, board):
    graph = api.load(EXAMPLE)
    info = load_board(board)
    hls.generate(graph, tmp_path / "hls", info, choose_folding(graph))
    calls = run_tcl(tmp_path / "hls" / "run_hls.tcl")
    by_name = {c[0]: c[1:] for c in calls}
    assert [c[0] for c in calls][0] == "open_project" and calls[-1] == ["exit"]
    assert by_name["set_top"] == ["bnnfpga_top"]
    assert by_name["set_part"] == [info.part]
    assert by_name["create_clock"][:2] == ["-period", f"{1000 / info.clock_mhz:g}"]
    sources = [c[1:] for c in calls if c[0] == "add_files"]
    assert ["top.cpp", "-cflags", "-std=c++14 -I."] in sources and any("-tb" in s for s in sources)
    csim = by_name["csim_design"]
    assert csim[0] == "-argv" and csim[1].endswith("vectors/output_acc.hex")
    assert by_name["export_design"][:2] == ["-format", "ip_catalog"]
    assert "csynth_design" in by_name
